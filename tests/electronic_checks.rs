//! The two-potential form (docs/models/phase-field.md §9.6, §13.9): Li forms only where ions and
//! electrons meet. Each test builds a small cell by hand (ξ and ϕ as tanh profiles of signed
//! distances, ξ + ϕ ≤ 1) and runs the CPU backend on it.

use lipf_core::config::{ControlMode, OverpotentialForm};
use lipf_core::cpu::electronic_assemble::{electronic_assemble, electronic_conductivity};
use lipf_core::cpu::operator::Operator;
use lipf_core::cpu::potential_assemble::cell_conductivity;
use lipf_core::observables::{faraday_error, li_amount_mol_m2};
use lipf_core::solver::Multigrid;
use lipf_core::{Backend, Coefficients, Config, CpuBackend, State, StopFlag};

use super::cell_checks::{config_path, smoke};

/// A configuration of `width_um` × `height_um` at `dx_um` (the flat cell's materials).
fn cell_config(width_um: f64, height_um: f64, dx_um: f64) -> Config {
    let mut cfg = Config::from_file(&config_path("flat-cell.json")).unwrap();
    cfg.domain.width_um = width_um;
    cfg.domain.height_um = height_um;
    cfg.domain.grid_spacing_um = dx_um;
    cfg.model.equilibration_time_s = 0.0;
    cfg.noise.amplitude = 0.0;
    cfg
}

/// ½(1 − tanh(d/ℓ)) for the signed distance d (negative inside), both in m.
fn inside(d_m: f64, ell_m: f64) -> f64 {
    0.5 * (1.0 - (d_m / ell_m).tanh())
}

/// A backend on the cell whose ξ and ϕ are `fields(x_um, y_um, ℓ_um)` at the cell centres.
fn backend_on(cfg: &Config, fields: impl Fn(f64, f64, f64) -> (f64, f64)) -> CpuBackend {
    let init = lipf_core::initial::initial_state(cfg).unwrap();
    let mut state = init.state;
    let c = Coefficients::from_config(cfg);
    let g = c.grid;
    let ell_um = c.ell_m * 1e6;
    for j in 0..g.ny {
        for i in 0..g.nx {
            let k = g.idx(i, j);
            let (xi, phi) = fields(g.x_m(i) * 1e6, g.y_m(j) * 1e6, ell_um);
            assert!(xi + phi <= 1.0 + 1e-12, "ξ + ϕ > 1 at ({i}, {j})");
            state.xi[k] = xi;
            state.phi[k] = phi;
            state.conc[k] = 1.0;
        }
    }
    state.li_amount0_mol_m2 = li_amount_mol_m2(&c, &state);
    CpuBackend::with_state(cfg, state, init.geometry)
}

/// c_s Σ ξ dA / width over the cells whose centres satisfy `region`, mol/m².
fn li_in(c: &Coefficients, s: &State, region: impl Fn(f64, f64) -> bool) -> f64 {
    let g = s.grid;
    let mut sum = 0.0;
    for j in 0..g.ny {
        for i in 0..g.nx {
            if region(g.x_m(i) * 1e6, g.y_m(j) * 1e6) {
                sum += s.xi[g.idx(i, j)];
            }
        }
    }
    c.cs_mol_m3 * sum * g.dx_m * g.dx_m / g.width_m()
}

