//! Planar grain-boundary layers against a hand-solved circuit: a layer between voxel layers k
//! and k + 1 sits on the vertical bonds that cross it and on no lateral bond.

use lipf_impedance::network::Network;
use lipf_impedance::params::Materials;
use lipf_impedance::solver::DirectLu;
use lipf_impedance::structure::{Structure, CODE_ELECTROLYTE, CODE_PORE};
use lipf_impedance::sweep;

/// An L-shaped current path through a 2 × 1 × 2 block of voxels of edge d, with one planar
/// grain-boundary layer between the two voxel layers:
///
/// ```text
///   CE ──────────────
///   [pore]   [LLZO e]      layer 1
///   ─ ─ ─ ─ ─ ─ ─ ─ ─      grain boundary (δ, σ_gb)
///   [LLZO a]─[LLZO b]      layer 0
///   WE ──    (gap)
/// ```
///
/// The working electrode touches voxel a only (a pore gap, a capacitor, under b); the pore
/// above a carries no direct current. Direct current goes WE → a → b → e → CE: half a voxel
/// (WE–a), a whole voxel (a–b, lateral, inside layer 0), a whole voxel and the grain boundary
/// (b–e), half a voxel (e–CE):
///   R = 3 d/(σ d²) + δ/(σ_gb d²).
/// Had the lateral bond a–b a grain-boundary layer too, R would carry δ/(σ_gb d²) twice. With
/// the default materials and d = 1 µm, d/(σ d²) = 2.17e7 Ω and δ/(σ_gb d²) = 1.68e7 Ω.
#[test]
fn a_planar_grain_boundary_adds_its_resistance_to_vertical_bonds_only() {
    let m = Materials {
        polarization_resistance_ohm_cm2: 0.0,
        ..Materials::default()
    };
    let msi = m.si();
    let d = 1e-6;
    let (nx, ny, nz) = (2, 1, 2);
    let mut codes = vec![CODE_ELECTROLYTE; nx * ny * nz];
    // Voxel (0, 0, 1), above a: pore.
    codes[nx * ny] = CODE_PORE;
    let mut s = Structure::from_codes(nx, ny, nz, d, codes, &msi).unwrap();
    assert_eq!(s.voxels[s.idx(0, 0, 1)], CODE_PORE);
    s.gb_layers_z[0] = 1;
    s.we_gap[1] = true;
    let net = Network::build(&s, &msi).unwrap();
    // 0.1 Hz: the capacitors (pore gap ~1e-14 F, pore voxel ~1e-17 F, bulk and grain-boundary
    // τ ≤ 2.2 µs) change Re Z by less than 1e-9 of R.
    let f = [0.1];
    let (spec, _) = sweep(&net, &f, &mut DirectLu::new(), |_, _, _| {}).unwrap();
    // Materials written out in SI: 0.46 mS/cm, 5.97 µS/cm, 10 nm.
    let sigma = 0.46e-3 * 100.0;
    let sigma_gb = 5.97e-6 * 100.0;
    let delta = 10e-9;
    assert_eq!(m.bulk_conductivity_ms_cm, 0.46);
    assert_eq!(m.gb_conductivity_us_cm, 5.97);
    assert_eq!(m.gb_thickness_nm, 10.0);
    let r_voxel = d / (sigma * d * d);
    let r_gb = delta / (sigma_gb * d * d);
    let expected = 3.0 * r_voxel + r_gb;
    let z = spec.z[0];
    let rel = (z.re / expected - 1.0).abs();
    eprintln!(
        "R = {:.6e} Ω, expected 3d/(σd²) + δ/(σ_gb d²) = {expected:.6e} Ω (rel. {rel:.1e}); \
         with the layer also on the lateral bond it would be {:.6e} Ω",
        z.re,
        expected + r_gb
    );
    // Measured 2e-12.
    assert!(
        rel < 1e-6,
        "R = {} Ω, expected {expected} Ω (a grain boundary on the lateral bond adds {r_gb} Ω)",
        z.re
    );
}
