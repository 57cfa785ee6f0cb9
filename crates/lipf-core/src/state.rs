//! Everything that defines a run at one instant. A checkpoint is a [`State`]; restoring it and
//! continuing gives bitwise the same result on the CPU backend as never stopping.

use crate::grid::Grid;

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub grid: Grid,
    /// Li order parameter ξ.
    pub xi: Vec<f64>,
    /// LLZO order parameter ϕ (static).
    pub phi: Vec<f64>,
    /// c̃ = c/c0.
    pub conc: Vec<f64>,
    /// Electric potential of the last step, V (ionic potential in the consistent form).
    pub potential: Vec<f64>,
    /// Overpotential of the last step, V: the linearisation point of the next step.
    pub eta: Vec<f64>,
    /// Potential part that does not scale with the collector potential (warm start).
    pub potential0: Vec<f64>,
    /// Response of the potential to a unit collector potential (warm start).
    pub potential1: Vec<f64>,
    /// Collector potential against the counter electrode (= cell voltage), V.
    pub v_collector: f64,
    pub time_s: f64,
    pub step: u64,
    /// Plating current density of the last step, A/m² (positive plates Li).
    pub current_density_a_m2: f64,
    /// ∫ i dt since t = 0, C/m².
    pub charge_c_m2: f64,
    /// Li amount c_s ∫ξ dA / width at t = 0, mol/m².
    pub li_amount0_mol_m2: f64,
    /// Potential-solver iterations of the last step (both solves).
    pub solver_iterations: u64,
    /// Sum of solver iterations since t = 0 (for performance reports).
    pub solver_iterations_total: u64,
}

impl State {
    pub fn cells(&self) -> usize {
        self.grid.cells()
    }
}
