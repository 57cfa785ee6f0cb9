//! docs/models/phase-field.md §9.10 and §13.12: Li creep under stack pressure. A flat cell plates
//! 1 mAh/cm² into a thickening anode at the steady voltage, a void at a flat contact closes at the
//! rate the Darcy flow gives in closed form, the metal is conserved by the creep step alone, and
//! a contact that strips faster than creep can refill it is lost, slower not, with the critical
//! current scaling as the stack pressure to the creep law's exponent.

use crate::cell_checks::config_path;
use lipf_core::cpu::creep_assemble::{creep_assemble, excess, free_room, update_active_set};
use lipf_core::cpu::creep_finish::creep_finish;
use lipf_core::cpu::operator::Operator;
use lipf_core::observables::{li_amount_mol_m2, xi_integral_m};
use lipf_core::solver::Multigrid;
use lipf_core::{Backend, Coefficients, Config, CpuBackend, StopFlag};

/// CODATA 2018 (exact in the SI since 2019), written as defined.
#[allow(clippy::excessive_precision)]
const FARADAY_C_MOL: f64 = 96_485.332_123_310_018;

fn flat_cell() -> Config {
    let mut cfg = Config::from_file(&config_path("flat-cell.json")).unwrap();
    cfg.creep.enabled = true;
    cfg
}

/// Check 1 of the creep issue: a flat cell with creep plates 1 mAh/cm² at 10 A/m². The Li layer
/// thickens by the plated volume Q/(F c_s) = 4.85 µm ± 1 %, all of it through the collector (the
/// contact stays where it is), and |V| stays within 2 % of η_ct + iL/σ_p throughout. Measured:
/// 4.849 µm extruded and 2 nm in the domain (the contact settling in the first steps) against
/// the ions' 4.851 µm; |V| within 1.4 % of 37.28 mV (the first-step excess of the diffuse
/// contact, cell_checks); Li inside the electrolyte, counted at every ξ, 5.1e-10 mol/m² of the
/// 0.373 mol/m² plated (bound 1e-6 of it).
#[test]
fn flat_cell_plates_one_mah_per_cm2_into_a_thickening_anode_at_the_steady_voltage() {
    let mut cfg = flat_cell();
    let i = 10.0;
    cfg.control.current_density_a_m2 = i;
    // 1 mAh/cm² = 3.6 C/cm² = 36 000 C/m².
    let q = 36_000.0;
    cfg.time.end_time_s = q / i;
    let mut b = CpuBackend::new(&cfg).unwrap();
    let c: Coefficients = b.coeffs.clone();
    let expected_v = crate::cell_checks::flat_cell_expected_v(&cfg, &c);
    let xi0 = xi_integral_m(b.state());
    let stop = StopFlag::new();
    let mut worst: f64 = 0.0;
    for k in 1..=36 {
        b.advance(k as f64 * cfg.time.end_time_s / 36.0, &stop)
            .unwrap();
        let v = b.state().v_collector.abs();
        worst = worst.max((v / expected_v - 1.0).abs());
    }
    let s = b.state().clone();
    let nominal_m = q / (FARADAY_C_MOL * c.cs_mol_m3);
    // What the ions carried (the electrons that leak through the electrolyte plate nothing).
    let ionic_m = (s.charge_c_m2 - s.leakage_charge_c_m2) / (c.nf_c_mol * c.cs_mol_m3);
    let in_domain_m = xi_integral_m(&s) - xi0;
    eprintln!(
        "extruded {:.5} µm, ionic charge's volume {:.5} µm, nominal {:.5} µm, in the domain \
         {:.3e} µm; worst |V| deviation {:.4} (expected {:.4} mV)",
        s.li_extruded_m * 1e6,
        ionic_m * 1e6,
        nominal_m * 1e6,
        in_domain_m * 1e6,
        worst,
        expected_v * 1e3
    );
    assert!((nominal_m * 1e6 - 4.85).abs() < 0.01 * 4.85, "{nominal_m}");
    assert!(
        (s.li_extruded_m / nominal_m - 1.0).abs() < 0.01,
        "the anode thickened by {} µm, expected {} µm",
        s.li_extruded_m * 1e6,
        nominal_m * 1e6
    );
    assert!(
        ((s.li_extruded_m + in_domain_m) / ionic_m - 1.0).abs() < 1e-6,
        "extruded {} m and {} m in the domain against the ions' {} m",
        s.li_extruded_m,
        in_domain_m,
        ionic_m
    );
    // Li inside the electrolyte at any ξ, (ξ + ϕ − 1)₊ summed without a threshold.
    let inside = lipf_core::observables::li_in_electrolyte_mol_m2(&c, &s);
    let plated = nominal_m * c.cs_mol_m3;
    eprintln!("Li inside the electrolyte: {inside:.3e} mol/m² of {plated:.3e} plated");
    assert!(
        inside < 1e-6 * plated,
        "{inside} mol/m² inside the electrolyte"
    );
    assert!(in_domain_m.abs() < 1e-3 * nominal_m, "{in_domain_m}");
    assert!(worst < 0.02, "|V| left η_ct + iL/σ_p by {worst}");
}

