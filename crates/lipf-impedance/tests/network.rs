//! The network and its solvers against closed forms: a dense slab is one RC arc, layers in
//! series add, the Krylov solvers agree with the sparse LU, and phase-field sections map to the
//! right phases.

use lipf_impedance::network::Network;
use lipf_impedance::params::{log_frequencies, Materials, EPS0_F_M};
use lipf_impedance::solver::{DirectLu, Krylov, KrylovMethod};
use lipf_impedance::structure::{Phase, PhaseKind, Structure};
use lipf_impedance::{sweep, ModelStructure, Spectrum};
use num_complex::Complex64 as C64;

/// Materials of a dense slab with ideal contacts (no charge transfer, no grain boundaries).
fn ideal_contacts() -> Materials {
    Materials {
        polarization_resistance_ohm_cm2: 0.0,
        ..Materials::default()
    }
}

fn solve_direct(s: &Structure, m: &Materials, f: &[f64]) -> Spectrum {
    let net = Network::build(s, &m.si()).unwrap();
    sweep(&net, f, &mut DirectLu::new(), |_, _, _| {})
        .unwrap()
        .0
}

/// Frequency of the maximum of −Im Z, refined by a parabola through the three samples around
/// the discrete maximum on a log-frequency axis.
fn apex_frequency(s: &Spectrum) -> f64 {
    let k = (1..s.len() - 1)
        .max_by(|&a, &b| (-s.z[a].im).total_cmp(&-s.z[b].im))
        .unwrap();
    let (x0, x1, x2) = (s.f_hz[k - 1].ln(), s.f_hz[k].ln(), s.f_hz[k + 1].ln());
    let (y0, y1, y2) = (-s.z[k - 1].im, -s.z[k].im, -s.z[k + 1].im);
    let den = (x0 - x1) * (x0 - x2) * (x1 - x2);
    let a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den;
    let b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / den;
    (-b / (2.0 * a)).exp()
}

#[test]
fn dense_slab_is_one_arc_with_r_equal_l_over_sigma_a_and_apex_at_sigma_over_2_pi_eps() {
    let m = ideal_contacts();
    let (n, nz, d) = (4usize, 12usize, 1e-6);
    let s = Structure::dense(n, n, nz, d, &m.si());
    let f = log_frequencies(1e3, 1e9, 10);
    let spec = solve_direct(&s, &m, &f);
    let sigma = m.bulk_conductivity_ms_cm * 0.1;
    let eps = m.bulk_permittivity_rel * EPS0_F_M;
    let (l, area) = (nz as f64 * d, (n as f64 * d).powi(2));
    let r = l / (sigma * area);
    let r_low = spec.z[spec.lowest()].re;
    assert!(
        (r_low / r - 1.0).abs() < 1e-2,
        "R = {r_low} Ω, expected {r} Ω"
    );
    let f_apex = apex_frequency(&spec);
    let f_expected = sigma / (2.0 * std::f64::consts::PI * eps);
    assert!(
        (f_apex / f_expected - 1.0).abs() < 1e-2,
        "apex at {f_apex} Hz, expected {f_expected} Hz"
    );
    // 0.46 mS/cm and 150 ε0: 5.5 MHz.
    assert!((f_expected / 5.5e6 - 1.0).abs() < 0.01);
    // One arc: the whole spectrum is the single RC element R/(1 + iωRC), to rounding.
    let c = eps * area / l;
    for (k, &fk) in spec.f_hz.iter().enumerate() {
        let w = 2.0 * std::f64::consts::PI * fk;
        let exact = C64::new(r, 0.0) / C64::new(1.0, w * r * c);
        let err = (spec.z[k] - exact).norm() / exact.norm();
        assert!(
            err < 1e-9,
            "{fk} Hz: {} vs {exact}, rel. error {err:e}",
            spec.z[k]
        );
    }
}

