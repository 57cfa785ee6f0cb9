// collector.wgsl — galvanostatic control and the boundary current, on the device.
//
// Update:    collector_potential: I0 = −Σ_top T φ0, I1 = −Σ_top T φ1 and, galvanostatic,
//              V = (I_target − I0)/I1 (FLAG_NO_ACTIVE_INTERFACE when I1 vanishes), or the held
//              voltage of a potentiostatic protocol segment (p.hold_voltage); in the
//              two-potential form (p.electronic) I0 and I1 also carry the electronic currents
//              −Σ_top T_s φ_s0 and −Σ_top T_s φ_s1 (ions and electrons together);
//            combine_potential: φ = φ0 + V φ1 (dispatched once per potential);
//            add_scaled_rhs: b0 += V b1 (potentiostatic: one solve at the fixed V; once per
//              right-hand side);
//            top_current: I = −Σ_top T φ (+ the leakage −Σ_top T_s φ_s in the two-potential
//              form, also written alone), the current per unit depth (A/m).
// Bindings:  0 uniform CollectorParams; 1 op (read); 2 pot0, 3 pot1 (read);
//            4 control (read_write); 5 potential (read_write); 6 b0 (read_write); 7 b1 (read);
//            8 op_s (read); 9 pot0_s, 10 pot1_s, 11 potential_s (read): the electronic problem,
//            read only when p.electronic != 0.
// Dispatch:  collector_potential, top_current: (1, 1, 1), one workgroup of 256 summing the top
//            rows; combine_potential, add_scaled_rhs: (ceil(nx/16), ceil(ny/16), nz) of 16×16.
// Index:     k = (kz·ny + j)·nx + i; the top row of each section is j = ny − 1, its boundary
//            conductance ty at n + k (n = nx·ny·nz).
// Twin:      crates/lipf-core/src/cpu/collector.rs (collector and collector_from_currents:
//            collector_potential; combine_potential, add_scaled_rhs and top_current of the same
//            names); the two-potential sums of StepKernels::collector and end_step in
//            crates/lipf-core/src/cpu_backend.rs.
// Imports:   shared/control.wgsl, shared/tree.wgsl, shared/float.wgsl

struct CollectorParams {
    nx: u32,
    ny: u32,
    galvanostatic: u32,
    electronic: u32,
    target_current_a_m: f32,
    // A potentiostatic protocol segment under galvanostatic control: V = held_voltage_v.
    hold_voltage: u32,
    held_voltage_v: f32,
    // Sections along z (1: a 2D section): the top boundary is the top row of every section.
    nz: u32,
}

@group(0) @binding(0) var<uniform> p: CollectorParams;
@group(0) @binding(1) var<storage, read> op: array<f32>;
@group(0) @binding(2) var<storage, read> pot0: array<f32>;
@group(0) @binding(3) var<storage, read> pot1: array<f32>;
@group(0) @binding(4) var<storage, read_write> control: Control;
@group(0) @binding(5) var<storage, read_write> potential: array<f32>;
@group(0) @binding(6) var<storage, read_write> b0: array<f32>;
@group(0) @binding(7) var<storage, read> b1: array<f32>;
@group(0) @binding(8) var<storage, read> op_s: array<f32>;
@group(0) @binding(9) var<storage, read> pot0_s: array<f32>;
@group(0) @binding(10) var<storage, read> pot1_s: array<f32>;
@group(0) @binding(11) var<storage, read> potential_s: array<f32>;

@compute @workgroup_size(256)
fn collector_potential(@builtin(local_invocation_id) lid: vec3<u32>) {
    let n = p.nx * p.ny * p.nz;
    var s = vec2<f32>(0.0, 0.0);
    for (var c = lid.x; c < p.nx * p.nz; c += 256u) {
        // Cell i of the top row of section kz: top + i with c = kz·nx + i.
        let top = ((c / p.nx) * p.ny + p.ny - 1u) * p.nx;
        let i = c % p.nx;
        let t = op[n + top + i];
        s += vec2<f32>(t * pot0[top + i], t * pot1[top + i]);
        if (p.electronic != 0u) {
            let ts = op_s[n + top + i];
            s += vec2<f32>(ts * pot0_s[top + i], ts * pot1_s[top + i]);
        }
    }
    let sum = tree_sum(lid.x, s);
    if (lid.x != 0u || control.running == 0u || p.galvanostatic == 0u) {
        return;
    }
    let i0 = -sum.x;
    let i1 = -sum.y;
    control.i0 = i0;
    control.i1 = i1;
    if (p.hold_voltage != 0u) {
        control.v_collector = p.held_voltage_v;
        return;
    }
    if (!(abs(i1) > 1e-30) || !finite(i1)) {
        // The current does not depend on the collector potential: no active interface.
        control.flags |= FLAG_NO_ACTIVE_INTERFACE;
        return;
    }
    control.v_collector = (p.target_current_a_m - i0) / i1;
}

@compute @workgroup_size(16, 16)
fn combine_potential(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    potential[k] = pot0[k] + control.v_collector * pot1[k];
}

@compute @workgroup_size(16, 16)
fn add_scaled_rhs(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    b0[k] += control.v_collector * b1[k];
}

@compute @workgroup_size(256)
fn top_current(@builtin(local_invocation_id) lid: vec3<u32>) {
    let n = p.nx * p.ny * p.nz;
    var s = vec2<f32>(0.0, 0.0);
    for (var c = lid.x; c < p.nx * p.nz; c += 256u) {
        let top = ((c / p.nx) * p.ny + p.ny - 1u) * p.nx;
        let i = c % p.nx;
        s.x += op[n + top + i] * potential[top + i];
        if (p.electronic != 0u) {
            let leak = op_s[n + top + i] * potential_s[top + i];
            s += vec2<f32>(leak, leak);
        }
    }
    let sum = tree_sum(lid.x, s);
    if (lid.x == 0u && control.running != 0u) {
        control.current_a_m = -sum.x;
        control.leakage_a_m = -sum.y;
    }
}