/// What the flat cell of check 1 did over a run (`flat_cell_run`).
struct FlatRun {
    /// Largest relative deviation of the leakage current from G|V| at a sample.
    worst_leak: f64,
    /// The leakage charge, C/m².
    leak: f64,
    /// ∫G(t)|V(t)|dt, G the cell's electronic conductance solved alone at each sample, C/m².
    leak_expected: f64,
    /// The sharp-interface Wagner–Hebb integral ∫σ_e,el|V|/L dt, C/m².
    wagner_hebb: f64,
    /// Thickness of the electrolyte slab, m, and the interface width, m.
    l_el: f64,
    ell: f64,
}

/// The flat cell with creep at 2 A/m² for 2250 s, at grid spacing `dx_um` (ℓ = 2Δx) and
/// electrolyte electronic conductivity `sigma_e`, sampled 75 times.
fn flat_cell_run(dx_um: f64, sigma_e: f64) -> FlatRun {
    let mut cfg = flat_cell();
    cfg.domain.grid_spacing_um = dx_um;
    cfg.material.electrolyte_electronic_conductivity_s_m = sigma_e;
    cfg.time.end_time_s = 2250.0;
    let mut b = CpuBackend::new(&cfg).unwrap();
    let c: Coefficients = b.coeffs.clone();
    let l_el = (cfg.domain.height_um - cfg.geometry.li_foil_thickness_um) * 1e-6;
    let expected_v = crate::cell_checks::flat_cell_expected_v(&cfg, &c);
    // The electronic conductance of the cell as it stands, solved alone (no reaction,
    // collector at 10 mV): the leakage per volt, the diffuse Li tail included.
    let conductance = |s: &lipf_core::State| {
        crate::electronic_checks::slab_leakage(&c, &s.xi, &s.phi, -0.01)
            .0
            .abs()
            / 0.01
    };
    let inside0 = lipf_core::observables::li_in_electrolyte_mol_m2(&c, b.state());
    let li0 = li_amount_mol_m2(&c, b.state());
    let stop = StopFlag::new();
    let (mut worst_v, mut worst_inside, mut worst_leak) = (0.0f64, 0.0f64, 0.0f64);
    let (mut leak_expected, mut wagner_hebb) = (0.0, 0.0);
    let (mut t_prev, mut gv_prev) = (0.0, conductance(b.state()) * b.state().v_collector.abs());
    let mut v_prev = b.state().v_collector.abs();
    let samples = 75;
    for k in 1..=samples {
        let t = k as f64 * cfg.time.end_time_s / samples as f64;
        b.advance(t, &stop).unwrap();
        let s = b.state();
        let v = s.v_collector.abs();
        worst_v = worst_v.max((v / expected_v - 1.0).abs());
        let gv = conductance(s) * v;
        worst_leak = worst_leak.max((s.leakage_current_density_a_m2.abs() / gv - 1.0).abs());
        leak_expected += 0.5 * (gv + gv_prev) * (t - t_prev);
        wagner_hebb += (sigma_e + c.sigma_floor_s_m) / l_el * 0.5 * (v + v_prev) * (t - t_prev);
        (t_prev, v_prev, gv_prev) = (t, v, gv);
        let deposit = li_amount_mol_m2(&c, s) - li0;
        let inside = lipf_core::observables::li_in_electrolyte_mol_m2(&c, s) - inside0;
        worst_inside = worst_inside.max(inside.abs() / deposit);
    }
    let run = FlatRun {
        worst_leak,
        leak: b.state().leakage_charge_c_m2,
        leak_expected,
        wagner_hebb,
        l_el,
        ell: c.ell_m,
    };
    eprintln!(
        "Δx = {dx_um} µm, σ_e,el = {sigma_e:e} S/m: worst |V| deviation {worst_v:.4} (expected \
         {:.4} mV), Li inside the electrolyte at most {worst_inside:.2e} of the deposit; leakage \
         charge {:.6e} C/m², the static conductance's ∫G|V|dt {leak_expected:.6e} ({:+.2e}, worst \
         sample {worst_leak:.2e}); sharp-interface ∫σV/L dt {wagner_hebb:.5e} (slab shortened by \
         {:.2} µm = {:.2} ℓ)",
        expected_v * 1e3,
        run.leak,
        run.excess(),
        run.offset_m() * 1e6,
        run.offset_m() / run.ell
    );
    assert!(worst_v < 0.02, "|V| left η_ct + iL/σ_p by {worst_v}");
    assert!(
        worst_inside < 1e-3,
        "Li inside the electrolyte {worst_inside} of the deposit"
    );
    run
}