#[test]
fn two_layers_in_series_give_the_sum_of_their_arcs() {
    let m = ideal_contacts();
    let msi = m.si();
    let (n, d) = (3usize, 1e-6);
    let layer_a = Phase {
        kind: PhaseKind::Electrolyte,
        sigma_s_m: 0.046,
        eps_f_m: 150.0 * EPS0_F_M,
    };
    let layer_b = Phase {
        kind: PhaseKind::Electrolyte,
        sigma_s_m: 0.01,
        eps_f_m: 3000.0 * EPS0_F_M,
    };
    let (na, nb) = (5usize, 3usize);
    let build = |layers: &[(Phase, usize)]| {
        let nz: usize = layers.iter().map(|l| l.1).sum();
        let mut s = Structure::dense(n, n, nz, d, &msi);
        s.phases = layers.iter().map(|l| l.0).collect();
        let mut k0 = 0;
        for (code, &(_, nzl)) in layers.iter().enumerate() {
            for k in k0..k0 + nzl {
                for j in 0..n {
                    for i in 0..n {
                        let v = s.idx(i, j, k);
                        s.voxels[v] = code as u8;
                    }
                }
            }
            k0 += nzl;
        }
        s
    };
    let f = log_frequencies(1e2, 1e9, 8);
    let both = solve_direct(&build(&[(layer_a, na), (layer_b, nb)]), &m, &f);
    let only_a = solve_direct(&build(&[(layer_a, na)]), &m, &f);
    let only_b = solve_direct(&build(&[(layer_b, nb)]), &m, &f);
    let area = (n as f64 * d).powi(2);
    let arc = |p: &Phase, nz: usize, w: f64| {
        let l = nz as f64 * d;
        let r = l / (p.sigma_s_m * area);
        C64::new(r, 0.0) / C64::new(1.0, w * r * p.eps_f_m * area / l)
    };
    for (k, &fk) in f.iter().enumerate() {
        let w = 2.0 * std::f64::consts::PI * fk;
        let sum = only_a.z[k] + only_b.z[k];
        let err = (both.z[k] - sum).norm() / sum.norm();
        assert!(err < 1e-9, "{} Hz: {} vs {sum}", fk, both.z[k]);
        let exact = arc(&layer_a, na, w) + arc(&layer_b, nb, w);
        let err = (both.z[k] - exact).norm() / exact.norm();
        assert!(
            err < 1e-9,
            "{} Hz: {} vs closed form {exact}",
            fk,
            both.z[k]
        );
    }
    // Two arcs: two maxima of −Im Z, at the two layers' σ/(2πε).
    let peaks: Vec<f64> = (1..f.len() - 1)
        .filter(|&k| -both.z[k].im > -both.z[k - 1].im && -both.z[k].im > -both.z[k + 1].im)
        .map(|k| f[k])
        .collect();
    assert_eq!(peaks.len(), 2, "maxima of −Im Z at {peaks:?}");
}

/// Relative difference of two spectra, max over frequencies.
fn max_rel_diff(a: &Spectrum, b: &Spectrum) -> f64 {
    a.z.iter()
        .zip(&b.z)
        .map(|(x, y)| (x - y).norm() / y.norm())
        .fold(0.0, f64::max)
}

#[test]
fn cocg_and_cocr_agree_with_the_sparse_lu_within_1e_6() {
    // A small model structure with everything in it: contact and pore gap, grain boundaries,
    // charge transfer (9 × 9 × 9 voxels, 30 % contact).
    let m = Materials::default();
    let s = Structure::model_structure(
        &ModelStructure {
            edge_um: 50.0,
            voxels: 9,
            contact_area_fraction: 0.3,
            grain_layers: 50,
        },
        &m.si(),
    );
    let net = Network::build(&s, &m.si()).unwrap();
    let f = log_frequencies(1.0, 1e7, 5);
    let (direct, _) = sweep(&net, &f, &mut DirectLu::new(), |_, _, _| {}).unwrap();
    for method in [KrylovMethod::Cocg, KrylovMethod::Cocr] {
        let mut k = Krylov::new(method);
        k.tol = 1e-10;
        let (it, rep) = sweep(&net, &f, &mut k, |_, _, _| {}).unwrap();
        let diff = max_rel_diff(&it, &direct);
        assert!(
            diff < 1e-6,
            "{method:?} vs LU: max relative difference {diff:e}"
        );
        assert!(rep.iterations.iter().all(|&i| i > 0));
    }
    // Pore voxels and metal with finite conductivity as well (a random three-phase block).
    let msi = Materials {
        metal_conductivity_s_m: Some(1.0),
        ..Materials::default()
    }
    .si();
    let (nx, ny, nz) = (5, 4, 6);
    let mut state = 12345u64;
    let codes = (0..nx * ny * nz)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % 3) as u8
        })
        .collect();
    let s = Structure::from_codes(nx, ny, nz, 1e-6, codes, &msi).unwrap();
    let net = Network::build(&s, &msi).unwrap();
    let (direct, _) = sweep(&net, &f, &mut DirectLu::new(), |_, _, _| {}).unwrap();
    for method in [KrylovMethod::Cocg, KrylovMethod::Cocr] {
        let (it, _) = sweep(&net, &f, &mut Krylov::new(method), |_, _, _| {}).unwrap();
        let diff = max_rel_diff(&it, &direct);
        assert!(diff < 1e-6, "{method:?} vs LU (three phases): {diff:e}");
    }
}

