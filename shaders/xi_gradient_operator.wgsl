// xi_gradient_operator.wgsl — the operator 1 − β∇²_h of the ξ increment with the semi-implicit
// gradient term (`model.allen_cahn_gradient = "implicit"`, docs/models/phase-field.md §4.1).
//
// Update:    op = [tx | ty | s | diag | tbot (| tz)] with every face conductance β/Δx² =
//            Δt · p.rate (p.rate = Lσ κ_max / Δx², 1/s; Δt the step's, from the control record),
//            none through the bottom (tbot = 0) and the top (ty = 0 in the top row), S = 1 and
//            the cached diagonal Σ T + S. x and z periodic.
// Bindings:  0 uniform XiGradientParams; 1 control (read: dt); 2 op (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i; op layout as in potential_assemble.wgsl.
// Twin:      crates/lipf-core/src/cpu/xi_gradient_operator.rs (with Operator::update_diagonal).
// Imports:   shared/control.wgsl, shared/operator.wgsl

struct XiGradientParams {
    nx: u32,
    ny: u32,
    nz: u32,
    _pad0: u32,
    // Lσ κ_max / Δx², 1/s: the face conductance per second of step.
    rate: f32,
    _pad1: f32,
    _pad2: f32,
    _pad3: f32,
}

@group(0) @binding(0) var<uniform> p: XiGradientParams;
@group(0) @binding(1) var<storage, read> control: Control;
@group(0) @binding(2) var<storage, read_write> op: array<f32>;

@compute @workgroup_size(16, 16)
fn xi_gradient_operator(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let t = control.dt * p.rate;
    let north = select(0.0, t, gid.y + 1u < p.ny);
    let south = select(0.0, t, gid.y > 0u);
    store_operator(gid.x, gid.y, gid.z, t, t, north, south, t, t, 1.0, 0.0);
}