/// Check 2 (Wagner–Hebb, the electronic part): a Li layer under a dense electrolyte slab, the
/// collector at V and the counter electrode at 0, no ionic current (reaction off): the electrons
/// that leak through the slab carry (σ_e,el + σ_floor) V/L. The diffuse Li profile still conducts where it
/// holds a trace of metal (σ_e h(ξ) > σ_e,el down to ξ ≈ 2e-4), which shortens the slab by a
/// few ℓ: the offset must shrink in proportion to ℓ, and the current must be within 1 % of the
/// sharp-interface value once L/ℓ is large.
#[test]
fn electronic_leakage_through_a_dense_slab_is_sigma_v_over_l() {
    let (li_um, slab_um, v) = (4.0, 200.0, -0.01);
    let mut offsets = Vec::new();
    for ell_um in [0.5, 0.25] {
        let mut cfg = cell_config(0.5, li_um + slab_um, 0.125);
        cfg.model.interface_half_width_um = Some(ell_um);
        let c = Coefficients::from_config(&cfg);
        let (xi, phi) = slab_fields(&c, li_um, ell_um);
        let (i_top, _) = slab_leakage(&c, &xi, &phi, v);
        // The pore floor conducts too (1 % of σ_e,el by default).
        let sigma = c.sigma_e_el_s_m + c.sigma_floor_s_m;
        let expected = sigma * v.abs() / (slab_um * 1e-6);
        let offset_um = slab_um - sigma * v.abs() / i_top * 1e6;
        eprintln!(
            "ℓ = {ell_um} µm: leakage {i_top:.6e} A/m², σV/L = {expected:.6e} A/m² \
             ({:+.3} %), slab shortened by {offset_um:.3} µm",
            100.0 * (i_top / expected - 1.0)
        );
        offsets.push(offset_um);
        if ell_um == 0.25 {
            assert!(
                (i_top / expected - 1.0).abs() < 0.01,
                "leakage {i_top} A/m² against σ_e,el V/L = {expected} A/m²"
            );
        }
    }
    let ratio = offsets[0] / offsets[1];
    assert!(
        (1.6..2.4).contains(&ratio),
        "the offset should scale with ℓ: {offsets:?} µm at ℓ = 0.5, 0.25 µm"
    );
}

/// ξ and ϕ of a Li layer `li_um` thick under a dense electrolyte (tanh profiles of half-width
/// `ell_um`, ξ + ϕ = 1).
fn slab_fields(c: &Coefficients, li_um: f64, ell_um: f64) -> (Vec<f64>, Vec<f64>) {
    let g = c.grid;
    let n = g.cells();
    let (mut xi, mut phi) = (vec![0.0; n], vec![0.0; n]);
    for j in 0..g.ny {
        for i in 0..g.nx {
            let x = inside((g.y_m(j) * 1e6 - li_um) * 1e-6, ell_um * 1e-6);
            xi[g.idx(i, j)] = x;
            phi[g.idx(i, j)] = 1.0 - x;
        }
    }
    (xi, phi)
}

/// The slab of the interphase check: a Li layer under 20 µm of electrolyte at Δx = 0.125 µm,
/// ℓ = 0.25 µm, and the interphase's ASRs (forward, reverse) if any.
fn interphase_slab(asr: Option<(f64, f64)>) -> (Config, Coefficients, Vec<f64>, Vec<f64>) {
    let (li_um, slab_um) = (4.0, 20.0);
    let mut cfg = cell_config(0.5, li_um + slab_um, 0.125);
    cfg.model.interface_half_width_um = Some(0.25);
    cfg.material.electrolyte_electronic_conductivity_s_m = 3.25e-6;
    cfg.material.interphase = asr.map(|(forward, reverse)| lipf_core::config::Interphase {
        forward_electronic_asr_ohm_m2: forward,
        reverse_electronic_asr_ohm_m2: reverse,
        ionic_asr_ohm_m2: 0.0,
    });
    cfg.validate().unwrap();
    let c = Coefficients::from_config(&cfg);
    let (xi, phi) = slab_fields(&c, li_um, 0.25);
    (cfg, c, xi, phi)
}

/// The steady electronic current density through the slab at collector potential `v`
/// (counter electrode 0, no reaction), A/m², with the interphase's branch taken from the
/// previous solve and repeated until no band cell changes branch; and the number of solves.
pub(crate) fn slab_leakage(c: &Coefficients, xi: &[f64], phi: &[f64], v: f64) -> (f64, usize) {
    use lipf_core::cpu::electronic_assemble::electronic_conductivities;
    let g = c.grid;
    let n = g.cells();
    let zeros = vec![0.0; n];
    // The first assembly sees no bias (forward).
    let mut phi_s = vec![v; n];
    for solves in 1..=6 {
        let mut op = Operator::zeros(g.nx, g.ny);
        let (mut b0, mut b1) = (vec![0.0; n], vec![0.0; n]);
        electronic_assemble(
            c, xi, phi, &phi_s, &zeros, &zeros, &mut op, &mut b0, &mut b1,
        );
        let mut mg = Multigrid::new(g.nx, g.ny, 2);
        mg.setup(&op).unwrap();
        let mut psi = vec![0.0; n];
        let scale: f64 = b1.iter().map(|b| b.abs()).sum();
        assert!(mg.solve(&b1, &mut psi, 1e-12 * scale, 500).converged);
        let new: Vec<f64> = psi.iter().map(|p| v * (1.0 + p)).collect();
        let settled = electronic_conductivities(c, xi, phi, &phi_s)
            == electronic_conductivities(c, xi, phi, &new);
        let i_top = -op.top_outflow(&new) / g.width_m();
        phi_s = new;
        if settled {
            return (i_top, solves);
        }
    }
    panic!("V = {v} V: the interphase's branch did not settle in 6 solves");
}

