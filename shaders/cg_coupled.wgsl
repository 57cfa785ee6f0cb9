// cg_coupled.wgsl — the parts of the coupled ionic–electronic solve of the two-potential form that
// the single-operator kernels do not cover: the coupling of the two blocks and the shift of the
// potentials to the collector's frame.
//
// Update:    The block matrix K = [[A_l + S, −S], [−S, A_s + S]] (A_l, A_s the ionic and
//            electronic operators, both carrying S as their diagonal s term) is applied as
//            mg_residual / mg_apply per block plus
//            couple_residual: v_l += S u_s, v_s += S u_l (r = b − K x after r_b = b_b − A_b x_b);
//            couple_apply: v_l −= S u_s, v_s −= S u_l (q = K p after q_b = A_b p_b);
//            shift_potentials: v_l += sign·V, v_s += sign·V with V = 1 (p.unit) or the collector
//              potential of the control record (the solves relative to the collector potential).
//            The preconditioner is block-diagonal: one V-cycle of the mg_* kernels per block.
// Bindings:  0 uniform CoupledParams; 1 op (read: the ionic operator, S at 2n + k);
//            2 u_l, 3 u_s (read); 4 v_l, 5 v_s (read_write); 6 control (read: v_collector).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i (kz the z-section, 0 in 2D); op layout as in
//            potential_assemble.wgsl.
// Twin:      crates/lipf-core/src/solver.rs (CoupledMultigrid::apply and ::residual) and
//            relative_to_collector of crates/lipf-core/src/cpu_backend.rs.
// Imports:   shared/control.wgsl

struct CoupledParams {
    nx: u32,
    ny: u32,
    unit: u32,
    // Sections along z (1: a 2D section).
    nz: u32,
    sign: f32,
    _pad1: f32,
    _pad2: f32,
    _pad3: f32,
}

@group(0) @binding(0) var<uniform> p: CoupledParams;
@group(0) @binding(1) var<storage, read> op: array<f32>;
@group(0) @binding(2) var<storage, read> u_l: array<f32>;
@group(0) @binding(3) var<storage, read> u_s: array<f32>;
@group(0) @binding(4) var<storage, read_write> v_l: array<f32>;
@group(0) @binding(5) var<storage, read_write> v_s: array<f32>;
@group(0) @binding(6) var<storage, read> control: Control;

@compute @workgroup_size(16, 16)
fn couple_residual(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let n = p.nx * p.ny * p.nz;
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    let s = op[2u * n + k];
    v_l[k] += s * u_s[k];
    v_s[k] += s * u_l[k];
}

@compute @workgroup_size(16, 16)
fn couple_apply(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let n = p.nx * p.ny * p.nz;
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    let s = op[2u * n + k];
    v_l[k] -= s * u_s[k];
    v_s[k] -= s * u_l[k];
}

@compute @workgroup_size(16, 16)
fn shift_potentials(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    var v = control.v_collector;
    if (p.unit != 0u) {
        v = 1.0;
    }
    v_l[k] += p.sign * v;
    v_s[k] += p.sign * v;
}
