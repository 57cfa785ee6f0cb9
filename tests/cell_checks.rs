//! docs/models/phase-field.md §13.5–§13.7 (checks 5–7) and the §12 hazards on whole runs of the
//! CPU backend.

use lipf_core::observables::{faraday_error, li_amount_mol_m2, li_in_electrolyte_mol_m2};
use lipf_core::{Backend, Config, CpuBackend, StopFlag};
use std::path::PathBuf;

pub fn config_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("configs")
        .join(rel)
}

pub fn smoke() -> Config {
    Config::from_file(&config_path("smoke.json")).expect("configs/smoke.json is valid")
}

fn run_to(config: &Config, t: f64) -> CpuBackend {
    let mut b = CpuBackend::new(config).expect("initial state");
    b.advance(t, &StopFlag::new()).expect("run succeeds");
    b
}

#[test]
fn faraday_balance_holds_within_half_percent_on_smoke_case() {
    let cfg = smoke();
    let mut b = run_to(&cfg, cfg.time.end_time_s);
    let c = b.coeffs.clone();
    let err = faraday_error(&c, b.state());
    let q = b.state().charge_c_m2;
    eprintln!("charge {q} C/m², Faraday error {err:e}");
    assert!(q > 0.9 * 2.0 * cfg.time.end_time_s, "charge {q}");
    assert!(err < 5e-3, "Faraday balance error {err}");
}

#[test]
fn galvanostatic_current_stays_within_one_percent_of_target() {
    let cfg = smoke();
    let mut b = CpuBackend::new(&cfg).unwrap();
    let stop = StopFlag::new();
    let target = cfg.control.current_density_a_m2;
    let mut t = 0.0;
    while t < cfg.time.end_time_s {
        t += 0.1;
        b.advance(t, &stop).unwrap();
        let i = b.state().current_density_a_m2;
        assert!((i - target).abs() < 0.01 * target, "t = {t}: i = {i} A/m²");
    }
}

/// Li pressed into cells without room (ξ + ϕ > 1) over 20 s of the smoke case, as a share of the
/// deposit: the obstacle B (ξ + ϕ − 1)₊² is a stiff penalty, so the compressed Li falls as 1/B
/// (measured 6.0 % at the default B = 1000 W1, 0.60 % at 1e4 W1); the contact keeps it, the rest
/// of the deposit goes where there is room.
fn compressed_li_share(b_over_w1: f64) -> f64 {
    let mut cfg = smoke();
    cfg.time.end_time_s = 20.0;
    cfg.model.scaffold_obstacle_over_w1 = b_over_w1;
    let mut b = CpuBackend::new(&cfg).unwrap();
    let c = b.coeffs.clone();
    let before = li_in_electrolyte_mol_m2(&c, b.state());
    b.advance(cfg.time.end_time_s, &StopFlag::new()).unwrap();
    let s = b.state();
    let deposited = li_amount_mol_m2(&c, s) - s.li_amount0_mol_m2;
    let inside = li_in_electrolyte_mol_m2(&c, s) - before;
    eprintln!("B = {b_over_w1} W1: deposited {deposited:e} mol/m², in the electrolyte {inside:e}");
    assert!(deposited > 0.0);
    inside / deposited
}

#[test]
fn li_pressed_into_the_scaffold_vanishes_as_the_obstacle_stiffens() {
    let base = compressed_li_share(1000.0);
    let stiff = compressed_li_share(10000.0);
    assert!(base < 0.1, "{base}");
    assert!(
        (7.0..13.0).contains(&(base / stiff)),
        "compressed share {base} at B = 1000 W1, {stiff} at 1e4 W1: not ∝ 1/B"
    );
}

/// Cell voltage and Li amount after a short smoke run with a modified configuration.
fn smoke_response(modify: impl Fn(&mut Config)) -> (f64, f64) {
    let mut cfg = smoke();
    cfg.time.end_time_s = 1.0;
    modify(&mut cfg);
    let mut b = run_to(&cfg, 1.0);
    let c = b.coeffs.clone();
    let s = b.state();
    (s.v_collector, li_amount_mol_m2(&c, s) - s.li_amount0_mol_m2)
}

