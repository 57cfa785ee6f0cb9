//! Distribution of relaxation times by Tikhonov regularisation with non-negativity.
//!
//! Z(ω) = R_∞ + ∫ γ(ln τ)/(1 + iωτ) d ln τ, with γ(y) = Σ_m x_m φ_m(y) a sum of Gaussian radial
//! basis functions φ_m(y) = exp(−(ε(y − y_m))²) centred at y_m = ln(1/ω_m), one per measured
//! frequency (Wan et al., Electrochim. Acta 184 (2015) 483). The shape factor ε makes each
//! Gaussian's full width at half maximum `fwhm_factor` times the mean spacing of the centres.
//! With x̃ = x/R_ref (R_ref = max |Z|) the problem is dimensionless:
//!
//!   min ‖W(A·x̃ − Z/R_ref)‖² + λ‖x̃_RBF‖²  subject to x̃ ≥ 0,
//!
//! W = diag(1/|Z|)·R_ref, the real and imaginary parts stacked. λ is given or chosen by
//! generalised cross-validation on the unconstrained problem: minimise
//! GCV(λ) = m‖(I − H)b‖²/(m − tr H)², H = A(AᵀA + λD)⁻¹Aᵀ, over λ = 10⁻¹², 10^−11.75, …, 10².
//! The constrained problem is then solved by NNLS on the stacked system [A; √λ·D].

