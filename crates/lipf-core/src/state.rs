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
    /// Electronic potential φ_s of the last step, V (two-potential form; zero otherwise).
    pub electronic_potential: Vec<f64>,
    /// Electronic part of the zero-collector-potential solve (warm start, two-potential form).
    pub electronic_potential0: Vec<f64>,
    /// Electronic part of the unit-collector-potential response (warm start).
    pub electronic_potential1: Vec<f64>,
    /// Collector potential against the counter electrode (= cell voltage), V.
    pub v_collector: f64,
    pub time_s: f64,
    pub step: u64,
    /// Plating current density of the last step, A/m² (positive plates Li).
    pub current_density_a_m2: f64,
    /// ∫ i dt since t = 0, C/m² (ions and electrons through the counter electrode).
    pub charge_c_m2: f64,
    /// Electronic part of the current through the counter electrode, A/m²: electrons that leak
    /// through the electrolyte and plate nothing (two-potential form).
    pub leakage_current_density_a_m2: f64,
    /// ∫ leakage current dt since t = 0, C/m².
    pub leakage_charge_c_m2: f64,
    /// ∫ |ionic current| dt since t = 0 (ionic: the current minus the leakage), C/m²: the
    /// charge the ions moved whichever way, the scale of the Faraday error under a protocol
    /// whose net charge returns to zero.
    pub ionic_throughput_c_m2: f64,
    /// Li amount c_s ∫ξ dA / width at t = 0, mol/m².
    pub li_amount0_mol_m2: f64,
    /// Li volume per unit width that creep moved through the current collector since t = 0, m
    /// (the anode's thickening beyond the domain; negative when it thinned). Part of the Li
    /// amount. Zero without creep or with a closed collector.
    pub li_extruded_m: f64,
    /// Potential-solver iterations of the last step (both solves).
    pub solver_iterations: u64,
    /// Sum of solver iterations since t = 0 (for performance reports).
    pub solver_iterations_total: u64,
}

impl State {
    /// A state on `grid` with every field and scalar zero (ξ = ϕ = c̃ = 0): the blank the
    /// builders fill in.
    pub fn zeros(grid: Grid) -> State {
        let n = grid.cells();
        State {
            grid,
            xi: vec![0.0; n],
            phi: vec![0.0; n],
            conc: vec![0.0; n],
            potential: vec![0.0; n],
            eta: vec![0.0; n],
            potential0: vec![0.0; n],
            potential1: vec![0.0; n],
            electronic_potential: vec![0.0; n],
            electronic_potential0: vec![0.0; n],
            electronic_potential1: vec![0.0; n],
            v_collector: 0.0,
            time_s: 0.0,
            step: 0,
            current_density_a_m2: 0.0,
            charge_c_m2: 0.0,
            leakage_current_density_a_m2: 0.0,
            leakage_charge_c_m2: 0.0,
            ionic_throughput_c_m2: 0.0,
            li_amount0_mol_m2: 0.0,
            li_extruded_m: 0.0,
            solver_iterations: 0,
            solver_iterations_total: 0,
        }
    }

    /// The x–y section k of a 3D state as a 2D state (nz = 1): its fields' section, the same
    /// scalars. The pictures and the morphology of a 3D run are those of a section. A 2D state
    /// is its own section 0.
    pub fn section(&self, k: usize) -> State {
        let g = self.grid;
        assert!(k < g.nz, "section {k} of a grid of {} sections", g.nz);
        let part = |v: &Vec<f64>| v[k * g.section_cells()..(k + 1) * g.section_cells()].to_vec();
        State {
            grid: Grid::new(g.nx, g.ny, g.dx_m),
            xi: part(&self.xi),
            phi: part(&self.phi),
            conc: part(&self.conc),
            potential: part(&self.potential),
            eta: part(&self.eta),
            potential0: part(&self.potential0),
            potential1: part(&self.potential1),
            electronic_potential: part(&self.electronic_potential),
            electronic_potential0: part(&self.electronic_potential0),
            electronic_potential1: part(&self.electronic_potential1),
            ..*self
        }
    }

    pub fn cells(&self) -> usize {
        self.grid.cells()
    }
}

/// Why a state (a checkpoint) cannot be used with a configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StateError {
    #[error(
        "the checkpoint's grid ({nx} × {ny} × {nz} cells of {dx_um} µm) differs from the \
         configuration's ({cnx} × {cny} × {cnz} cells of {cdx_um} µm)"
    )]
    GridMismatch {
        nx: usize,
        ny: usize,
        nz: usize,
        dx_um: f64,
        cnx: usize,
        cnz: usize,
        cny: usize,
        cdx_um: f64,
    },
    #[error("the checkpoint's field `{field}` holds {len} values, the grid {cells}")]
    Length {
        field: &'static str,
        len: usize,
        cells: usize,
    },
    #[error(
        "the checkpoint's field `{field}` = {value} at cell (i = {i}, j = {j}) is {reason} \
         (allowed: {allowed})"
    )]
    Field {
        field: &'static str,
        value: f64,
        i: usize,
        j: usize,
        reason: &'static str,
        allowed: String,
    },
    #[error("the checkpoint's `{field}` = {value} is {reason} (allowed: {allowed})")]
    Scalar {
        field: &'static str,
        value: f64,
        reason: &'static str,
        allowed: String,
    },
}

