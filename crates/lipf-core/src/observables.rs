//! Scalar observables of a state: the time series of every run.

use crate::coefficients::Coefficients;
pub use crate::cpu::observables::excess_li;
use crate::cpu::observables::{excess_sum, xi_sum};
use crate::state::State;
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Scalars {
    pub time_s: f64,
    pub step: u64,
    /// Plating current density through the top boundary, A/m².
    pub current_density_a_m2: f64,
    /// Collector potential against the counter electrode, V.
    pub cell_voltage_v: f64,
    /// c_s ∫ξ dA per unit projected width, mol/m², plus the Li that creep moved through the
    /// collector (`li_extruded_m`).
    pub li_amount_mol_m2: f64,
    /// ∫ i dt, C/m².
    pub charge_c_m2: f64,
    /// Li inside the electrolyte, at any ξ: c_s ∫ (ξ + ϕ − 1)₊ dA / width, mol/m²
    /// ([`li_in_electrolyte_mol_m2`]).
    pub li_in_electrolyte_mol_m2: f64,
    pub solver_iterations: u64,
    /// Electrons that leak through the electrolyte to the counter electrode, A/m² (part of
    /// `current_density_a_m2`; they plate nothing).
    pub leakage_current_density_a_m2: f64,
}

/// ∫ξ dA per unit width (m), deterministic (the cell sum of [`crate::cpu::observables`]).
pub fn xi_integral_m(state: &State) -> f64 {
    let g = state.grid;
    xi_sum(g.nx, &state.xi) * g.dx_m * g.dx_m / g.collector_m()
}

/// c_s (∫ξ dA / width + the Li that creep moved through the collector), mol/m².
pub fn li_amount_mol_m2(c: &Coefficients, state: &State) -> f64 {
    c.cs_mol_m3 * (xi_integral_m(state) + state.li_extruded_m)
}

/// Li inside the electrolyte: c_s ∫ (ξ + ϕ − 1)₊ dA per unit width, mol/m². Li and LLZO share a
/// cell only as far as the two volume fractions fit, ξ + ϕ ≤ 1 (the builder makes every contact
/// so, ξ = min(ξ_Li, 1 − ϕ)); what exceeds it is Li where the scaffold leaves no room. Counted at
/// every ξ, without a threshold: a cell of LLZO (ϕ = 1) holding ξ = 0.01 adds 0.01. A liquid
/// electrolyte leaves the Li the whole cell (§9.12): there it counts ξ beyond 1.
pub fn li_in_electrolyte_mol_m2(c: &Coefficients, state: &State) -> f64 {
    let g = state.grid;
    let s = excess_sum(g.nx, &state.xi, &state.phi, 1.0 - c.liquid());
    c.cs_mol_m3 * s * g.dx_m * g.dx_m / g.collector_m()
}

pub fn scalars(c: &Coefficients, state: &State) -> Scalars {
    Scalars {
        time_s: state.time_s,
        step: state.step,
        current_density_a_m2: state.current_density_a_m2,
        cell_voltage_v: state.v_collector,
        li_amount_mol_m2: li_amount_mol_m2(c, state),
        charge_c_m2: state.charge_c_m2,
        li_in_electrolyte_mol_m2: li_in_electrolyte_mol_m2(c, state),
        solver_iterations: state.solver_iterations,
        leakage_current_density_a_m2: state.leakage_current_density_a_m2,
    }
}

/// Relative Faraday error |nF Δli − Q_ion| / max(|Q_ion|, ∫|i_ion| dt) between t = 0 and the
/// state, with Q_ion = Q − Q_leak the charge that ions carried through the counter electrode.
/// The denominator is |Q_ion| under a current of one sign, and the ionic throughput when a
/// protocol changes the sign (a full cycle's net charge is near zero).
pub fn faraday_error(c: &Coefficients, state: &State) -> f64 {
    let dli = li_amount_mol_m2(c, state) - state.li_amount0_mol_m2;
    let q = state.charge_c_m2 - state.leakage_charge_c_m2;
    let scale = q.abs().max(state.ionic_throughput_c_m2);
    if scale == 0.0 {
        return 0.0;
    }
    ((c.nf_c_mol * dli - q) / scale).abs()
}