use crate::linalg::{cholesky_factor, cholesky_solve_factored, nnls};
use crate::sweep::Spectrum;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct DrtPeak {
    pub tau_s: f64,
    pub f_hz: f64,
    /// ∫ γ d ln τ between the neighbouring minima, Ω.
    pub r_ohm: f64,
    /// γ at the peak, Ω.
    pub gamma_ohm: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DrtResult {
    pub lambda: f64,
    pub lambda_from_gcv: bool,
    pub r_inf_ohm: f64,
    /// Fine grid for plotting: τ (s) and γ(ln τ) (Ω).
    pub tau_s: Vec<f64>,
    pub gamma_ohm: Vec<f64>,
    /// Peaks above 1 % of the maximum, largest γ first.
    pub peaks: Vec<DrtPeak>,
    /// Relative residual rms of the reconstructed spectrum.
    pub rms_relative: f64,
}

/// Options of the DRT.
#[derive(Debug, Clone, Copy)]
pub struct DrtOptions {
    /// Regularisation parameter; None = GCV.
    pub lambda: Option<f64>,
    /// Gaussian FWHM in units of the centre spacing.
    pub fwhm_factor: f64,
}

impl Default for DrtOptions {
    fn default() -> Self {
        DrtOptions {
            lambda: None,
            fwhm_factor: 1.5,
        }
    }
}

fn simpson_nodes(half_width: f64, n: usize) -> Vec<(f64, f64)> {
    let n = n + n % 2;
    let h = 2.0 * half_width / n as f64;
    (0..=n)
        .map(|k| {
            let w = if k == 0 || k == n {
                1.0
            } else if k % 2 == 1 {
                4.0
            } else {
                2.0
            };
            (-half_width + k as f64 * h, w * h / 3.0)
        })
        .collect()
}

pub fn drt(spec: &Spectrum, opts: DrtOptions) -> DrtResult {
    let n = spec.len();
    let centres: Vec<f64> = (0..n).map(|k| -(spec.omega(k)).ln()).collect();
    let (ymin, ymax) = centres
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| {
            (a.min(y), b.max(y))
        });
    let spacing = if n > 1 {
        (ymax - ymin) / (n - 1) as f64
    } else {
        1.0
    };
    let eps = 2.0 * (2f64.ln()).sqrt() / (opts.fwhm_factor * spacing);
    let nodes = simpson_nodes(6.0 / eps, 240);
    let r_ref = spec.z.iter().map(|z| z.norm()).fold(0.0, f64::max);
    let cols = n + 1;
    let rows = 2 * n;
    let mut a = vec![0.0; rows * cols];
    let mut b = vec![0.0; rows];
    for i in 0..n {
        let omega = spec.omega(i);
        let w = r_ref / spec.z[i].norm();
        a[2 * i * cols] = w;
        for (m, &ym) in centres.iter().enumerate() {
            let (mut re, mut im) = (0.0, 0.0);
            for &(t, wq) in &nodes {
                let phi = (-(eps * t).powi(2)).exp();
                let wt = omega * (ym + t).exp();
                let den = 1.0 + wt * wt;
                re += wq * phi / den;
                im -= wq * phi * wt / den;
            }
            a[2 * i * cols + 1 + m] = w * re;
            a[(2 * i + 1) * cols + 1 + m] = w * im;
        }
        b[2 * i] = w * spec.z[i].re / r_ref;
        b[2 * i + 1] = w * spec.z[i].im / r_ref;
    }
    // Normal matrix for GCV.
    let mut k = vec![0.0; cols * cols];
    let mut atb = vec![0.0; cols];
    for r in 0..rows {
        let row = &a[r * cols..(r + 1) * cols];
        for p in 0..cols {
            atb[p] += row[p] * b[r];
            for q in 0..cols {
                k[p * cols + q] += row[p] * row[q];
            }
        }
    }
    let penal = |p: usize| if p == 0 { 1e-14 } else { 1.0 };
    let gcv = |lambda: f64| -> f64 {
        let mut s = k.clone();
        for p in 0..cols {
            s[p * cols + p] += lambda * penal(p);
        }
        // One factorisation per λ serves the solution and every column of the trace.
        let Some(l) = cholesky_factor(&s, cols) else {
            return f64::INFINITY;
        };
        let x = cholesky_solve_factored(&l, cols, &atb);
        let mut rss = 0.0;
        for r in 0..rows {
            let row = &a[r * cols..(r + 1) * cols];
            let ax: f64 = row.iter().zip(&x).map(|(u, v)| u * v).sum();
            rss += (b[r] - ax).powi(2);
        }
        // tr H = tr(S⁻¹K): solve column by column.
        let mut tr = 0.0;
        for q in 0..cols {
            let col: Vec<f64> = (0..cols).map(|p| k[p * cols + q]).collect();
            tr += cholesky_solve_factored(&l, cols, &col)[q];
        }
        rows as f64 * rss / (rows as f64 - tr).powi(2)
    };
    let (lambda, from_gcv) = match opts.lambda {
        Some(l) => (l, false),
        None => {
            let mut best = (f64::INFINITY, 1e-3);
            for e in 0..=56 {
                let l = 10f64.powf(-12.0 + 0.25 * e as f64);
                let g = gcv(l);
                if g < best.0 {
                    best = (g, l);
                }
            }
            (best.1, true)
        }
    };
    // Stacked NNLS.
    let mut aug = a.clone();
    let mut baug = b.clone();
    for p in 0..cols {
        let mut row = vec![0.0; cols];
        row[p] = (lambda * penal(p)).sqrt();
        aug.extend_from_slice(&row);
        baug.push(0.0);
    }
    let x = nnls(&aug, rows + cols, cols, &baug);
    let mut rss = 0.0;
    for r in 0..rows {
        let row = &a[r * cols..(r + 1) * cols];
        let ax: f64 = row.iter().zip(&x).map(|(u, v)| u * v).sum();
        rss += (b[r] - ax).powi(2);
    }
    // γ on a fine grid, 20 points per centre spacing, one spacing beyond the ends.
    let fine_n = 20 * n.max(2);
    let (g0, g1) = (ymin - spacing, ymax + spacing);
    let ys: Vec<f64> = (0..=fine_n)
        .map(|k| g0 + (g1 - g0) * k as f64 / fine_n as f64)
        .collect();
    let gamma: Vec<f64> = ys
        .iter()
        .map(|&y| {
            r_ref
                * centres
                    .iter()
                    .zip(&x[1..])
                    .map(|(&ym, &xm)| xm * (-(eps * (y - ym)).powi(2)).exp())
                    .sum::<f64>()
        })
        .collect();
    let gmax = gamma.iter().fold(0.0f64, |a, &b| a.max(b));
    let dy = (g1 - g0) / fine_n as f64;
    let mut peaks = Vec::new();
    for k in 1..fine_n {
        if gamma[k] > gamma[k - 1] && gamma[k] >= gamma[k + 1] && gamma[k] > 0.01 * gmax {
            // Parabolic refinement of the maximum.
            let (y0, y1, y2) = (gamma[k - 1], gamma[k], gamma[k + 1]);
            let den = y0 - 2.0 * y1 + y2;
            let off = if den != 0.0 {
                0.5 * (y0 - y2) / den
            } else {
                0.0
            };
            let y = ys[k] + off * dy;
            // Area between the neighbouring minima.
            let mut lo = k;
            while lo > 0 && gamma[lo - 1] < gamma[lo] {
                lo -= 1;
            }
            let mut hi = k;
            while hi < fine_n && gamma[hi + 1] < gamma[hi] {
                hi += 1;
            }
            let area: f64 = gamma[lo..=hi].iter().sum::<f64>() * dy;
            peaks.push(DrtPeak {
                tau_s: y.exp(),
                f_hz: 1.0 / (2.0 * std::f64::consts::PI * y.exp()),
                r_ohm: area,
                gamma_ohm: y1,
            });
        }
    }
    peaks.sort_by(|p, q| q.gamma_ohm.total_cmp(&p.gamma_ohm));
    DrtResult {
        lambda,
        lambda_from_gcv: from_gcv,
        r_inf_ohm: x[0] * r_ref,
        tau_s: ys.iter().map(|y| y.exp()).collect(),
        gamma_ohm: gamma,
        peaks,
        rms_relative: (rss / rows as f64).sqrt(),
    }
}
