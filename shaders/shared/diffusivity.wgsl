// shared/diffusivity.wgsl — the Li⁺ diffusivity of a cell of the kernel's fields (no entry
// point).
//
// Declares: dif(k) = cell_diffusivity of cell k.
// Needs:    interp (cell_diffusivity, interphase_ionic_scale) and, from the importing kernel,
//           the uniform `p` with members form, d_p, d_e, floor, ip_phi_lo, ip_phi_hi,
//           ip_ionic_k and liquid and the storage arrays `xi` and `phi`
//           (conc_update.wgsl, np_coefficients.wgsl, np_assemble.wgsl, time_step.wgsl).
// Twin:     crates/lipf-core/src/cpu/conc_update.rs (cell_diffusivity).

fn dif(k: u32) -> f32 {
    let d_p = p.d_p * interphase_ionic_scale(phi[k], p.ip_phi_lo, p.ip_phi_hi, p.ip_ionic_k, p.floor);
    return cell_diffusivity(p.form, d_p, p.d_e, p.floor, xi[k], phi[k], p.liquid);
}