impl FlatRun {
    /// The leakage charge over ∫G|V|dt, minus 1.
    fn excess(&self) -> f64 {
        self.leak / self.leak_expected - 1.0
    }
    /// How much thinner than L the slab of the sharp Wagner–Hebb law with this leakage is, m.
    fn offset_m(&self) -> f64 {
        self.l_el * (1.0 - self.wagner_hebb / self.leak)
    }
}

/// Check 1 of the electrons-and-ions issue over a whole run, on the flat cell at 2 A/m² for
/// 2250 s, where the creep-free form drifted from −7.59 to −14.0 mV. With creep, at every one of
/// 75 samples, for an ideal electronic insulator (σ_e,el = 0) and for seed 003's LLZTO
/// (σ_e,el = 3.25e-6 S/m): |V| within 2 % of η_ct + iL/σ_p (measured 1.4 %, the first-step
/// excess of the diffuse contact, cell_checks), and Li inside the electrolyte, counted at every ξ,
/// below 1e-3 of the deposit (measured 3.0e-4, early, while the deposit is small).
///
/// The leakage. With σ_e,el = 0 only the numerical floor σ_floor leaks, below the solver's
/// tolerance. With σ_e,el > 0 the electrons cross the LLZO to the counter electrode (a flat
/// cell has nowhere for them to converge), and the leakage is compared with G(t)|V(t)|, G the
/// cell's electronic conductance solved alone at each sample (no reaction). The difference is the
/// diffuse interface's: the room the scaffold's profile leaves inside the LLZO, 1 − ϕ ∝ e^{−2y/ℓ},
/// holds a Li tail that reacts, and a reduction site a few ℓ inside the LLZO draws electrons
/// from the counter electrode too (in the run φ_s dips 0.9 % below V about 3 µm inside at
/// ℓ = 0.5 µm). It vanishes with the tail as ℓ → 0: measured 4.25 % of the leakage charge
/// at ℓ = 0.5 µm (growing from 2.1 % at 750 s as the tail fills) and 0.38 % at ℓ = 0.25 µm, where
/// every sample is within 0.29 % of G|V|. The 1 % is asserted at ℓ = 0.25 µm (Δx =
/// 0.125 µm), and the excess must fall at least 4× from ℓ = 0.5 µm. Against the sharp-interface
/// σ_e,el V/L the leakage is 10.7 % and 2.9 % high: the Li tail conducts into the first
/// ℓ/4·ln(3σ_Li/σ_e,el) ≈ 5.7ℓ of the LLZO (measured 8.1ℓ at ℓ = 0.5 µm, 4.85ℓ at
/// ℓ = 0.25 µm), an offset ∝ ℓ, as in check 2 of electronic_checks.
#[test]
fn flat_cell_holds_its_voltage_and_keeps_li_out_of_the_electrolyte_with_and_without_leakage() {
    let insulator = flat_cell_run(0.25, 0.0);
    // Only the floor leaks, below the solver's tolerance (1e-5 of the current).
    assert!(
        insulator.leak < 1e-5 * 2.0 * 2250.0,
        "{} C/m²",
        insulator.leak
    );
    let sigma_e = 3.25e-6;
    let coarse = flat_cell_run(0.25, sigma_e);
    let fine = flat_cell_run(0.125, sigma_e);
    assert!(
        (0.0..0.05).contains(&coarse.excess()),
        "ℓ = 0.5 µm: leakage charge {} C/m² against ∫G|V|dt = {} C/m²",
        coarse.leak,
        coarse.leak_expected
    );
    assert!(
        fine.excess().abs() < 0.01 && fine.worst_leak < 0.01,
        "ℓ = 0.25 µm: leakage charge {} C/m² against ∫G|V|dt = {} C/m² (worst sample {})",
        fine.leak,
        fine.leak_expected,
        fine.worst_leak
    );
    assert!(
        fine.excess().abs() < coarse.excess() / 4.0,
        "the excess over G|V| does not vanish with ℓ: {} at ℓ = 0.5 µm, {} at 0.25 µm",
        coarse.excess(),
        fine.excess()
    );
    for run in [&coarse, &fine] {
        let offset_over_ell = run.offset_m() / run.ell;
        assert!(
            (0.0..12.0).contains(&offset_over_ell),
            "slab shortened by {offset_over_ell} ℓ"
        );
    }
    // The sharp law is approached as the tail shrinks with ℓ.
    assert!(
        fine.offset_m() < coarse.offset_m(),
        "offset grew with finer ℓ"
    );
}

