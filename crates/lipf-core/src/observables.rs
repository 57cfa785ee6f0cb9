//! Scalar observables of a state: the time series of every run.

use crate::coefficients::Coefficients;
use crate::cpu::par::sum_rows;
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
    /// c_s ∫ξ dA per unit projected width, mol/m².
    pub li_amount_mol_m2: f64,
    /// ∫ i dt, C/m².
    pub charge_c_m2: f64,
    /// Li inside the scaffold: c_s ∫ ξ [ξ > ½ and ϕ > ½] dA / width, mol/m².
    pub li_in_llzo_mol_m2: f64,
    pub solver_iterations: u64,
}

/// ∫ξ dA per unit width (m), deterministic.
pub fn xi_integral_m(state: &State) -> f64 {
    let g = state.grid;
    let s = sum_rows(g.ny, g.cells(), |j| {
        state.xi[j * g.nx..(j + 1) * g.nx].iter().sum()
    });
    s * g.dx_m * g.dx_m / g.width_m()
}

pub fn li_amount_mol_m2(c: &Coefficients, state: &State) -> f64 {
    c.cs_mol_m3 * xi_integral_m(state)
}

pub fn li_in_llzo_mol_m2(c: &Coefficients, state: &State) -> f64 {
    let g = state.grid;
    let s = sum_rows(g.ny, g.cells(), |j| {
        (j * g.nx..(j + 1) * g.nx)
            .filter(|&k| state.xi[k] > 0.5 && state.phi[k] > 0.5)
            .map(|k| state.xi[k])
            .sum()
    });
    c.cs_mol_m3 * s * g.dx_m * g.dx_m / g.width_m()
}

pub fn scalars(c: &Coefficients, state: &State) -> Scalars {
    Scalars {
        time_s: state.time_s,
        step: state.step,
        current_density_a_m2: state.current_density_a_m2,
        cell_voltage_v: state.v_collector,
        li_amount_mol_m2: li_amount_mol_m2(c, state),
        charge_c_m2: state.charge_c_m2,
        li_in_llzo_mol_m2: li_in_llzo_mol_m2(c, state),
        solver_iterations: state.solver_iterations,
    }
}

/// Relative Faraday error |nF Δli − Q| / |Q| between t = 0 and the state.
pub fn faraday_error(c: &Coefficients, state: &State) -> f64 {
    let dli = li_amount_mol_m2(c, state) - state.li_amount0_mol_m2;
    let q = state.charge_c_m2;
    if q == 0.0 {
        return 0.0;
    }
    ((c.nf_c_mol * dli - q) / q).abs()
}
