//! The frequency sweep: solve the network at every frequency and form Z = V/I.

use crate::network::Network;
use crate::solver::{FrequencySolver, FrequencySystem, SolveStats, SolverError};
use num_complex::Complex64 as C64;
use std::time::{Duration, Instant};

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

impl Spectrum {
    /// Checks that the spectrum can be analysed: at least 3 frequencies, every frequency finite
    /// and > 0, not all the same, every Z finite and non-zero (the analyses weight by 1/|Z| and
    /// the outputs show log |Z|). The error names the first offending point (0-based, in the
    /// spectrum's order).
    pub fn validate(&self) -> Result<(), String> {
        if self.f_hz.len() != self.z.len() {
            return Err(format!(
                "{} frequencies but {} impedances",
                self.f_hz.len(),
                self.z.len()
            ));
        }
        if self.len() < 3 {
            return Err(format!(
                "a spectrum needs at least 3 frequencies, found {}",
                self.len()
            ));
        }
        for (k, (&f, z)) in self.f_hz.iter().zip(&self.z).enumerate() {
            if !(f.is_finite() && f > 0.0) {
                return Err(format!(
                    "point {k}: frequency {f} Hz must be finite and > 0"
                ));
            }
            if !(z.re.is_finite() && z.im.is_finite()) {
                return Err(format!("point {k} ({f} Hz): Z = {z} Ω is not finite"));
            }
            if z.norm() == 0.0 {
                return Err(format!(
                    "point {k} ({f} Hz): Z = 0 Ω; the analyses weight by 1/|Z| and plot log |Z|, \
                     so a spectrum must not contain Z = 0"
                ));
            }
        }
        let f_lo = self.f_hz[self.lowest()];
        let f_hi = self.f_hz[self.highest()];
        if f_hi <= f_lo {
            return Err(format!(
                "every point has the same frequency {f_lo} Hz: a spectrum needs a frequency range"
            ));
        }
        Ok(())
    }
}

/// Most frequencies the analyses (Kramers–Kronig test, DRT, fit) take: their cost grows with
/// the cube of the number of frequencies.
pub const MAX_ANALYSIS_FREQUENCIES: usize = 1000;

/// Checks that a spectrum of `n` frequencies can be analysed in reasonable time and memory.
pub fn check_analysis_size(n: f64) -> Result<(), String> {
    if n > MAX_ANALYSIS_FREQUENCIES as f64 {
        return Err(format!(
            "{n:.0} frequencies: the analyses (Kramers–Kronig test, DRT, fit) take at most \
             {MAX_ANALYSIS_FREQUENCIES} (their cost grows with the cube of the count); lower the \
             points per decade or narrow the frequency range"
        ));
    }
    Ok(())
}

/// Decides when a progress line is due where progress cannot be redrawn in place (a log file):
/// the first and the last step always, otherwise at most once per `interval`.
#[derive(Debug, Clone)]
pub struct ProgressGate {
    pub interval: Duration,
    last: Option<Instant>,
}

impl ProgressGate {
    pub fn new(interval: Duration) -> ProgressGate {
        ProgressGate {
            interval,
            last: None,
        }
    }

    /// Whether to print step `k` of `n` (0-based) at time `now`; records the time if so.
    pub fn due(&mut self, k: usize, n: usize, now: Instant) -> bool {
        let due = match self.last {
            None => true,
            Some(t) => k + 1 >= n || now.saturating_duration_since(t) >= self.interval,
        };
        if due {
            self.last = Some(now);
        }
        due
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
        let zk = i_we.inv();
        if !(zk.re.is_finite() && zk.im.is_finite()) || zk.norm() == 0.0 {
            return Err(SolverError::BadImpedance {
                f_hz: f,
                z: format!("{zk}"),
                i_we: format!("{i_we} A"),
            });
        }
        z.push(zk);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_gate_prints_first_last_and_at_most_once_per_interval() {
        let mut g = ProgressGate::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert!(g.due(0, 100, at(0)));
        assert!(!g.due(1, 100, at(1)));
        assert!(!g.due(2, 100, at(4)));
        assert!(g.due(3, 100, at(5)));
        assert!(!g.due(4, 100, at(6)));
        assert!(g.due(99, 100, at(7)), "the last step is always shown");
    }

    #[test]
    fn spectrum_with_zero_or_non_finite_impedance_is_rejected_naming_the_point() {
        let f = vec![1e3, 1e2, 10.0];
        let ok = Spectrum::new(f.clone(), vec![C64::new(1.0, -1.0); 3]);
        assert!(ok.validate().is_ok());
        let mut z = vec![C64::new(1.0, -1.0); 3];
        z[1] = C64::new(0.0, 0.0);
        let e = Spectrum::new(f.clone(), z.clone()).validate().unwrap_err();
        assert!(e.contains("point 1") && e.contains("Z = 0"), "{e}");
        z[1] = C64::new(f64::NAN, 0.0);
        let e = Spectrum::new(f.clone(), z).validate().unwrap_err();
        assert!(e.contains("point 1") && e.contains("not finite"), "{e}");
        let e = Spectrum::new(vec![5.0; 3], vec![C64::new(1.0, 0.0); 3])
            .validate()
            .unwrap_err();
        assert!(e.contains("same frequency"), "{e}");
    }
}
