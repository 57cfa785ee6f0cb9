// shared/conc.wgsl — the uniform of the Nernst–Planck kernels (no entry point).
//
// Declares: struct ConcParams (conc_update.wgsl, np_coefficients.wgsl, np_assemble.wgsl,
//           np_finish.wgsl; twin: lipf_gpu::params::ConcParams).
// Needs:    nothing.
// Twin:     none.

struct ConcParams {
    nx: u32,
    ny: u32,
    form: u32,
    // The interphase's band: lo ≤ ϕ < hi, where D_p is scaled (shared/interp.wgsl).
    ip_phi_lo: f32,
    inv_dx2: f32,
    f: f32,
    sink: f32,
    d_p: f32,
    d_e: f32,
    floor: f32,
    ip_phi_hi: f32,
    ip_ionic_k: f32,
    // λ of the electrolyte fraction (shared/interp.wgsl): 1 for a liquid, 0 for the solid.
    liquid: f32,
    // Sections along z (1: a 2D section; np_assemble's z faces).
    nz: u32,
    _pad1: u32,
    _pad2: u32,
}
