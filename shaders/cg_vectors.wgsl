// cg_vectors.wgsl — the vector updates of preconditioned conjugate gradients.
//
// Update:    cg_update_xr: x += α p, r −= α q;  cg_update_p: p = z + β p
//            (α, β from the device-side Control written by cg_control.wgsl).
// Bindings:  0 uniform GridParams; 1 control (read); 2 p_dir (read); 3 q_or_z (read: q for
//            cg_update_xr, z for cg_update_p); 4 x, 5 r (read_write, cg_update_xr);
//            6 p_out (read_write, cg_update_p).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i (kz the z-section, 0 in 2D).
// Twin:      crates/lipf-core/src/cpu/cg_vectors.rs (cg_update_xr, cg_update_p; used by
//            solver.rs, Multigrid::solve and CoupledMultigrid::solve).
// Imports:   shared/grid.wgsl, shared/control.wgsl

@group(0) @binding(0) var<uniform> p: GridParams;
@group(0) @binding(1) var<storage, read> control: Control;
@group(0) @binding(2) var<storage, read> p_dir: array<f32>;
@group(0) @binding(3) var<storage, read> q_or_z: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> r: array<f32>;
@group(0) @binding(6) var<storage, read_write> p_out: array<f32>;

@compute @workgroup_size(16, 16)
fn cg_update_xr(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    x[k] += control.alpha * p_dir[k];
    r[k] -= control.alpha * q_or_z[k];
}

@compute @workgroup_size(16, 16)
fn cg_update_p(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    p_out[k] = q_or_z[k] + control.beta * p_out[k];
}
