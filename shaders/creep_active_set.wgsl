// creep_active_set.wgsl — one update of the active set of the creep obstacle problem after a
// pressure solve (creep_assemble.wgsl).
//
// Update:    a free cell that took up more than its room, S_k p_k > (1 − ϕ_k − ξ_k)₊, fills
//            (full = 1); a full cell with room whose pressure came out negative becomes free
//            (full = 0); any change sets changed = 1 (an atomic flag the caller clears before
//            the dispatch; no cell clears it).
//            creep_first_guess: the set a step starts from, the cells without room
//            (full = [(1 − ϕ_k − ξ_k)₊ = 0]).
// Bindings:  0 uniform CreepParams; 1 op (read: s); 2 pressure, 3 xi, 4 phi (read); 5 full
//            (read_write, u32 per cell); 6 changed (read_write, atomic u32).
//            creep_first_guess binds 0, 3, 4 and 5.
// Dispatch:  (ceil(nx/16), ceil(ny/16), 1) workgroups of 16×16, one invocation per cell.
// Index:     k = j·nx + i; s at 2n + k.
// Twin:      update_active_set of crates/lipf-core/src/cpu/creep_assemble.rs (its return value
//            is `changed`); creep_first_guess: first_guess of the same file.
// Imports:   shared/creep.wgsl

@group(0) @binding(0) var<uniform> p: CreepParams;
@group(0) @binding(1) var<storage, read> op: array<f32>;
@group(0) @binding(2) var<storage, read> pressure: array<f32>;
@group(0) @binding(3) var<storage, read> xi: array<f32>;
@group(0) @binding(4) var<storage, read> phi: array<f32>;
@group(0) @binding(5) var<storage, read_write> full: array<u32>;
@group(0) @binding(6) var<storage, read_write> changed: atomic<u32>;

@compute @workgroup_size(16, 16)
fn creep_active_set(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny) {
        return;
    }
    let n = p.nx * p.ny;
    let k = gid.y * p.nx + gid.x;
    let room = creep_free_room(xi[k], phi[k]);
    let pk = pressure[k];
    if (full[k] == 0u && op[2u * n + k] * pk > room) {
        full[k] = 1u;
        atomicStore(&changed, 1u);
    } else if (full[k] != 0u && room > 0.0 && pk < 0.0) {
        full[k] = 0u;
        atomicStore(&changed, 1u);
    }
}

@compute @workgroup_size(16, 16)
fn creep_first_guess(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny) {
        return;
    }
    let k = gid.y * p.nx + gid.x;
    full[k] = select(0u, 1u, creep_free_room(xi[k], phi[k]) == 0.0);
}
