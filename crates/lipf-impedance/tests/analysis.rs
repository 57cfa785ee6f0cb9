//! The analyses against known answers: Levenberg–Marquardt recovers circuit parameters, the
//! DRT finds the time constants of a known circuit, the linear Kramers–Kronig test passes
//! computed spectra and flags a drifting one, and the 3-D network shows the constriction arc
//! that the 1-D physical model misses.

use lipf_impedance::circuit::{one_d_physical_model, RcElement, SeriesCircuit};
use lipf_impedance::drt::{drt, DrtOptions};
use lipf_impedance::fit::fit_rc;
use lipf_impedance::kk::lin_kk;
use lipf_impedance::params::log_frequencies;
use lipf_impedance::{
    sweep, Krylov, KrylovMethod, Materials, ModelStructure, Network, Spectrum, Structure,
};

fn rc(r: f64, tau: f64) -> RcElement {
    RcElement {
        name: "test",
        r_ohm: r,
        c_f: tau / r,
    }
}

fn circuit_spectrum(c: &SeriesCircuit, f: &[f64]) -> Spectrum {
    Spectrum::new(f.to_vec(), c.spectrum(f))
}

#[test]
fn levenberg_marquardt_recovers_r_plus_rc_parameters() {
    let f = log_frequencies(0.1, 1e7, 10);
    let truth = SeriesCircuit {
        r0_ohm: 12.0,
        elements: vec![rc(150.0, 2e-6), rc(400.0, 3e-3)],
    };
    let fit = fit_rc(&circuit_spectrum(&truth, &f), 2, &[]);
    assert!((fit.circuit.r0_ohm / 12.0 - 1.0).abs() < 1e-6, "{fit:?}");
    for (e, t) in fit.circuit.elements.iter().zip(&truth.elements) {
        assert!((e.r_ohm / t.r_ohm - 1.0).abs() < 1e-6, "{e:?} vs {t:?}");
        assert!((e.tau_s() / t.tau_s() - 1.0).abs() < 1e-6, "{e:?} vs {t:?}");
    }
    // The seed's fit model, R + 4 RC, on four arcs one to two decades apart.
    let truth = SeriesCircuit {
        r0_ohm: 0.0,
        elements: vec![
            rc(4.3e5, 2.9e-8),
            rc(3.3e5, 2.2e-6),
            rc(2.0e5, 1.0e-4),
            rc(8.0e4, 9e-3),
        ],
    };
    let fit = fit_rc(&circuit_spectrum(&truth, &f), 4, &[]);
    for (e, t) in fit.circuit.elements.iter().zip(&truth.elements) {
        assert!((e.r_ohm / t.r_ohm - 1.0).abs() < 1e-4, "{e:?} vs {t:?}");
        assert!((e.tau_s() / t.tau_s() - 1.0).abs() < 1e-4, "{e:?} vs {t:?}");
    }
    assert!(fit.rms_relative < 1e-8);
}

#[test]
fn drt_of_a_two_rc_circuit_finds_both_time_constants_within_10_percent() {
    let f = log_frequencies(0.01, 1e6, 10);
    let (t1, t2) = (1e-4, 1e-1);
    let truth = SeriesCircuit {
        r0_ohm: 20.0,
        elements: vec![rc(100.0, t1), rc(250.0, t2)],
    };
    let d = drt(&circuit_spectrum(&truth, &f), DrtOptions::default());
    assert!(d.peaks.len() >= 2, "peaks: {:?}", d.peaks);
    let mut taus: Vec<f64> = d.peaks[..2].iter().map(|p| p.tau_s).collect();
    taus.sort_by(f64::total_cmp);
    assert!(
        (taus[0] / t1 - 1.0).abs() < 0.1,
        "τ₁ = {} s, expected {t1}",
        taus[0]
    );
    assert!(
        (taus[1] / t2 - 1.0).abs() < 0.1,
        "τ₂ = {} s, expected {t2}",
        taus[1]
    );
    // The peak areas are the two resistances, to the regularisation's smoothing.
    let mut rs: Vec<(f64, f64)> = d.peaks[..2].iter().map(|p| (p.tau_s, p.r_ohm)).collect();
    rs.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!((rs[0].1 / 100.0 - 1.0).abs() < 0.1, "{rs:?}");
    assert!((rs[1].1 / 250.0 - 1.0).abs() < 0.1, "{rs:?}");
    assert!(d.lambda_from_gcv);
}