/// Admissible range of ϕ (built from a tanh profile, so within [0, 1] up to rounding).
pub const PHI_MIN: f64 = -1e-6;
pub const PHI_MAX: f64 = 1.0 + 1e-6;

impl State {
    /// Checks a state read from a checkpoint before a run continues from it: [`Self::validate`]
    /// and the time lies in [0, end time) (NaN would never reach the end, a negative time would
    /// discard earlier outputs, a time at the end has nothing left to do).
    pub fn validate_resume(&self, config: &crate::config::Config) -> Result<(), StateError> {
        self.validate(config)?;
        let end = config.time.end_time_s;
        if !(self.time_s.is_finite() && self.time_s >= 0.0) {
            return Err(StateError::Scalar {
                field: "time_s",
                value: self.time_s,
                reason: "not a time of the run",
                allowed: format!("[0, {end}) s"),
            });
        }
        if self.time_s >= end {
            return Err(StateError::Scalar {
                field: "time_s",
                value: self.time_s,
                reason: "at or past the end time: the run is complete (to extend it, raise \
                         time.end_time_s)",
                allowed: format!("[0, {end}) s"),
            });
        }
        Ok(())
    }

    /// Checks a state before a backend takes it: the grid matches the configuration's, every
    /// field has one finite value per cell within its admissible range (the ranges the time
    /// stepper enforces), and the scalars are finite.
    pub fn validate(&self, config: &crate::config::Config) -> Result<(), StateError> {
        use crate::cpu_backend::{CONC_MIN, XI_MAX, XI_MIN};
        let g = self.grid;
        let (cnx, cny, cnz) = (config.nx(), config.ny(), config.nz());
        let cdx_m = crate::units::um_to_m(config.domain.grid_spacing_um);
        if g.nx != cnx || g.ny != cny || g.nz != cnz || (g.dx_m - cdx_m).abs() > 1e-9 * cdx_m {
            return Err(StateError::GridMismatch {
                nx: g.nx,
                ny: g.ny,
                nz: g.nz,
                dx_um: crate::units::m_to_um(g.dx_m),
                cnx,
                cnz,
                cny,
                cdx_um: config.domain.grid_spacing_um,
            });
        }
        let cells = g.cells();
        let inf = f64::INFINITY;
        let fields: [(&'static str, &Vec<f64>, f64, f64); 10] = [
            ("xi", &self.xi, XI_MIN, XI_MAX),
            ("phi", &self.phi, PHI_MIN, PHI_MAX),
            ("c", &self.conc, CONC_MIN, inf),
            ("potential", &self.potential, -inf, inf),
            ("eta", &self.eta, -inf, inf),
            ("potential0", &self.potential0, -inf, inf),
            ("potential1", &self.potential1, -inf, inf),
            (
                "electronic_potential",
                &self.electronic_potential,
                -inf,
                inf,
            ),
            (
                "electronic_potential0",
                &self.electronic_potential0,
                -inf,
                inf,
            ),
            (
                "electronic_potential1",
                &self.electronic_potential1,
                -inf,
                inf,
            ),
        ];
        for (field, f, lo, hi) in fields {
            if f.len() != cells {
                return Err(StateError::Length {
                    field,
                    len: f.len(),
                    cells,
                });
            }
            if let Some((k, &value)) = f
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= lo && **v <= hi))
            {
                return Err(StateError::Field {
                    field,
                    value,
                    i: k % g.nx,
                    j: k / g.nx,
                    reason: if value.is_finite() {
                        "outside the admissible range"
                    } else {
                        "not a finite number"
                    },
                    allowed: range_text(lo, hi),
                });
            }
        }
        for (field, value) in [
            ("time_s", self.time_s),
            ("v_collector", self.v_collector),
            ("current_density_a_m2", self.current_density_a_m2),
            ("charge_c_m2", self.charge_c_m2),
            (
                "leakage_current_density_a_m2",
                self.leakage_current_density_a_m2,
            ),
            ("leakage_charge_c_m2", self.leakage_charge_c_m2),
            ("ionic_throughput_c_m2", self.ionic_throughput_c_m2),
            ("li_amount0_mol_m2", self.li_amount0_mol_m2),
            ("li_extruded_m", self.li_extruded_m),
        ] {
            if !value.is_finite() {
                return Err(StateError::Scalar {
                    field,
                    value,
                    reason: "not a finite number",
                    allowed: "finite".into(),
                });
            }
        }
        Ok(())
    }
}

fn range_text(lo: f64, hi: f64) -> String {
    match (lo.is_finite(), hi.is_finite()) {
        (true, true) => format!("[{lo}, {hi}]"),
        (true, false) => format!("≥ {lo}"),
        (false, true) => format!("≤ {hi}"),
        (false, false) => "finite".into(),
    }
}
