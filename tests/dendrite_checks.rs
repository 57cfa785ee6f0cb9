//! Filaments in electrolyte defects (docs/dendrites.md) on whole runs of the CPU backend.

use crate::cell_checks::config_path;
use lipf_core::deposit::{deposit_mask, deposit_shape};
use lipf_core::morphology::li_tip_um;
use lipf_core::observables::faraday_error;
use lipf_core::{Backend, Config, CpuBackend, StopFlag};

/// configs/dendrites/llzo-crack.json for 60 s: a 1 µm crack is 5 % of the 20 µm width; the Li
/// that stays in it is far more than 5 % of what was plated (measured ~20 % over 300 s,
/// docs/dendrites.md), because the ions reach the Li in the crack through its walls; and the
/// charge balance holds; the Li's tip (`li_tip_um`) leads into the crack.
#[test]
fn li_plated_at_a_cracked_contact_concentrates_in_the_crack() {
    let mut cfg = Config::from_file(&config_path("dendrites/llzo-crack.json")).unwrap();
    cfg.output.images = false;
    let t = 60.0;
    let mut b = CpuBackend::new(&cfg).unwrap();
    let g = b.coeffs.grid;
    let in_crack = |s: &lipf_core::State| -> f64 {
        let mut sum = 0.0;
        for j in 0..g.ny {
            let y_um = g.y_m(j) * 1e6;
            for i in 0..g.nx {
                let x_um = g.x_m(i) * 1e6;
                if y_um > 4.0 && (x_um - 10.0).abs() < 1.0 {
                    sum += s.xi[g.idx(i, j)];
                }
            }
        }
        sum * (g.dx_m * 1e6).powi(2)
    };
    let before = in_crack(Backend::state(&mut b));
    let tip0 = li_tip_um(&g, &Backend::state(&mut b).xi);
    b.advance(t, &StopFlag::new()).unwrap();
    let after = in_crack(b.state());
    let tip = li_tip_um(&g, &b.state().xi);
    let c = b.coeffs.clone();
    // Plated per 20 µm of width, µm²: i t / (nF c_s) × width.
    let plated_um2 = cfg.control.current_density_a_m2 * t / c.nf_c_mol / c.cs_mol_m3 * 1e6 * 20.0;
    let share = (after - before) / plated_um2;
    let err = faraday_error(&c, b.state());
    eprintln!(
        "crack: {:.4} → {:.4} µm² of Li in the crack, {share:.3} of the {plated_um2:.3} µm² \
         plated; the Li's tip {tip0:.3} → {tip:.3} µm; Faraday {err:e}",
        before, after
    );
    // The foil's top is at 4 µm; the filament's front rises into the crack (the foil itself
    // does not rise: its Li creeps out through the collector).
    assert!(
        (tip0 - 4.0).abs() < 0.01,
        "the tip starts at the foil's top: {tip0}"
    );
    assert!(
        tip > tip0 + 0.15,
        "the filament's tip rises into the crack: {tip0} → {tip}"
    );
    assert!(
        share > 0.1,
        "the crack (5 % of the width) takes {share} of the plated Li"
    );
    assert!(err < 1e-5, "Faraday balance {err:e}");
    // The deposit (the collector's Li above the foil's 4 µm) is the filament: in the crack,
    // unbranched, and as large as the Li the crack gained above ξ = ½.
    let xi = &b.state().xi;
    let mask = deposit_mask(&g, xi, 4e-6);
    let outside = (0..g.cells())
        .filter(|&k| mask.on[k] && (g.x_m(k % g.nx) * 1e6 - 10.0).abs() > 0.5)
        .count();
    let shape = deposit_shape(&g, xi, 4e-6, 2.0 * c.ell_m);
    eprintln!("crack deposit: {shape:?}");
    assert_eq!(outside, 0, "deposit cells outside the crack");
    assert!(shape.area_um2 > 0.25, "deposit area {}", shape.area_um2);
    assert_eq!(shape.branch_points, 0);
}