#[test]
fn results_move_less_than_one_percent_when_pore_floor_changes_tenfold() {
    let base = smoke_response(|_| {});
    let f = smoke().model.pore_conductivity_floor;
    for factor in [0.1, 10.0] {
        let r = smoke_response(|c| c.model.pore_conductivity_floor = f * factor);
        let dv = ((r.0 - base.0) / base.0).abs();
        let dli = ((r.1 - base.1) / base.1).abs();
        eprintln!("floor × {factor}: ΔV/V = {dv:e}, Δli/li = {dli:e}");
        assert!(dv < 0.01 && dli < 0.01, "floor × {factor}: {dv} {dli}");
    }
}

/// Known failure: in the single-potential form the cell voltage still moves 10 % when the cap
/// drops from 1e6 to 1e5 σ_p (38 % from 1e4 to 1e3); the Li amount moves < 1e-4.
#[test]
#[ignore = "known gap: single-potential voltage not yet insensitive to the metal cap (docs/models/phase-field.md §6)"]
fn single_potential_results_move_less_than_one_percent_when_metal_cap_changes_tenfold() {
    use lipf_core::config::OverpotentialForm::SinglePotential;
    let base = smoke_response(|c| c.model.overpotential = SinglePotential);
    let cap = smoke().model.metal_conductivity_cap;
    for factor in [0.1, 10.0] {
        let r = smoke_response(|c| {
            c.model.overpotential = SinglePotential;
            c.model.metal_conductivity_cap = cap * factor;
        });
        let dv = ((r.0 - base.0) / base.0).abs();
        let dli = ((r.1 - base.1) / base.1).abs();
        eprintln!("cap × {factor}: ΔV/V = {dv:e}, Δli/li = {dli:e}");
        assert!(dv < 0.01 && dli < 0.01, "cap × {factor}: {dv} {dli}");
    }
}

/// The default (consistent) form: the metal is equipotential, so its conductivity cap must not
/// matter. Both the cell voltage and the Li amount move < 1 % for a cap ×0.1 and ×10.
#[test]
fn consistent_results_move_less_than_one_percent_when_metal_cap_changes_tenfold() {
    let base = smoke_response(|_| {});
    let cap = smoke().model.metal_conductivity_cap;
    for factor in [0.1, 10.0] {
        let r = smoke_response(|c| c.model.metal_conductivity_cap = cap * factor);
        let dv = ((r.0 - base.0) / base.0).abs();
        let dli = ((r.1 - base.1) / base.1).abs();
        eprintln!("cap × {factor}: ΔV/V = {dv:e}, Δli/li = {dli:e}");
        assert!(dv < 0.01 && dli < 0.01, "cap × {factor}: {dv} {dli}");
    }
}

/// The flat cell's |V| at its configured current, η_ct(i) + iL/σ_p with
/// η_ct = (2RT/nF) asinh(i/(2 i0)) (α = β = ½, c̃ = 1; docs/models/phase-field.md §13.7), V.
pub(crate) fn flat_cell_expected_v(cfg: &Config, c: &lipf_core::Coefficients) -> f64 {
    let i = cfg.control.current_density_a_m2;
    let l = (cfg.domain.height_um - cfg.geometry.li_foil_thickness_um) * 1e-6;
    let eta_ct = 2.0 / c.f_over_rt_per_v * (i / (2.0 * c.exchange_current_density_a_m2)).asinh();
    eta_ct + i * l / c.sigma_p_s_m
}

