// copy.wgsl — field copy (dst = src) and fill (dst = 0). The copy is also the bandwidth
// reference of `lipf bench`: 8 bytes moved per cell, nothing else.
//
// Update:    copy: dst[k] = src[k];  fill_zero: dst[k] = 0.
// Bindings:  0 uniform GridParams; 1 src (read, copy only); 2 dst (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i (kz the z-section, 0 in 2D).
// Twin:      the buffer swaps of crates/lipf-core/src/cpu_backend.rs (std::mem::swap of c̃ and
//            η) and the zero initial guess of the V-cycle (solver.rs, Multigrid::vcycle).
// Imports:   shared/grid.wgsl

@group(0) @binding(0) var<uniform> p: GridParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(16, 16)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    dst[k] = src[k];
}

@compute @workgroup_size(16, 16)
fn fill_zero(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    dst[(gid.z * p.ny + gid.y) * p.nx + gid.x] = 0.0;
}
