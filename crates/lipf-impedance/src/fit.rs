//! Equivalent-circuit fitting: R₀ + n RC elements by Levenberg–Marquardt (the seed's 1D fit
//! model is n = 4).
//!
//! Parameters are ln R_k and ln τ_k (so they stay positive) and R₀ ≥ 0 (projected). The
//! residuals are modulus-weighted: (Ẑ − Z)/|Z| for the real and the imaginary parts. Starting
//! values come from the DRT peaks when given, and from log-spaced time constants otherwise; the
//! best of the starts is returned.

use crate::circuit::{RcElement, SeriesCircuit};
use crate::linalg::cholesky_solve;
use crate::sweep::Spectrum;
use num_complex::Complex64 as C64;
use serde::Serialize;

/// A fitted circuit and its quality.
#[derive(Debug, Clone, Serialize)]
pub struct FitResult {
    /// Elements sorted by time constant (fastest first).
    pub circuit: SeriesCircuit,
    /// Σ of squared weighted residuals.
    pub chi2: f64,
    /// Root-mean-square of the weighted residuals (a relative error).
    pub rms_relative: f64,
    pub iterations: usize,
}

fn model(theta: &[f64], n: usize, omega: f64) -> C64 {
    let mut z = C64::new(theta[0], 0.0);
    for k in 0..n {
        let r = theta[1 + 2 * k].exp();
        let tau = theta[2 + 2 * k].exp();
        z += C64::new(r, 0.0) / C64::new(1.0, omega * tau);
    }
    z
}

fn residuals(spec: &Spectrum, theta: &[f64], n: usize) -> Vec<f64> {
    let mut r = Vec::with_capacity(2 * spec.len());
    for k in 0..spec.len() {
        let zm = model(theta, n, spec.omega(k));
        let w = 1.0 / spec.z[k].norm();
        r.push(w * (zm.re - spec.z[k].re));
        r.push(w * (zm.im - spec.z[k].im));
    }
    r
}

fn jacobian(spec: &Spectrum, theta: &[f64], n: usize) -> Vec<f64> {
    let p = 1 + 2 * n;
    let mut j = vec![0.0; 2 * spec.len() * p];
    for k in 0..spec.len() {
        let w = 1.0 / spec.z[k].norm();
        let omega = spec.omega(k);
        let row_re = 2 * k * p;
        let row_im = (2 * k + 1) * p;
        j[row_re] = w;
        for e in 0..n {
            let r = theta[1 + 2 * e].exp();
            let tau = theta[2 + 2 * e].exp();
            let den = C64::new(1.0, omega * tau);
            let dz_dlnr = C64::new(r, 0.0) / den;
            let dz_dlntau = -C64::new(0.0, omega * tau) * r / (den * den);
            j[row_re + 1 + 2 * e] = w * dz_dlnr.re;
            j[row_im + 1 + 2 * e] = w * dz_dlnr.im;
            j[row_re + 2 + 2 * e] = w * dz_dlntau.re;
            j[row_im + 2 + 2 * e] = w * dz_dlntau.im;
        }
    }
    j
}

fn cost(r: &[f64]) -> f64 {
    r.iter().map(|v| v * v).sum()
}