/// The creep step alone conserves the metal: a random overfilled field with free room in places,
/// closed collector, one step of assemble / active-set solve / finish moves Li but keeps ∫ξ to
/// the solver residual; with an open collector ∫ξ changes by exactly the returned outflow; and
/// after the step no cell holds more than its room beyond the floor's uptake ε Δt K p/Δx²
/// (2.4e-9 here; the obstacle holds).
#[test]
fn the_creep_step_conserves_the_metal_and_fills_no_cell_beyond_its_room() {
    let (nx, ny) = (32, 24);
    let n = nx * ny;
    let dx = 0.25e-6;
    let mut rng = 12345u64;
    let mut rand = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    // Metal below j = 12 with a pore band and scattered LLZO; some cells overfilled.
    let mut phi = vec![0.0; n];
    let mut xi = vec![0.0; n];
    for j in 0..ny {
        for i in 0..nx {
            let k = j * nx + i;
            phi[k] = if j >= 16 {
                1.0
            } else if (i / 4) % 2 == 0 && j >= 8 {
                0.7 * rand()
            } else {
                0.0
            };
            xi[k] = if j < 12 {
                (1.0 - phi[k]) * (1.0 + 0.05 * rand())
            } else {
                0.3 * rand() * (1.0 - phi[k])
            };
        }
    }
    for open in [false, true] {
        let cr = lipf_core::coefficients::CreepCoefficients {
            mobility_m2_pa_s: 1e-19,
            stack_pressure_pa: 1e6,
            open_collector: open,
            penalty: 1000.0,
            flow_width_m: 1.5e-6,
        };
        let mut x = xi.clone();
        let before: f64 = x.iter().sum();
        let mut op = Operator::zeros(nx, ny);
        let mut rhs = vec![0.0; n];
        let mut p = vec![0.0; n];
        let mut full: Vec<bool> = (0..n).map(|k| free_room(x[k], phi[k]) == 0.0).collect();
        let mut mg = Multigrid::new(nx, ny, 2);
        let mut rounds = 0;
        loop {
            rounds += 1;
            creep_assemble(&cr, nx, ny, dx, 1.0, &x, &phi, &full, &mut op, &mut rhs);
            mg.setup(&op).unwrap();
            p.fill(0.0);
            let st = mg.solve(&rhs, &mut p, 1e-13 * n as f64, 200);
            assert!(st.converged, "{st:?}");
            let changed = update_active_set(&op.s, &p, &x, &phi, &mut full);
            if !changed || rounds == 20 {
                break;
            }
        }
        let moved: f64 = (0..n).map(|k| excess(x[k], phi[k])).sum();
        let out = creep_finish(&op, cr.stack_pressure_pa, &p, &phi, &full, &mut x);
        let after: f64 = x.iter().sum();
        let worst_excess = (0..n).map(|k| excess(x[k], phi[k])).fold(0.0, f64::max);
        eprintln!(
            "open = {open}: {rounds} active-set rounds, excess moved {moved:.4} cells, outflow \
             {out:.4e}, ∫ξ change + outflow {:.3e}, largest excess after {worst_excess:.2e}",
            after - before + out
        );
        assert!(moved > 1.0, "the field was meant to be overfilled: {moved}");
        assert!(
            (after - before + out).abs() < 1e-10,
            "{} {}",
            after - before,
            out
        );
        if !open {
            assert_eq!(out, 0.0);
        }
        assert!(
            worst_excess < 1e-8,
            "a cell holds {worst_excess} beyond its room"
        );
        assert!(rounds < 20, "the active set did not settle");
    }
}

