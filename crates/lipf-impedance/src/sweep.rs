//! The frequency sweep: solve the network at every frequency and form Z = V/I.

use crate::network::Network;
use crate::solver::{FrequencySolver, FrequencySystem, SolveStats, SolverError};
use num_complex::Complex64 as C64;
use std::time::Instant;

/// An impedance spectrum: Z(f), Ω, with Im Z < 0 for capacitive behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    pub f_hz: Vec<f64>,
    pub z: Vec<C64>,
}

impl Spectrum {
    pub fn new(f_hz: Vec<f64>, z: Vec<C64>) -> Spectrum {
        assert_eq!(f_hz.len(), z.len());
        Spectrum { f_hz, z }
    }

    pub fn len(&self) -> usize {
        self.f_hz.len()
    }

    pub fn is_empty(&self) -> bool {
        self.f_hz.is_empty()
    }

    pub fn omega(&self, k: usize) -> f64 {
        2.0 * std::f64::consts::PI * self.f_hz[k]
    }

    /// Index of the lowest frequency.
    pub fn lowest(&self) -> usize {
        (0..self.len())
            .min_by(|&a, &b| self.f_hz[a].total_cmp(&self.f_hz[b]))
            .unwrap_or(0)
    }

    pub fn highest(&self) -> usize {
        (0..self.len())
            .max_by(|&a, &b| self.f_hz[a].total_cmp(&self.f_hz[b]))
            .unwrap_or(0)
    }
}

/// Per-frequency solver statistics and timing of a sweep.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SweepReport {
    pub solver: String,
    pub seconds_total: f64,
    pub iterations: Vec<usize>,
    pub relative_residual: Vec<f64>,
    /// |I_WE − I_CE| / |I_WE| per frequency (charge conservation of the solution).
    pub current_balance: Vec<f64>,
}

/// Solves the network at every frequency in `f_hz` (in the given order; each solve starts from
/// the previous solution) and returns Z(f) = 1 V / I_WE.
pub fn sweep(
    net: &Network,
    f_hz: &[f64],
    solver: &mut dyn FrequencySolver,
    mut progress: impl FnMut(usize, f64, &SolveStats),
) -> Result<(Spectrum, SweepReport), SolverError> {
    let t0 = Instant::now();
    let mut v = vec![C64::new(0.0, 0.0); net.n];
    let mut z = Vec::with_capacity(f_hz.len());
    let mut report = SweepReport {
        solver: solver.name(),
        seconds_total: 0.0,
        iterations: vec![],
        relative_residual: vec![],
        current_balance: vec![],
    };
    for (k, &f) in f_hz.iter().enumerate() {
        let omega = 2.0 * std::f64::consts::PI * f;
        let y = net.bond_admittances(omega);
        let (val, rhs) = net.assemble(&y);
        let sys = FrequencySystem {
            network: net,
            omega,
            bond_y: &y,
            val: &val,
            rhs: &rhs,
        };
        let stats = solver.solve(&sys, &mut v)?;
        let i_we = net.we_current(&y, &v);
        let i_ce = net.ce_current(&y, &v);
        z.push(i_we.inv());
        report.iterations.push(stats.iterations);
        report.relative_residual.push(stats.relative_residual);
        report
            .current_balance
            .push((i_we - i_ce).norm() / i_we.norm());
        progress(k, f, &stats);
    }
    report.seconds_total = t0.elapsed().as_secs_f64();
    Ok((Spectrum::new(f_hz.to_vec(), z), report))
}
