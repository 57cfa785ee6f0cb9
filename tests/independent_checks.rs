//! Checks whose expectations come from outside the code: physical constants from CODATA, the
//! model's closed forms evaluated from the configuration's physical parameters (not from the
//! crate's derived coefficients), and conservation measured on the fields themselves. A change
//! of a constant or a derived coefficient inside the code cannot move both sides of these.

use super::cell_checks::smoke;
use lipf_core::{Backend, CpuBackend, StopFlag};

/// CODATA 2018 (exact in the SI since 2019): F = e·N_A, R = k_B·N_A.
const E_C: f64 = 1.602_176_634e-19;
const N_A: f64 = 6.022_140_76e23;
const K_B: f64 = 1.380_649e-23;

#[test]
fn physical_constants_are_codata() {
    let f = E_C * N_A;
    let r = K_B * N_A;
    let rel = |a: f64, b: f64| (a / b - 1.0).abs();
    assert!(
        rel(lipf_core::units::FARADAY_C_MOL, f) < 1e-7,
        "F = {}",
        lipf_core::units::FARADAY_C_MOL
    );
    assert!(
        rel(lipf_core::units::GAS_CONSTANT_J_MOL_K, r) < 1e-6,
        "R = {}",
        lipf_core::units::GAS_CONSTANT_J_MOL_K
    );
}

/// The Li the fields hold grows at the configured current: c_s ∫ξ dA / width, from the
/// configuration's site density and grid, times F, equals i·t within 0.1 % (galvanostatic;
/// measured 6e-6). The electrolyte is an ideal electronic insulator here, so that no electrons
/// leak past the Li (with LLZTO's 3.25e-8 S/cm, 1.1e-3 of the smoke case's current does).
#[test]
fn deposited_li_matches_the_configured_current() {
    let mut cfg = smoke();
    cfg.material.electrolyte_electronic_conductivity_s_m = 0.0;
    let mut b = CpuBackend::new(&cfg).unwrap();
    let amount = |s: &lipf_core::State| {
        let dx = cfg.domain.grid_spacing_um * 1e-6;
        let width = cfg.domain.width_um * 1e-6;
        cfg.material.li_site_density_mol_m3 * s.xi.iter().sum::<f64>() * dx * dx / width
    };
    let n0 = amount(b.state());
    b.advance(cfg.time.end_time_s, &StopFlag::new()).unwrap();
    let n1 = amount(b.state());
    let f = cfg.material.charge_number * E_C * N_A;
    let delivered = (n1 - n0) * f;
    let expected = cfg.control.current_density_a_m2 * cfg.time.end_time_s;
    let rel = (delivered / expected - 1.0).abs();
    eprintln!("nF Δn = {delivered:.6e} C/m², i t = {expected:.6e} C/m², rel. {rel:.2e}");
    assert!(
        rel < 1e-3,
        "deposited Li carries {delivered} C/m², the current {expected} C/m²"
    );
}

/// A planar front moves at v = 3ℓ·Lη·|B(η)| with Lη = i0/(3ℓ n F c_s) and B from the
/// Butler–Volmer law, all evaluated from the configuration (CODATA F and R): v = i0|B|/(nF c_s),
/// within 1e-4 (measured 3e-7 to 6e-7).
#[test]
fn planar_front_speed_follows_butler_volmer_from_the_physical_parameters() {
    let cfg = lipf_core::Config::default();
    let m = &cfg.material;
    let nf = m.charge_number * E_C * N_A;
    let f = nf / (K_B * N_A * m.temperature_k);
    for eta in [-0.005, -0.01, -0.02] {
        let (v, _) = super::model_checks::planar_front_velocity(eta, 1.0);
        let b = ((1.0 - m.transfer_coefficient_anodic) * f * eta).exp()
            - (-m.transfer_coefficient_cathodic * f * eta).exp();
        let expected = -m.exchange_current_density_a_m2 * b / (nf * m.li_site_density_mol_m3);
        let rel = (v - expected).abs() / expected.abs();
        eprintln!("η = {eta} V: v = {v:.5e} m/s, i0|B|/(nF c_s) = {expected:.5e} m/s ({rel:.2e})");
        assert!(
            rel < 1e-4,
            "η = {eta}: v = {v:e} m/s, expected {expected:e} m/s"
        );
    }
}