/// Builds the flat cell of `cfg` with the Li front lowered by `gap_um` below the LLZO: a void
/// between the Li and the electrolyte over the whole width.
fn flat_cell_with_gap(cfg: &Config, gap_um: f64) -> CpuBackend {
    let mut lowered = cfg.clone();
    lowered.geometry.li_foil_thickness_um -= gap_um;
    lowered.model.equilibration_time_s = 0.0;
    let mut with_llzo = cfg.clone();
    with_llzo.model.equilibration_time_s = 0.0;
    let li = lipf_core::initial::initial_state(&lowered).unwrap();
    let mut init = lipf_core::initial::initial_state(&with_llzo).unwrap();
    let s = &mut init.state;
    for k in 0..s.cells() {
        s.xi[k] = li.state.xi[k].min(1.0 - s.phi[k]);
    }
    let c = Coefficients::from_config(cfg);
    s.li_amount0_mol_m2 = li_amount_mol_m2(&c, s);
    CpuBackend::with_state(cfg, init.state, init.geometry)
}

/// Height (m) where ξ crosses ½ in column 0, the lowest crossing from the collector up.
fn front_m(b: &mut CpuBackend) -> f64 {
    let s = b.state();
    let (nx, dx) = (s.grid.nx, s.grid.dx_m);
    for j in 0..s.grid.ny - 1 {
        let (a, c) = (s.xi[j * nx], s.xi[(j + 1) * nx]);
        if a >= 0.5 && c < 0.5 {
            return (j as f64 + 0.5 + (a - 0.5) / (a - c)) * dx;
        }
    }
    panic!("no front");
}

