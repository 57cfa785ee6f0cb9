// xi_update.wgsl — forward-Euler update ξ ← ξ + Δt r, compensated.
//
// Update:    ξ = xi[k] + xi_lo[k] (an f32 pair); xi + xi_lo += dt · rate[k] with the rounding
//            error of the f32 sum kept in xi_lo (an error-free two-sum), dt from the device-side
//            Control of the running step. Increments far below the f32 spacing of ξ (a step's
//            Δξ in the Li foil, ξ ≈ 1, is ~1e-7) are then accumulated instead of rounded away,
//            so ∫ξ follows the charge as on the CPU. Every other kernel reads xi alone (an error
//            below half an f32 spacing).
//            With noise (xi_noise.wgsl) the increment is dt · rate[k] + √dt · noise[k]
//            (Euler–Maruyama); noise is 0 everywhere without it.
// Bindings:  0 uniform GridParams; 1 rate (read); 2 control (read: dt); 3 xi (read_write);
//            4 xi_lo (read_write); 5 noise (read).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i (kz the z-section, 0 in 2D).
// Twin:      crates/lipf-core/src/cpu/xi_update.rs.
// Imports:   shared/grid.wgsl, shared/control.wgsl, shared/float.wgsl

@group(0) @binding(0) var<uniform> p: GridParams;
@group(0) @binding(1) var<storage, read> rate: array<f32>;
@group(0) @binding(2) var<storage, read> control: Control;
@group(0) @binding(3) var<storage, read_write> xi: array<f32>;
@group(0) @binding(4) var<storage, read_write> xi_lo: array<f32>;
@group(0) @binding(5) var<storage, read> noise: array<f32>;

@compute @workgroup_size(16, 16)
fn xi_update(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    let increment = control.dt * rate[k] + sqrt(control.dt) * noise[k];
    let r = fast_two_sum(xi[k], increment + xi_lo[k], opaque_one(p.n));
    xi[k] = r.x;
    xi_lo[k] = r.y;
}