/// Check 3 (the rectifying interphase): the layer adds its configured area-specific resistance
/// in series, the forward one when electrons leave the electrolyte (collector above the counter
/// electrode), the reverse one when they are pushed into it (below: plating), at two voltages
/// each (ohmic branches). The reference is the same slab with both ASRs 0 (the band without the
/// metal path, as with a layer): the band holds ℓ/Δx = 2 cells per column, each carrying ASR/ℓ
/// over Δx, so the difference of the column resistances is the ASR to the solver's tolerance.
/// 1 % is allowed; the forward/reverse current ratio must match the configured asymmetry in
/// series with the slab to 1 %.
#[test]
fn the_interphase_rectifies_the_leakage_by_its_configured_law() {
    let (r_forward, r_reverse) = (2.0, 100.0);
    let (_, c0, xi, phi) = interphase_slab(Some((0.0, 0.0)));
    let (_, c, _, _) = interphase_slab(Some((r_forward, r_reverse)));
    let band = (0..c.grid.ny)
        .filter(|&j| lipf_core::cpu::electronic_assemble::in_interphase(&c, phi[c.grid.idx(0, j)]))
        .count();
    assert_eq!(band, 2, "band cells per column (ℓ/Δx)");
    let mut currents = Vec::new();
    for v in [0.01, 0.005, -0.005, -0.01] {
        let (i_ref, _) = slab_leakage(&c0, &xi, &phi, v);
        let (i, solves) = slab_leakage(&c, &xi, &phi, v);
        // Column resistances, Ω·m².
        let (r_slab, r) = (-v / i_ref, -v / i);
        let expected = if v > 0.0 { r_forward } else { r_reverse };
        eprintln!(
            "V = {v:+} V: slab {r_slab:.5} Ω·m², with the layer {r:.5} Ω·m²: layer {:.5} Ω·m² \
             against {expected} ({:+.4} %), settled after {solves} solves",
            r - r_slab,
            100.0 * ((r - r_slab) / expected - 1.0)
        );
        assert!(
            ((r - r_slab) / expected - 1.0).abs() < 0.01,
            "V = {v} V: the layer adds {} Ω·m², configured {expected}",
            r - r_slab
        );
        currents.push((i, r_slab));
    }
    let ratio = currents[0].0 / currents[3].0;
    let r_slab = currents[0].1;
    let expected = -(r_slab + r_reverse) / (r_slab + r_forward);
    eprintln!("forward/reverse current at 10 mV: {ratio:.4} (configured law {expected:.4})");
    assert!((ratio / expected - 1.0).abs() < 0.01);
}

/// A pore of radius 2.5 µm in dense LLZO above a Li foil, with a Li disk inside it that rests on
/// the pore's lower wall (ions reach it through the LLZO, room lies above it in the pore). With
/// `column`, a 1.5 µm Li column through the LLZO joins the disk to the foil.
fn island(x: f64, y: f64, ell: f64, column: bool) -> (f64, f64) {
    let foil = inside((y - 4.0) * 1e-6, ell * 1e-6);
    let r_pore = ((x - 4.0).powi(2) + (y - 14.0).powi(2)).sqrt();
    let pore = inside((r_pore - 2.5) * 1e-6, ell * 1e-6);
    let r_disk = ((x - 4.0).powi(2) + (y - 12.6).powi(2)).sqrt();
    let disk = inside((r_disk - 1.2) * 1e-6, ell * 1e-6);
    let col = if column {
        inside(((x - 4.0).abs() - 0.75) * 1e-6, ell * 1e-6) * inside((y - 12.0) * 1e-6, ell * 1e-6)
    } else {
        0.0
    };
    let li = foil.max(disk).max(col);
    let solid = (1.0 - pore) * (1.0 - foil.max(col));
    let phi = solid.min(1.0 - li);
    (li.min(1.0 - phi), phi)
}

