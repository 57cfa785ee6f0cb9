// shared/interp.wgsl — interpolation functions and cell material laws (no entry point).
//
// Declares: h(x), h'(x), the Butler–Volmer shape 6x(1 − x), the harmonic mean of two face
//           neighbours, the codes of the overpotential forms (FORM_*; twins:
//           lipf_gpu::params::FORM_*, compared by tests/gpu_checks.rs), and the ionic cell
//           conductivity and the cell diffusivity of each form, the interphase's cells and
//           their ionic scale.
// Needs:    nothing.
// Twin:     crates/lipf-core/src/cpu/interp.rs (h, dh, reaction_shape, harmonic_mean),
//           cpu/electronic_assemble.rs (in_interphase, interphase_ionic_scale),
//           cpu/potential_assemble.rs (cell_conductivity), cpu/conc_update.rs (cell_diffusivity).

// h(x) = x³(6x² − 15x + 10) with x clamped to [0, 1].
fn h(x_in: f32) -> f32 {
    let x = clamp(x_in, 0.0, 1.0);
    return x * x * x * (x * (6.0 * x - 15.0) + 10.0);
}

// h'(x) = 30x²(1 − x)², zero outside [0, 1].
fn dh(x_in: f32) -> f32 {
    let x = clamp(x_in, 0.0, 1.0);
    let y = x * (1.0 - x);
    return 30.0 * y * y;
}

// Shape of the Butler–Volmer source across the Li interface: 6x(1 − x), zero outside [0, 1].
fn reaction_shape(x_in: f32) -> f32 {
    let x = clamp(x_in, 0.0, 1.0);
    return 6.0 * x * (1.0 - x);
}

// 2ab/(a + b), 0 when both are 0: the series conductance of a face between two cells.
fn harmonic_mean(a: f32, b: f32) -> f32 {
    if (a + b > 0.0) {
        return 2.0 * a * b / (a + b);
    }
    return 0.0;
}

// The electrolyte's fraction of a cell, min(ϕ, 1 − λξ): ϕ for the solid (λ = 0), min(ϕ, 1 − ξ)
// for a liquid that the Li displaces (λ = 1).
fn electrolyte_fraction(xi: f32, phi: f32, liquid: f32) -> f32 {
    return min(phi, 1.0 - liquid * xi);
}

// The room the electrolyte leaves the Li's electrons, 1 − (1 − λ)ϕ.
fn metal_room(phi: f32, liquid: f32) -> f32 {
    return 1.0 - (1.0 - liquid) * phi;
}

// Codes of model.overpotential (the `form` member of the parameter structs).
// The source paper's single potential, σ = σ_e h(ξ) + σ_p h(ϕ), η = φ − E⁰ (explicit).
const FORM_SINGLE_POTENTIAL: u32 = 0u;
// Metal at the collector potential, η = V − φ − E⁰ (implicit).
const FORM_CONSISTENT: u32 = 1u;
// Ionic and electronic potentials solved together, η = φ_s − φ_l − E⁰ (implicit).
const FORM_TWO_POTENTIAL: u32 = 2u;

// Whether a cell of scaffold fraction ϕ belongs to the rectifying interphase's band,
// lo ≤ ϕ < hi (3ℓ to 4ℓ into the electrolyte; lo = hi = 0 without one).
fn in_interphase(phi: f32, lo: f32, hi: f32) -> bool {
    return phi >= lo && phi < hi;
}

// The ionic conductivity (and Li⁺ diffusivity) of a cell relative to its value without the
// interphase: 1/(1 + k (h(ϕ) + floor)) in the band (the layer's ionic ASR in series,
// k = σ_p ASR/ℓ, floor = σ_floor/σ_p), 1 elsewhere.
fn interphase_ionic_scale(phi: f32, lo: f32, hi: f32, k: f32, floor: f32) -> f32 {
    if (in_interphase(phi, lo, hi)) {
        return 1.0 / (1.0 + k * (h(phi) + floor));
    }
    return 1.0;
}

// Ionic cell conductivity, S/m. Two-potential form: σ_p h(e) + floor with e the electrolyte
// fraction (λ = `liquid`); consistent form: σ_p min(1, h(ϕ) + h(ξ)) + floor; single-potential
// form: σ_e h(ξ) + σ_p h(ϕ) + floor.
fn cell_conductivity(form: u32, sigma_p: f32, sigma_e: f32, sigma_floor: f32,
                     xi: f32, phi: f32, liquid: f32) -> f32 {
    if (form == FORM_TWO_POTENTIAL) {
        return sigma_p * h(electrolyte_fraction(xi, phi, liquid)) + sigma_floor;
    }
    if (form == FORM_CONSISTENT) {
        return sigma_p * min(h(phi) + h(xi), 1.0) + sigma_floor;
    }
    return sigma_e * h(xi) + sigma_p * h(phi) + sigma_floor;
}

// Cell Li⁺ diffusivity, m²/s. Two-potential form: D_p (h(e) + floor), floor = σ_floor/σ_p (the
// ionic conductivity over σ_p); consistent form: D_p min(1, h(ϕ) + h(ξ)); single-potential
// form: D_e h(ξ) + D_p h(ϕ).
fn cell_diffusivity(form: u32, d_p: f32, d_e: f32, floor: f32, xi: f32, phi: f32,
                    liquid: f32) -> f32 {
    if (form == FORM_TWO_POTENTIAL) {
        return d_p * (h(electrolyte_fraction(xi, phi, liquid)) + floor);
    }
    if (form == FORM_CONSISTENT) {
        return d_p * min(h(phi) + h(xi), 1.0);
    }
    return d_e * h(xi) + d_p * h(phi);
}