fn model_spectrum(fraction: f64, voxels: usize, f: &[f64]) -> (Spectrum, SeriesCircuit, f64) {
    let m = Materials::default();
    let s = Structure::model_structure(
        &ModelStructure {
            voxels,
            contact_area_fraction: fraction,
            ..ModelStructure::default()
        },
        &m.si(),
    );
    let net = Network::build(&s, &m.si()).unwrap();
    let (spec, _) = sweep(&net, f, &mut Krylov::new(KrylovMethod::Cocg), |_, _, _| {}).unwrap();
    (
        spec,
        one_d_physical_model(&s, &m.si()),
        s.contact_fraction(),
    )
}

#[test]
fn lin_kk_residuals_of_computed_spectra_are_below_0_1_percent() {
    let f = log_frequencies(0.1, 1e7, 10);
    let (spec, _, _) = model_spectrum(0.3, 10, &f);
    // A computed spectrum is noise-free: with enough RC elements (M = 40 for 81 frequencies,
    // 5 per decade) the KK-compliant model reproduces it to better than 0.1 %.
    let kk = lin_kk(&spec, Some(40));
    assert!(
        kk.max_abs_residual < 1e-3,
        "max residual {:.3e}",
        kk.max_abs_residual
    );
    // A drifting measurement (the cell changes during the sweep) is not KK-consistent: the same
    // test leaves residuals of several per cent.
    let drifted = Spectrum::new(
        spec.f_hz.clone(),
        spec.z
            .iter()
            .enumerate()
            .map(|(k, z)| z * (1.0 + 0.2 * k as f64 / f.len() as f64))
            .collect(),
    );
    let kk = lin_kk(&drifted, Some(40));
    assert!(
        kk.max_abs_residual > 1e-2,
        "drift not detected: {:.3e}",
        kk.max_abs_residual
    );
}

#[test]
fn lin_kk_automatic_choice_is_the_first_m_with_mu_below_0_85() {
    let f = log_frequencies(0.1, 1e7, 10);
    let (spec, _, _) = model_spectrum(0.3, 10, &f);
    let auto = lin_kk(&spec, None);
    assert!(
        auto.mu <= lipf_impedance::kk::MU_CRITERION,
        "μ = {}",
        auto.mu
    );
    for m in 1..auto.m {
        let kk = lin_kk(&spec, Some(m));
        assert!(
            kk.mu > lipf_impedance::kk::MU_CRITERION,
            "M = {m}: μ = {}",
            kk.mu
        );
    }
    // On a noise-free spectrum of near-ideal arcs the criterion stops where the log-spaced
    // τ grid still under-resolves the arcs: the residuals there are larger than with more
    // elements (the reason the computed-spectrum check above fixes M).
    let more = lin_kk(&spec, Some(40));
    assert!(auto.m < 40 && more.max_abs_residual < auto.max_abs_residual);
}