/// Change of the Li around the pore (|x − 4| < 3, |y − 14| < 3.5 µm) after 20 s at the collector
/// potential `v`, mol/m².
fn island_response(column: bool, v: f64, sigma_e_el: f64) -> f64 {
    let mut cfg = cell_config(8.0, 24.0, 0.25);
    cfg.control.mode = ControlMode::Potentiostatic;
    // The coupled solve reaches 1e-5 of the current on the smoke and paper cases but stalls
    // near 1e-4 here, where the disk's floating potential meets the stripping kinetics (the
    // block preconditioner's weak spot); 1e-4 of the current is far below the 0.1 % measured.
    cfg.solver.relative_tolerance = 1e-4;
    cfg.control.cell_voltage_v = v;
    cfg.material.electrolyte_electronic_conductivity_s_m = sigma_e_el;
    let mut b = backend_on(&cfg, |x, y, ell| island(x, y, ell, column));
    let c = b.coeffs.clone();
    let region = |x: f64, y: f64| (x - 4.0).abs() < 3.0 && (y - 14.0).abs() < 3.5;
    let before = li_in(&c, b.state(), region);
    b.advance(20.0, &StopFlag::new()).unwrap();
    li_in(&c, b.state(), region) - before
}

/// Check 4: Li that is not electronically connected to the collector floats. Under plating and
/// under stripping, a disk with an ionic path but no electronic one (σ_e,el = 0) changes its Li
/// by < 0.1 % of what the same disk does when a Li column joins it to the foil.
#[test]
fn an_isolated_li_island_neither_plates_nor_strips() {
    for v in [-0.02, 0.02] {
        let connected = island_response(true, v, 3.25e-6);
        let isolated = island_response(false, v, 0.0);
        eprintln!(
            "V = {v} V: Li change at the disk {connected:.4e} mol/m² connected, {isolated:.4e} \
             mol/m² isolated ({:.3e} of it)",
            (isolated / connected).abs()
        );
        assert!(
            connected * v < 0.0,
            "the connected disk must plate at V < 0, strip at V > 0"
        );
        assert!(
            isolated.abs() < 1e-3 * connected.abs(),
            "isolated {isolated:e} vs connected {connected:e} mol/m²"
        );
    }
}

/// A Li foil under a pore 8 µm wide that reaches from the foil up to 14 µm, in dense LLZO.
fn foil_under_pore(x: f64, y: f64, ell: f64) -> (f64, f64) {
    let foil = inside((y - 4.0) * 1e-6, ell * 1e-6);
    let d_pore = ((x - 8.0).abs() - 4.0).max(y - 14.0);
    let pore = inside(d_pore * 1e-6, ell * 1e-6);
    let phi = ((1.0 - pore) * (1.0 - foil)).min(1.0 - foil);
    (foil.min(1.0 - phi), phi)
}

/// Check 5: ions reach the foil under a wide pore only where the pore's LLZO walls meet it. The
/// middle of the Li/vacuum surface, 2.5 µm (5ℓ) and more from the walls, plates < 0.1 % of the
/// deposit of 50 s at 2 A/m².
#[test]
fn a_li_surface_facing_only_vacuum_plates_nothing() {
    let cfg = cell_config(16.0, 24.0, 0.25);
    let mut b = backend_on(&cfg, foil_under_pore);
    let c = b.coeffs.clone();
    let middle = |x: f64, y: f64| (x - 8.0).abs() < 1.5 && y < 14.0;
    let before = li_in(&c, b.state(), middle);
    b.advance(50.0, &StopFlag::new()).unwrap();
    let s = b.state();
    let deposit = li_amount_mol_m2(&c, s) - s.li_amount0_mol_m2;
    let plated_middle = li_in(&c, s, middle) - before;
    eprintln!(
        "deposit {deposit:.4e} mol/m², in the middle of the free surface {plated_middle:.4e} \
         mol/m² ({:.3e} of it)",
        plated_middle / deposit
    );
    assert!(deposit > 0.0);
    assert!(
        plated_middle.abs() < 1e-3 * deposit,
        "the free surface plated {plated_middle:e} of {deposit:e} mol/m²"
    );
}

