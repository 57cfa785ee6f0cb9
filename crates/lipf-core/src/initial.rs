//! The initial state of a run, built once and outside the backends: configuration →
//! coefficients → geometry → reaction-free relaxation of the profiles → optional noise. Every
//! backend is then constructed from a [`State`] (this one, or a checkpoint's).

use crate::backend::SimulationError;
use crate::coefficients::Coefficients;
use crate::config::{Config, ControlMode};
use crate::cpu::xi_rate::{xi_rate, XiRateParams};
use crate::cpu::xi_update::xi_update;
use crate::geometry::{self, GeometryInfo};
use crate::observables;
use crate::state::State;
use rand::{Rng, SeedableRng};

/// The state at t = 0 and the scaffold it was built on.
pub struct Initial {
    pub state: State,
    pub geometry: GeometryInfo,
}

/// Builds the initial state of `config`: the geometry's ξ, ϕ, c̃; ξ relaxed without reaction
/// for `model.equilibration_time_s` (time is not advanced); the initial noise on ξ in the
/// interface cells; the Li amount at t = 0.
pub fn initial_state(config: &Config) -> Result<Initial, SimulationError> {
    config
        .require_runnable()
        .map_err(|e| SimulationError::Unsupported(e.to_string()))?;
    let coeffs = Coefficients::from_config(config);
    let grid = coeffs.grid;
    let init = geometry::build(config, &grid, coeffs.ell_m);
    let mut state = State {
        xi: init.xi,
        phi: init.phi,
        conc: init.conc,
        v_collector: match config.control.mode {
            ControlMode::Galvanostatic => 0.0,
            ControlMode::Potentiostatic => config.control.cell_voltage_v,
        },
        ..State::zeros(grid)
    };
    equilibrate(
        config,
        &coeffs,
        &mut state,
        config.model.equilibration_time_s,
    )?;
    if config.noise.amplitude > 0.0 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(config.noise.seed);
        for x in state.xi.iter_mut() {
            let u: f64 = rng.gen_range(-1.0..1.0);
            *x = (*x + config.noise.amplitude * u * 4.0 * *x * (1.0 - *x)).clamp(0.0, 1.0);
        }
    }
    if coeffs.overpotential == crate::config::OverpotentialForm::TwoPotential {
        // Warm starts of the first solve: the electronic potential at the collector potential
        // (exact in the metal), the response to it 1. Starting from 0 would put the metal's
        // conductance times V into the first residual, 10¹² times the tolerance.
        state.electronic_potential.fill(state.v_collector);
        state.electronic_potential1.fill(1.0);
        state.potential1.fill(1.0);
    }
    state.li_amount0_mol_m2 = observables::li_amount_mol_m2(&coeffs, &state);
    Ok(Initial {
        state,
        geometry: init.info,
    })
}

/// Reaction-free Allen–Cahn relaxation of ξ for `duration_s` at the explicit step limit (the
/// time of the state is not advanced), then the range check.
pub fn equilibrate(
    config: &Config,
    coeffs: &Coefficients,
    state: &mut State,
    duration_s: f64,
) -> Result<(), SimulationError> {
    let mut p = XiRateParams::new(coeffs, false);
    // Explicit in the gradient term whatever the run does (`model.allen_cahn_gradient`), so the
    // state at t = 0 is the same for both.
    let dt_max = config.time.stability_safety * coeffs.dt_update_limit_s(true);
    let steps = (duration_s / dt_max).ceil() as u64;
    let dt = if steps > 0 {
        duration_s / steps as f64
    } else {
        0.0
    };
    if coeffs.implicit_obstacle {
        p.obstacle_step_s = dt;
    }
    let n = state.grid.cells();
    let (mut a, mut g) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..steps {
        let s = &*state;
        xi_rate(&p, &s.xi, &s.phi, &s.conc, &s.eta, &mut a, &mut g);
        xi_update(state.grid.nx, dt, &a, None, &mut state.xi);
    }
    crate::cpu_backend::check_field_ranges(state)
}