#[test]
fn shrinking_contact_grows_a_constriction_arc_that_the_1d_physical_model_misses() {
    let f = log_frequencies(0.1, 1e7, 5);
    let mut excess = Vec::new();
    let mut peaks = Vec::new();
    for fraction in [1.0, 0.5, 0.1] {
        let (spec, pm, built) = model_spectrum(fraction, 20, &f);
        let lo = spec.lowest();
        let r3d = spec.z[lo].re;
        let r1d = pm.impedance(spec.omega(lo)).re;
        let dr = r3d / r1d - 1.0;
        let d3 = drt(&spec, DrtOptions::default());
        let d1 = drt(
            &Spectrum::new(f.clone(), pm.spectrum(&f)),
            DrtOptions::default(),
        );
        println!(
            "contact {:.0} % (built {:.1} %): R_3D(f_min) = {r3d:.4e} Ω, R_1D-PM = {r1d:.4e} Ω, excess {:.2} %; DRT peaks 3D {} / 1D-PM {}",
            100.0 * fraction,
            100.0 * built,
            100.0 * dr,
            d3.peaks.len(),
            d1.peaks.len()
        );
        excess.push(dr);
        peaks.push((d3.peaks.len(), d1.peaks.len()));
    }
    assert!(
        excess[0].abs() < 1e-6,
        "full contact: 3D and 1D-PM differ by {}",
        excess[0]
    );
    assert!(excess[1] > 0.05, "50 %: excess {}", excess[1]);
    assert!(
        excess[2] > excess[1] + 0.05,
        "10 %: excess {} vs 50 % {}",
        excess[2],
        excess[1]
    );
    // The extra arc: the DRT of the 3-D spectrum has one peak more than that of the 1-D
    // physical model once the contact is partial (bulk, grain boundaries, interface +
    // constriction), and the same count at full contact.
    assert_eq!(peaks[0], (3, 3), "full contact");
    assert_eq!(peaks[1], (4, 3), "50 % contact");
    assert_eq!(peaks[2], (4, 3), "10 % contact");
}

/// The lin-KK fit minimises the residuals relative to |Z| (weights 1/|Z|, as Schönleber et al.
/// define it), not the absolute ones: at its solution the relative objective
/// J = Σ (Δ_re² + Δ_im²) cannot be lowered by moving any resistance. Checked on a spectrum the
/// RC basis does not fit exactly (a constant-phase arc and a 3-decade |Z| range), where the two
/// weightings give different solutions.
#[test]
fn lin_kk_minimises_the_residuals_relative_to_z() {
    let f = log_frequencies(1.0, 1e6, 8);
    let z: Vec<num_complex::Complex64> = f
        .iter()
        .map(|f| {
            let w = 2.0 * std::f64::consts::PI * f;
            // R0 + R/(1 + (iωτ)^0.7) + a second small arc: a range of |Z| over decades.
            let jw = num_complex::Complex64::new(0.0, w * 1e-3).powf(0.7);
            let jw2 = num_complex::Complex64::new(0.0, w * 1e-6);
            1.0 + 1000.0 / (1.0 + jw) + 10.0 / (1.0 + jw2)
        })
        .collect();
    let spec = Spectrum::new(f.clone(), z.clone());
    let m = 6;
    let kk = lin_kk(&spec, Some(m));
    let model = |r0: f64, r: &[f64]| -> Vec<num_complex::Complex64> {
        f.iter()
            .map(|f| {
                let w = 2.0 * std::f64::consts::PI * f;
                let mut v = num_complex::Complex64::new(r0, 0.0);
                for (rk, tk) in r.iter().zip(&kk.tau_s) {
                    v += rk / num_complex::Complex64::new(1.0, w * tk);
                }
                v
            })
            .collect()
    };
    let objective = |r0: f64, r: &[f64]| -> f64 {
        model(r0, r)
            .iter()
            .zip(&z)
            .map(|(zm, zd)| ((zd - zm) / zd.norm()).norm_sqr())
            .sum()
    };
    let j0 = objective(kk.r0_ohm, &kk.r_ohm);
    // The reported residuals are those of the solution.
    let reported: f64 = kk
        .residual_re
        .iter()
        .zip(&kk.residual_im)
        .map(|(a, b)| a * a + b * b)
        .sum();
    assert!(
        (reported - j0).abs() <= 1e-9 * j0.max(1e-300),
        "{reported} vs {j0}"
    );
    // Any small move of a parameter raises J (zero gradient at a minimum).
    for k in 0..=m {
        for sign in [-1.0, 1.0] {
            let (mut r0, mut r) = (kk.r0_ohm, kk.r_ohm.clone());
            if k == 0 {
                r0 += sign * 1e-3 * r0.abs().max(1e-3);
            } else {
                r[k - 1] += sign * 1e-3 * r[k - 1].abs().max(1e-3);
            }
            let j = objective(r0, &r);
            assert!(
                j >= j0 * (1.0 - 1e-9),
                "moving parameter {k} by {sign}·0.1 % lowers J from {j0:e} to {j:e}: not the 1/|Z|-weighted minimum"
            );
        }
    }
}
