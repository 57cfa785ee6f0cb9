// xi_gradient_rhs.wgsl — the right-hand side of the ξ increment's problem with the
// semi-implicit gradient term (docs/models/phase-field.md §4.1), and the CG's start.
//
// Update:    rhs[k] = Δt · rate[k] + √Δt · noise[k] (what xi_update.wgsl would add to ξ; noise is
//            0 everywhere without it), delta[k] = rhs[k] (the explicit increment as the first
//            guess). Δt from the device-side Control of the running step.
// Bindings:  0 uniform GridParams; 1 rate (read); 2 control (read: dt); 3 noise (read);
//            4 rhs (write); 5 delta (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i.
// Twin:      crates/lipf-core/src/cpu/xi_gradient_rhs.rs.
// Imports:   shared/grid.wgsl, shared/control.wgsl

@group(0) @binding(0) var<uniform> p: GridParams;
@group(0) @binding(1) var<storage, read> rate: array<f32>;
@group(0) @binding(2) var<storage, read> control: Control;
@group(0) @binding(3) var<storage, read> noise: array<f32>;
@group(0) @binding(4) var<storage, read_write> rhs: array<f32>;
@group(0) @binding(5) var<storage, read_write> delta: array<f32>;

@compute @workgroup_size(16, 16)
fn xi_gradient_rhs(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    let b = control.dt * rate[k] + sqrt(control.dt) * noise[k];
    rhs[k] = b;
    delta[k] = b;
}
