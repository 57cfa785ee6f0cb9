// creep_finish.wgsl — the end of a creep step (creep_assemble.wgsl): ξ gives up its excess and
// takes up its share of the flow, and the flow through an open collector.
//
// Update:    creep_finish: ξ_k ← ξ_k − (ξ_k + ϕ_k − 1)₊ + [full] (1 − ϕ_k − ξ_k)₊ + S_k p_k
//              (S from op, p the solved pressure); ξ is the high word of the compensated ξ of
//              xi_update.wgsl, whose low word (below half an f32 spacing) is left as it is;
//            creep_finish_outflow: outflow[0] = Σ_i tbot_i (p_i − p_s) over row 0, the metal that
//              left through the bottom boundary in cell volumes (negative when it came in); a
//              separate single-workgroup entry, one sum in a fixed order (deterministic).
// Bindings:  0 uniform CreepParams; 1 op (read: s, tbot); 2 pressure, 3 phi (read); 4 full
//            (read, u32 per cell); 5 xi (read_write); 6 outflow (read_write, one f32).
//            creep_finish binds 0–5, creep_finish_outflow 0, 1, 2 and 6.
// Dispatch:  creep_finish: (ceil(nx/16), ceil(ny/16), 1) workgroups of 16×16, one invocation
//            per cell; creep_finish_outflow: (1, 1, 1), one workgroup of 256 summing row 0.
// Index:     k = j·nx + i, row 0 at the collector; s at 2n + k, tbot at 4n + i.
// Twin:      crates/lipf-core/src/cpu/creep_finish.rs (creep_finish and uptake: the ξ update and
//            its return value).
// Imports:   shared/creep.wgsl, shared/tree.wgsl

@group(0) @binding(0) var<uniform> p: CreepParams;
@group(0) @binding(1) var<storage, read> op: array<f32>;
@group(0) @binding(2) var<storage, read> pressure: array<f32>;
@group(0) @binding(3) var<storage, read> phi: array<f32>;
@group(0) @binding(4) var<storage, read> full: array<u32>;
@group(0) @binding(5) var<storage, read_write> xi: array<f32>;
@group(0) @binding(6) var<storage, read_write> outflow: array<f32>;

@compute @workgroup_size(16, 16)
fn creep_finish(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny) {
        return;
    }
    let n = p.nx * p.ny;
    let k = gid.y * p.nx + gid.x;
    let x = xi[k];
    var uptake = op[2u * n + k] * pressure[k];
    if (full[k] != 0u) {
        uptake += creep_free_room(x, phi[k]);
    }
    xi[k] = x - creep_excess(x, phi[k]) + uptake;
}

@compute @workgroup_size(256)
fn creep_finish_outflow(@builtin(local_invocation_id) lid: vec3<u32>) {
    let n = p.nx * p.ny;
    var s = vec2<f32>(0.0, 0.0);
    for (var i = lid.x; i < p.nx; i += 256u) {
        s.x += op[4u * n + i] * (pressure[i] - p.stack_pressure);
    }
    let sum = tree_sum(lid.x, s);
    if (lid.x == 0u) {
        outflow[0] = sum.x;
    }
}