/// Rate at which y_f² of the Li front grows, over 2 (m²/s), while it rises ~1 µm into a 2 µm
/// void at a flat contact, at zero cell voltage, on a grid of `dx_um` (ℓ = 2Δx), and K p_s.
fn void_closure_rate(dx_um: f64, penalty: f64) -> (f64, f64) {
    let mut cfg = flat_cell();
    cfg.domain.height_um = 20.0;
    cfg.domain.grid_spacing_um = dx_um;
    cfg.geometry.li_foil_thickness_um = 10.0;
    cfg.geometry.dense_cap_thickness_um = 10.0;
    cfg.control.mode = lipf_core::config::ControlMode::Potentiostatic;
    cfg.control.cell_voltage_v = 0.0;
    cfg.creep.mobility_m2_pa_s = Some(1e-19);
    cfg.creep.free_surface_penalty = penalty;
    cfg.time.end_time_s = 1e4;
    let k = cfg.creep.mobility_m2_pa_s.unwrap();
    let ps = cfg.creep.stack_pressure_mpa * 1e6;
    let mut b = flat_cell_with_gap(&cfg, 2.0);
    let stop = StopFlag::new();
    b.advance(5.0, &stop).unwrap();
    let (t0, y0) = (b.state().time_s, front_m(&mut b));
    // y_f² − y0² = 2 K p_s t: the time for the front to rise by 1 µm.
    let t1 = t0 + ((y0 + 1e-6).powi(2) - y0 * y0) / (2.0 * k * ps);
    b.advance(t1, &stop).unwrap();
    let y1 = front_m(&mut b);
    assert!(y1 > y0 + 0.5e-6, "the void did not close: {y0} → {y1}");
    let measured = (y1 * y1 - y0 * y0) / (2.0 * (t1 - t0));
    eprintln!(
        "Δx = {dx_um} µm, γ = {penalty}: front {:.4} → {:.4} µm over {:.1} s: (y² growth)/2 = \
         {measured:.4e} m²/s against K p_s = {:.4e} m²/s",
        y0 * 1e6,
        y1 * 1e6,
        t1 - t0,
        k * ps
    );
    (measured, k * ps)
}

/// Check 3 of the creep issue: a void at a flat contact closes under the stack pressure at the
/// rate of the Darcy flow. The metal between the collector (p_s) and its free surface at height
/// y_f (p = 0) moves as a plug at u = K p_s / y_f, so y_f² grows at 2 K p_s. Measured: 4.5 %
/// above it at Δx = 0.25 µm, 2.3 % at 0.125 µm (the diffuse front, whose tail takes up metal
/// ahead of the ξ = ½ line, shrinks with ℓ = 2Δx); bound 5 %, and the error must fall.
#[test]
fn a_void_at_a_flat_contact_closes_at_the_darcy_rate() {
    let errors: Vec<f64> = [0.25, 0.125]
        .iter()
        .map(|&dx| {
            let (measured, expected) = void_closure_rate(dx, 1000.0);
            measured / expected - 1.0
        })
        .collect();
    eprintln!("relative closure-rate errors at Δx = 0.25, 0.125 µm: {errors:?}");
    assert!(errors.iter().all(|e| e.abs() < 0.05), "{errors:?}");
    assert!(errors[1].abs() < errors[0].abs(), "{errors:?}");
}

/// The free-surface penalty γ is a numerical parameter: the closure rate changes by less than
/// 1 % between γ = 100 and 1000 (the default) and 10 000.
#[test]
fn the_void_closure_rate_does_not_depend_on_the_free_surface_penalty() {
    let rates: Vec<f64> = [100.0, 1000.0, 10_000.0]
        .iter()
        .map(|&g| void_closure_rate(0.25, g).0)
        .collect();
    eprintln!("closure rates at γ = 100, 1000, 10000: {rates:?}");
    for r in &rates {
        assert!((r / rates[1] - 1.0).abs() < 0.01, "{rates:?}");
    }
}

/// Void thickness at the contact of a dense flat cell: the free room Σ(1 − ϕ − ξ)₊ ΔA / width
/// (m); the flat cell has free room nowhere else.
fn void_thickness_m(s: &lipf_core::State) -> f64 {
    let g = s.grid;
    let room: f64 = (0..s.cells()).map(|k| free_room(s.xi[k], s.phi[k])).sum();
    room * g.dx_m * g.dx_m / g.width_m()
}

