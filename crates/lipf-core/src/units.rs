//! Physical constants and unit conversions. Every conversion between the configuration's units
//! (µm, mA/cm², ...) and SI happens here, so that the rest of the code works in SI only.

/// Faraday constant, C/mol.
pub const FARADAY_C_MOL: f64 = 96_485.33;
/// Molar gas constant, J/(mol K).
pub const GAS_CONSTANT_J_MOL_K: f64 = 8.314_463;
/// Metres per micrometre.
pub const M_PER_UM: f64 = 1e-6;
/// Micrometres per metre (exact in binary, unlike its inverse).
pub const UM_PER_M: f64 = 1e6;

pub fn um_to_m(x_um: f64) -> f64 {
    x_um * M_PER_UM
}

/// Metres to micrometres: a product with the exact 1e6, so the result is the correctly rounded
/// value (a quotient by the inexact 1e-6 can be one unit in the last place off).
pub fn m_to_um(x_m: f64) -> f64 {
    x_m * UM_PER_M
}

/// A/m² to mA/cm² (1 mA/cm² = 10 A/m²).
pub fn a_m2_to_ma_cm2(i_a_m2: f64) -> f64 {
    i_a_m2 / 10.0
}

/// Pascal per megapascal.
pub const PA_PER_MPA: f64 = 1e6;

pub fn mpa_to_pa(p_mpa: f64) -> f64 {
    p_mpa * PA_PER_MPA
}
