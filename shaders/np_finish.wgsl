// np_finish.wgsl — the end of an implicit Nernst–Planck step (np_assemble.wgsl): c̃ = e^{−fφ} u
// from the solved Slotboom variable u = u0 + δu, u0 = c̃_old e^{fφ}.
//
// Update:    conc[k] += e^{−fφ_k} δu[k] (= e^{−fφ_k} u[k]: the old c̃ is e^{−fφ_k} u0[k]), so that
//            c̃ changes by the step's change alone, not by the f32 rounding of u0 ≈ 1 and of the
//            product e^{−fφ} e^{fφ}.
// Bindings:  0 uniform ConcParams (nx, ny, f); 1 potential, 2 u (the correction δu; read);
//            3 conc (read_write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i (kz the z-section, 0 in 2D).
// Twin:      crates/lipf-core/src/cpu/np_finish.rs (from u itself).
// Imports:   shared/conc.wgsl

@group(0) @binding(0) var<uniform> p: ConcParams;
@group(0) @binding(1) var<storage, read> potential: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read_write> conc: array<f32>;

@compute @workgroup_size(16, 16)
fn np_finish(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let k = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    conc[k] = conc[k] + exp(-p.f * potential[k]) * u[k];
}