#[test]
fn solutions_conserve_current_between_the_electrodes() {
    let m = Materials::default();
    let s = Structure::model_structure(
        &ModelStructure {
            voxels: 8,
            contact_area_fraction: 0.25,
            ..ModelStructure::default()
        },
        &m.si(),
    );
    let net = Network::build(&s, &m.si()).unwrap();
    let f = log_frequencies(0.1, 1e7, 3);
    let (_, rep) = sweep(&net, &f, &mut DirectLu::new(), |_, _, _| {}).unwrap();
    let worst = rep.current_balance.iter().fold(0.0f64, |a, &b| a.max(b));
    assert!(worst < 1e-8, "|I_WE − I_CE|/|I_WE| up to {worst:e}");
}

#[test]
fn phase_field_section_assembles_with_the_right_phase_counts() {
    // 6 × 5 section: bottom row Li foil, a Li column into a pore channel, LLZO walls, a dense
    // LLZO cap row, and one isolated Li island inside the pore.
    let (nx, ny) = (6usize, 5usize);
    let mut xi = vec![0.0f32; nx * ny];
    let mut phi = vec![0.0f32; nx * ny];
    for j in 0..ny {
        for i in 0..nx {
            let k = j * nx + i;
            if j == 0 || (j == 1 && i == 2) {
                xi[k] = 1.0;
            } else if j == ny - 1 || i == 0 || i == 5 {
                phi[k] = 0.9;
            } else if j == 3 && i == 3 {
                xi[k] = 0.8;
            }
        }
    }
    let msi = Materials::default().si();
    let s = Structure::from_phase_field(nx, ny, 0.5e-6, &xi, &phi, &msi).unwrap();
    let c = s.counts();
    assert_eq!((s.nx, s.ny, s.nz), (nx, 1, ny));
    assert_eq!(c.metal, nx + 2);
    assert_eq!(c.electrolyte, nx + 2 * (ny - 2));
    assert_eq!(c.pore, nx * ny - c.metal - c.electrolyte);
    let net = Network::build(&s, &msi).unwrap();
    // Foil + column merge into the WE; the island is one floating node; every other voxel is
    // an unknown.
    assert_eq!(net.info.floating_metal_regions, 1);
    assert_eq!(net.info.unknowns, c.pore + c.electrolyte + 1);
    let f = log_frequencies(1.0, 1e7, 2);
    let (spec, _) = sweep(&net, &f, &mut DirectLu::new(), |_, _, _| {}).unwrap();
    assert!(spec.z.iter().all(|z| z.re > 0.0 && z.im <= 0.0));
}

/// A 3D phase-field grid (index (k·ny + j)·nx + i, y the growth direction) becomes a network
/// with the growth direction between the electrodes. A section extruded over nz identical
/// layers is nz copies of the section in parallel (the lateral faces are insulating): its
/// impedance is the section's over nz, at every frequency, to the solver's precision.
#[test]
fn an_extruded_phase_field_section_is_its_section_in_parallel() {
    let (nx, ny) = (6usize, 5usize);
    let mut xi = vec![0.0f32; nx * ny];
    let mut phi = vec![0.0f32; nx * ny];
    for j in 0..ny {
        for i in 0..nx {
            let k = j * nx + i;
            if j == 0 || (j == 1 && i == 2) {
                xi[k] = 1.0;
            } else if j == ny - 1 || i == 0 || i == 5 || (j == 2 && i == 4) {
                phi[k] = 0.9;
            }
        }
    }
    let msi = Materials::default().si();
    let section = Structure::from_phase_field(nx, ny, 0.5e-6, &xi, &phi, &msi).unwrap();
    let nz = 3;
    let (xi3, phi3) = (xi.repeat(nz), phi.repeat(nz));
    let volume = Structure::from_phase_field_volume(nx, ny, nz, 0.5e-6, &xi3, &phi3, &msi).unwrap();
    assert_eq!((volume.nx, volume.ny, volume.nz), (nx, nz, ny));
    assert_eq!(volume.counts().metal, nz * section.counts().metal);
    let f = log_frequencies(1.0, 1e7, 2);
    let z = |s: &Structure| {
        let net = Network::build(s, &msi).unwrap();
        sweep(&net, &f, &mut DirectLu::new(), |_, _, _| {})
            .unwrap()
            .0
            .z
    };
    for (a, b) in z(&section).iter().zip(z(&volume)) {
        let expected = a / nz as f64;
        assert!(
            (b - expected).norm() < 1e-9 * expected.norm(),
            "{b} against {expected}"
        );
    }
    // The growth direction is the network's z: a layer of metal across the whole section at
    // j = 0 is the WE plane in every layer.
    let mut xi_layer = xi3.clone();
    xi_layer[(nz - 1) * nx * ny + 3 * nx + 1] = 1.0; // one Li voxel in the last layer, row 3
    let v = Structure::from_phase_field_volume(nx, ny, nz, 0.5e-6, &xi_layer, &phi3, &msi).unwrap();
    assert_eq!(v.counts().metal, volume.counts().metal + 1);
}
