// xi_gradient_finish.wgsl — ξ ← ξ + δ after the ξ increment's problem is solved (the
// semi-implicit gradient term, docs/models/phase-field.md §4.1), compensated as xi_update.wgsl.
//
// Update:    ξ = xi[k] + xi_lo[k] (an f32 pair); xi + xi_lo += delta[k] with the rounding error
//            of the f32 sum kept in xi_lo (fast_two_sum), so that ∫ξ follows the charge.
// Bindings:  0 uniform GridParams; 1 delta (read); 2 xi (read_write); 3 xi_lo (read_write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i.
// Twin:      crates/lipf-core/src/cpu/xi_gradient_finish.rs.
// Imports:   shared/grid.wgsl, shared/float.wgsl

@group(0) @binding(0) var<uniform> p: GridParams;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read_write> xi: array<f32>;
@group(0) @binding(3) var<storage, read_write> xi_lo: array<f32>;

@compute @workgroup_size(16, 16)
fn xi_gradient_finish(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    let r = fast_two_sum(xi[k], delta[k] + xi_lo[k], opaque_one(p.n));
    xi[k] = r.x;
    xi_lo[k] = r.y;
}