/// |V| of the flat cell after `t` s against η_ct + iL/σ_p (docs/models/phase-field.md §13.7): a
/// 6 µm Li layer under 43 µm of dense LLZO at 2 A/m².
fn flat_cell_voltage(modify: impl Fn(&mut Config), t: f64) -> (f64, f64) {
    let mut cfg = Config::from_file(&config_path("flat-cell.json")).unwrap();
    modify(&mut cfg);
    let mut b = run_to(&cfg, t);
    let expected = flat_cell_expected_v(&cfg, &b.coeffs);
    let v = b.state().v_collector.abs();
    eprintln!("t = {t} s: |V| = {v} V, expected {expected} V");
    (v, expected)
}

/// The two-potential form at its first step (0.01 s), from the contact the builder makes
/// (ξ + ϕ = 1, no relaxation before t = 0): measured 7.73 mV against 7.62 mV. A dense flat
/// contact has no room for Li, so what it takes is pressed against the obstacle and |V| rises
/// from there (the next test).
#[test]
fn flat_cell_voltage_is_charge_transfer_plus_ohmic_drop() {
    let (v, expected) = flat_cell_voltage(|c| c.model.equilibration_time_s = 0.0, 0.01);
    assert!(
        (v - expected).abs() < 0.02 * expected,
        "|V| = {v} V, expected {expected} V"
    );
}

/// The first-step flat-cell voltage converges to η_ct + iL/σ_p as the interface narrows
/// (ℓ = 2Δx): measured 1.8 %, 1.4 %, 1.0 % above it at ℓ = 1, 0.5, 0.25 µm. The excess is the part
/// of the diffuse reaction zone that ions reach only through the thinning LLZO side of the
/// contact (σ_l = σ_p h(ϕ)); it shrinks with ℓ.
#[test]
fn flat_cell_voltage_converges_as_the_interface_narrows() {
    let errors: Vec<f64> = [1.0, 0.5, 0.25]
        .iter()
        .map(|&ell| {
            let (v, expected) = flat_cell_voltage(
                |c| {
                    c.model.equilibration_time_s = 0.0;
                    c.model.interface_half_width_um = Some(ell);
                    c.domain.grid_spacing_um = ell / 2.0;
                },
                0.01,
            );
            v / expected - 1.0
        })
        .collect();
    eprintln!("relative excess of |V| at ℓ = 1, 0.5, 0.25 µm: {errors:?}");
    assert!(errors.iter().all(|e| (0.0..0.02).contains(e)), "{errors:?}");
    assert!(errors[0] > errors[1] && errors[1] > errors[2], "{errors:?}");
}

/// Without creep the two-potential form's flat contact has no room for the Li it plates; its
/// pressure opposes plating and |V| rises (7.82 mV after the default 0.5 s of relaxation, 80 mV
/// at 10 s). With the metal creeping through the open collector (docs/models/phase-field.md
/// §9.10) it holds: measured 7.73 mV against 7.62 mV at 10 s. The creep-free run must fail the
/// same bound, or the check would not be about creep.
#[test]
fn flat_cell_voltage_holds_for_ten_seconds_with_creep_and_not_without() {
    let (v, expected) = flat_cell_voltage(|c| c.creep.enabled = true, 10.0);
    assert!(
        (v - expected).abs() < 0.02 * expected,
        "with creep: |V| = {v} V, expected {expected} V"
    );
    let (v0, _) = flat_cell_voltage(|_| {}, 10.0);
    assert!(
        v0 > 2.0 * expected,
        "without creep |V| = {v0} V: the contact was expected to lock (> {} V)",
        2.0 * expected
    );
}

/// The consistent form (a flat contact there takes ~0.3 cell of plating before it locks):
/// measured 7.59 mV against 7.62 mV after 10 s.
#[test]
fn consistent_flat_cell_voltage_is_charge_transfer_plus_ohmic_drop() {
    use lipf_core::config::OverpotentialForm::Consistent;
    let (v, expected) = flat_cell_voltage(
        |c| {
            c.model.overpotential = Consistent;
            c.model.scaffold_obstacle_over_w1 = 100.0;
        },
        10.0,
    );
    assert!(
        (v - expected).abs() < 0.02 * expected,
        "|V| = {v} V, expected {expected} V"
    );
}