/// Check 6: ions and electrons each balance. Over a smoke run, nF × (Li gained) equals the charge
/// the ions carried through the counter electrode (total minus electronic leakage), and at the
/// end of every sampled step the current that leaves through the collector equals the current
/// that enters through the counter electrode, ions and electrons together.
#[test]
fn ionic_and_electronic_balances_close() {
    let cfg = smoke();
    assert_eq!(cfg.model.overpotential, OverpotentialForm::TwoPotential);
    let mut b = CpuBackend::new(&cfg).unwrap();
    let c = b.coeffs.clone();
    let g = c.grid;
    let stop = StopFlag::new();
    let mut t = 0.0;
    while t < cfg.time.end_time_s {
        t += 0.25;
        b.advance(t, &stop).unwrap();
        let s = b.state();
        let top = (g.ny - 1) * g.nx;
        let mut i_top = 0.0;
        let mut i_bottom = 0.0;
        for i in 0..g.nx {
            let k = top + i;
            i_top -= 2.0 * cell_conductivity(&c, s.xi[k], s.phi[k]) * s.potential[k];
            i_top -=
                2.0 * electronic_conductivity(&c, s.xi[k], s.phi[k]) * s.electronic_potential[k];
            i_bottom += 2.0
                * electronic_conductivity(&c, s.xi[i], s.phi[i])
                * (s.v_collector - s.electronic_potential[i]);
        }
        let (i_top, i_bottom) = (i_top / g.width_m(), -i_bottom / g.width_m());
        eprintln!("t = {t}: counter {i_top:.9} A/m², collector {i_bottom:.9} A/m²");
        assert!(
            (i_top - i_bottom).abs() < 1e-3 * cfg.control.current_density_a_m2,
            "t = {t}: {i_top} A/m² in, {i_bottom} A/m² out"
        );
    }
    let s = b.state();
    let err = faraday_error(&c, s);
    eprintln!(
        "charge {} C/m², leakage {} C/m², Faraday error {err:e}",
        s.charge_c_m2, s.leakage_charge_c_m2
    );
    assert!(s.leakage_charge_c_m2 > 0.0 && s.leakage_charge_c_m2 < 1e-2 * s.charge_c_m2);
    assert!(err < 5e-3, "Faraday error {err}");
}

/// The interphase in a whole run (the seed 003 pellet with its layer and the Li particle in the
/// void, 20 s at 0.2 mA/cm²): the charge through the counter electrode equals nF times the Li
/// gained, counted over every cell at every ξ (no threshold), and the layer's band holds its ξ
/// exactly (every change of ξ carries charge; the layer passes none).
#[test]
fn the_interphase_keeps_the_faraday_balance_and_holds_its_band() {
    use lipf_core::cpu::electronic_assemble::in_interphase;
    let mut cfg = Config::from_file(&config_path("seed003/llzto-interphase-void.json")).unwrap();
    cfg.time.end_time_s = 20.0;
    let mut b = CpuBackend::new(&cfg).unwrap();
    let c = b.coeffs.clone();
    let s0 = b.state().clone();
    let band: Vec<usize> = (0..s0.cells())
        .filter(|&k| in_interphase(&c, s0.phi[k]))
        .collect();
    assert!(band.len() > 100, "{} band cells", band.len());
    b.advance(cfg.time.end_time_s, &StopFlag::new()).unwrap();
    let s = b.state();
    let err = faraday_error(&c, s);
    eprintln!(
        "interphase pellet, 20 s: {} band cells, Faraday error {err:.2e}, leakage charge {:.3e} C/m²",
        band.len(),
        s.leakage_charge_c_m2
    );
    assert!(err < 1e-4, "Faraday error {err}");
    for &k in &band {
        assert_eq!(s.xi[k], s0.xi[k], "ξ changed in band cell {k}");
    }
}