/// Levenberg–Marquardt from `theta`; returns (theta, chi2, iterations).
fn levenberg_marquardt(spec: &Spectrum, mut theta: Vec<f64>, n: usize) -> (Vec<f64>, f64, usize) {
    let p = theta.len();
    let m = 2 * spec.len();
    let mut r = residuals(spec, &theta, n);
    let mut c = cost(&r);
    let mut mu = 1e-3;
    let mut it = 0;
    while it < 2000 {
        it += 1;
        let j = jacobian(spec, &theta, n);
        let mut jtj = vec![0.0; p * p];
        let mut jtr = vec![0.0; p];
        for i in 0..m {
            let row = &j[i * p..(i + 1) * p];
            for a in 0..p {
                jtr[a] += row[a] * r[i];
                for b in 0..=a {
                    jtj[a * p + b] += row[a] * row[b];
                }
            }
        }
        for a in 0..p {
            for b in 0..a {
                jtj[b * p + a] = jtj[a * p + b];
            }
        }
        let mut improved = false;
        for _ in 0..30 {
            let mut s = jtj.clone();
            for a in 0..p {
                s[a * p + a] += mu * jtj[a * p + a].max(1e-12);
            }
            let rhs: Vec<f64> = jtr.iter().map(|v| -v).collect();
            let Some(delta) = cholesky_solve(&s, p, &rhs) else {
                mu *= 10.0;
                continue;
            };
            let mut trial: Vec<f64> = theta.iter().zip(&delta).map(|(t, d)| t + d).collect();
            trial[0] = trial[0].max(0.0);
            for v in trial.iter_mut().skip(1) {
                *v = v.clamp(-700.0, 700.0);
            }
            let rt = residuals(spec, &trial, n);
            let ct = cost(&rt);
            if ct.is_finite() && ct < c {
                let rel = (c - ct) / c.max(1e-300);
                theta = trial;
                r = rt;
                c = ct;
                mu = (mu / 3.0).max(1e-12);
                improved = true;
                if rel < 1e-13 {
                    return (theta, c, it);
                }
                break;
            }
            mu *= 4.0;
        }
        if !improved {
            break;
        }
    }
    (theta, c, it)
}

/// Fits R₀ + `n` RC elements to `spec`. `tau_guesses` (s) seed one of the starts (e.g. DRT
/// peaks, largest first); missing ones are filled log-spaced over the measured range.
pub fn fit_rc(spec: &Spectrum, n: usize, tau_guesses: &[(f64, f64)]) -> FitResult {
    assert!(n >= 1 && spec.len() >= 2);
    let hi = spec.highest();
    let lo = spec.lowest();
    let r_hf = spec.z[hi].re.max(0.0);
    let r_pol = (spec.z[lo].re - r_hf).max(1e-12 * spec.z[lo].norm());
    let tau_min = 1.0 / spec.omega(hi);
    let tau_max = 1.0 / spec.omega(lo);
    let spaced = |k: usize, n: usize| {
        let t = if n == 1 {
            0.5
        } else {
            k as f64 / (n - 1) as f64
        };
        (tau_min.ln() + t * (tau_max / tau_min).ln()).exp()
    };
    let mut starts: Vec<Vec<f64>> = Vec::new();
    // Log-spaced starts: time constants from end to end of the range, and at bin centres.
    for centred in [false, true] {
        let mut th = vec![0.5 * r_hf];
        for k in 0..n {
            let tau = if centred {
                (tau_min.ln() + (k as f64 + 0.5) / n as f64 * (tau_max / tau_min).ln()).exp()
            } else {
                spaced(k, n)
            };
            th.push((r_pol / n as f64).ln());
            th.push(tau.ln());
        }
        starts.push(th);
    }
    if !tau_guesses.is_empty() {
        let mut th = vec![0.5 * r_hf];
        let mut taus: Vec<(f64, f64)> = tau_guesses.iter().take(n).copied().collect();
        let mut k = 0;
        while taus.len() < n {
            taus.push((spaced(k, n), r_pol / n as f64));
            k += 1;
        }
        for (tau, r) in taus {
            th.push(r.max(1e-6 * r_pol).ln());
            th.push(tau.ln());
        }
        starts.push(th);
    }
    let mut best: Option<(Vec<f64>, f64, usize)> = None;
    for th in starts {
        let (t, c, it) = levenberg_marquardt(spec, th, n);
        if best.as_ref().is_none_or(|b| c < b.1) {
            best = Some((t, c, it));
        }
    }
    let (theta, chi2, iterations) = best.unwrap();
    let mut elements: Vec<RcElement> = (0..n)
        .map(|k| {
            let r = theta[1 + 2 * k].exp();
            let tau = theta[2 + 2 * k].exp();
            RcElement {
                name: "fit",
                r_ohm: r,
                c_f: tau / r,
            }
        })
        .collect();
    elements.sort_by(|a, b| a.tau_s().total_cmp(&b.tau_s()));
    FitResult {
        circuit: SeriesCircuit {
            r0_ohm: theta[0],
            elements,
        },
        chi2,
        rms_relative: (chi2 / (2 * spec.len()) as f64).sqrt(),
        iterations,
    }
}
