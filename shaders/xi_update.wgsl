// xi_update.wgsl — forward-Euler update ξ ← ξ + Δt r.
//
// Update:    xi[k] += dt · rate[k], dt from the device-side Control of the running step.
// Bindings:  0 uniform GridParams; 1 rate (read); 2 control (read: dt); 3 xi (read_write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), 1) workgroups of 16×16, one invocation per cell.
// Index:     k = j·nx + i.
// Twin:      crates/lipf-core/src/cpu/xi_update.rs.

struct GridParams {
    nx: u32,
    ny: u32,
    n: u32,
    _pad0: u32,
}

// Device-side scalars of the running batch (twin: lipf_gpu::params::Control). Written by the
// single-invocation control kernels; the host reads it back only at the end of a batch.
struct Control {
    dt: f32,
    remaining: f32,
    v_collector: f32,
    current_a_m: f32,
    running: u32,
    step_count: u32,
    step_iterations: u32,
    max_solve_iterations: u32,
    rz: f32,
    alpha: f32,
    beta: f32,
    res: f32,
    tol: f32,
    converged: u32,
    solve_iterations: u32,
    not_converged: u32,
    i0: f32,
    i1: f32,
    flags: u32,
    substeps: u32,
    dt_sub: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: GridParams;
@group(0) @binding(1) var<storage, read> rate: array<f32>;
@group(0) @binding(2) var<storage, read> control: Control;
@group(0) @binding(3) var<storage, read_write> xi: array<f32>;

@compute @workgroup_size(16, 16)
fn xi_update(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny) {
        return;
    }
    let k = gid.y * p.nx + gid.x;
    xi[k] += control.dt * rate[k];
}