/// Strips the flat cell at `ratio` × the predicted critical current under `p_mpa` of stack
/// pressure for 300 s and returns (the void's growth rate over the last 200 s in m/s, the
/// predicted critical current in A/m², the stripping current's magnitude, nF c_s).
fn stripping(p_mpa: f64, ratio: f64, creep: bool) -> (f64, f64, f64, f64) {
    let mut cfg = flat_cell();
    cfg.creep.stack_pressure_mpa = p_mpa;
    let c = Coefficients::from_config(&cfg);
    let cr = c.creep.unwrap();
    let nfcs = c.nf_c_mol * c.cs_mol_m3;
    // The metal between the collector (p_s) and an opening contact (p = 0) at the foil's top
    // carries at most K p_s / L.
    let l = cfg.geometry.li_foil_thickness_um * 1e-6;
    let i_c = nfcs * cr.mobility_m2_pa_s * cr.stack_pressure_pa / l;
    let i = ratio * i_c;
    cfg.control.current_density_a_m2 = -i;
    cfg.time.end_time_s = 300.0;
    cfg.creep.enabled = creep;
    let mut b = CpuBackend::new(&cfg).unwrap();
    let stop = StopFlag::new();
    b.advance(100.0, &stop).unwrap();
    let v0 = void_thickness_m(b.state());
    b.advance(300.0, &stop).unwrap();
    let v1 = void_thickness_m(b.state());
    let c = b.coeffs.clone();
    let faraday = lipf_core::observables::faraday_error(&c, b.state());
    assert!(
        faraday < 1e-6,
        "Faraday balance {faraday} at p_s = {p_mpa} MPa, {ratio} i_c"
    );
    ((v1 - v0) / 200.0, i_c, i, nfcs)
}

/// Check 4 of the creep issue. Stripping below the critical current i_c = nF c_s K p_s / L
/// (the most the metal can carry from the collector to an opening contact) keeps the contact:
/// the void does not grow. Above it the void grows at (|i| − i_c)/(nF c_s), which measures i_c;
/// measured 4 % and 6 % above the prediction at 1 and 1.25 MPa (the diffuse contact shortens
/// the flow path by about ℓ; bound 15 %), and the ratio of the two gives the creep law's
/// exponent, 6.64 against n = 6.56 (bound ±0.3), since the mobility was linearised at the stack
/// pressure (K ∝ p_s^{n−1}, so i_c ∝ p_s^n). Without creep the contact opens at the stripping
/// rate itself (measured 1.000 of it; bound 0.9). Every run keeps the Faraday balance within
/// 1e-6 (an active-set loop that stopped at its round limit with a set other than the one it
/// had solved for once lost 1.5e-3 here).
#[test]
fn stripping_keeps_the_contact_below_the_critical_current_which_scales_as_pressure_to_n() {
    let mut measured = Vec::new();
    for p in [1.0, 1.25] {
        let (below, i_c, i, nfcs) = stripping(p, 0.5, true);
        let stripped = i / nfcs;
        eprintln!(
            "p_s = {p} MPa, i_c predicted {i_c:.4} A/m²: at {i:.4} A/m² the void grows at \
             {below:.3e} m/s (stripping {stripped:.3e} m/s)"
        );
        assert!(
            below.abs() < 0.02 * stripped,
            "below i_c the void grew at {below} m/s against stripping at {stripped} m/s"
        );
        let (above, i_c, i, nfcs) = stripping(p, 2.0, true);
        let i_c_measured = i - nfcs * above;
        eprintln!(
            "p_s = {p} MPa: at {i:.4} A/m² the void grows at {above:.3e} m/s: i_c measured \
             {i_c_measured:.4} A/m² against {i_c:.4}"
        );
        assert!(
            (i_c_measured / i_c - 1.0).abs() < 0.15,
            "i_c measured {i_c_measured} against {i_c}"
        );
        measured.push(i_c_measured);
    }
    let (without, _, i, nfcs) = stripping(1.0, 0.5, false);
    eprintln!(
        "without creep at {i:.4} A/m² the void grows at {without:.3e} m/s, {:.3} of the stripping \
         rate",
        without * nfcs / i
    );
    assert!(
        without * nfcs / i > 0.9,
        "without creep the void grew at {without} m/s"
    );
    let n = (measured[1] / measured[0]).ln() / 1.25f64.ln();
    eprintln!("exponent of i_c against p_s: {n:.3} (creep law 6.56)");
    assert!((n - 6.56).abs() < 0.3, "exponent {n}");
}
