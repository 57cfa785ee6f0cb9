// shared/conc.wgsl — the uniform of the Nernst–Planck kernels (no entry point).
//
// Declares: struct ConcParams (conc_update.wgsl, np_coefficients.wgsl; twin:
//           lipf_gpu::params::ConcParams).
// Needs:    nothing.
// Twin:     none.

struct ConcParams {
    nx: u32,
    ny: u32,
    form: u32,
    _pad0: u32,
    inv_dx2: f32,
    f: f32,
    sink: f32,
    d_p: f32,
    d_e: f32,
    floor: f32,
    // The interphase: its cells have ½ ≤ ϕ ≤ ip_phi_max, their D_p is scaled by ip_ionic.
    ip_phi_max: f32,
    ip_ionic: f32,
}
