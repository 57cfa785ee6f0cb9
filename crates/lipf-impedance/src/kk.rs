//! The linear Kramers–Kronig test (Schönleber, Klotz & Ivers-Tiffée, Electrochim. Acta 131
//! (2014) 20–27).
//!
//! The spectrum is fitted, as a linear least-squares problem in the resistances, by
//! Z_KK(ω) = R₀ + Σ_{k=1..M} R_k/(1 + iωτ_k) with τ_k log-spaced from 1/ω_max to 1/ω_min. Each
//! RC element is KK-compliant, so a spectrum that obeys the Kramers–Kronig relations is fitted
//! to within its noise. Both parts are fitted together, weighted by 1/|Z|. The number of
//! elements M grows from 1 until μ = 1 − Σ_{R_k<0}|R_k| / Σ_{R_k≥0}|R_k| falls below c = 0.85
//! (the onset of over-fitting: elements start to compensate each other), or M reaches the
//! number of frequencies. The residuals are Δ_re = (Z' − Z'_KK)/|Z|, Δ_im = (Z'' − Z''_KK)/|Z|.

use crate::linalg::lstsq;
use crate::sweep::Spectrum;
use num_complex::Complex64 as C64;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct KkResult {
    /// Number of RC elements chosen by the μ criterion.
    pub m: usize,
    pub mu: f64,
    pub r0_ohm: f64,
    pub tau_s: Vec<f64>,
    pub r_ohm: Vec<f64>,
    /// Per frequency, relative to |Z|.
    pub residual_re: Vec<f64>,
    pub residual_im: Vec<f64>,
    /// max over frequencies of max(|Δ_re|, |Δ_im|).
    pub max_abs_residual: f64,
}

/// The threshold c of the μ criterion.
pub const MU_CRITERION: f64 = 0.85;

fn fit_m(spec: &Spectrum, m: usize) -> (f64, Vec<f64>, Vec<f64>) {
    let n = spec.len();
    let w_max = spec.omega(spec.highest());
    let w_min = spec.omega(spec.lowest());
    let (t0, t1) = (1.0 / w_max, 1.0 / w_min);
    let taus: Vec<f64> = (0..m)
        .map(|k| {
            if m == 1 {
                (t0 * t1).sqrt()
            } else {
                (t0.ln() + k as f64 / (m - 1) as f64 * (t1 / t0).ln()).exp()
            }
        })
        .collect();
    let cols = m + 1;
    let mut a = vec![0.0; 2 * n * cols];
    let mut b = vec![0.0; 2 * n];
    for i in 0..n {
        let w = 1.0 / spec.z[i].norm();
        #[cfg(feature = "mutants")]
        let w = if lipf_core::mutants::active("linkk-unweighted") {
            1.0
        } else {
            w
        };
        let omega = spec.omega(i);
        a[2 * i * cols] = w;
        for (k, tau) in taus.iter().enumerate() {
            let basis = C64::new(1.0, 0.0) / C64::new(1.0, omega * tau);
            a[2 * i * cols + 1 + k] = w * basis.re;
            a[(2 * i + 1) * cols + 1 + k] = w * basis.im;
        }
        b[2 * i] = w * spec.z[i].re;
        b[2 * i + 1] = w * spec.z[i].im;
    }
    let x = lstsq(&a, 2 * n, cols, &b);
    (x[0], x[1..].to_vec(), taus)
}

/// Runs the test with the automatic choice of M (or with `m_fixed` elements).
pub fn lin_kk(spec: &Spectrum, m_fixed: Option<usize>) -> KkResult {
    let n = spec.len();
    let m_max = n.saturating_sub(1).max(1);
    let mu_of = |r: &[f64]| {
        let neg: f64 = r.iter().filter(|v| **v < 0.0).map(|v| v.abs()).sum();
        let pos: f64 = r.iter().filter(|v| **v >= 0.0).sum();
        if pos > 0.0 {
            1.0 - neg / pos
        } else {
            0.0
        }
    };
    let (m, (r0, r, taus)) = match m_fixed {
        Some(m) => (m.clamp(1, m_max), fit_m(spec, m.clamp(1, m_max))),
        None => {
            let mut chosen = (1, fit_m(spec, 1));
            for m in 1..=m_max {
                let fit = fit_m(spec, m);
                let mu = mu_of(&fit.1);
                chosen = (m, fit);
                if mu <= MU_CRITERION {
                    break;
                }
            }
            chosen
        }
    };
    let mut res_re = Vec::with_capacity(n);
    let mut res_im = Vec::with_capacity(n);
    for i in 0..n {
        let omega = spec.omega(i);
        let zkk = taus
            .iter()
            .zip(&r)
            .map(|(t, rk)| C64::new(*rk, 0.0) / C64::new(1.0, omega * t))
            .fold(C64::new(r0, 0.0), |a, b| a + b);
        let mag = spec.z[i].norm();
        res_re.push((spec.z[i].re - zkk.re) / mag);
        res_im.push((spec.z[i].im - zkk.im) / mag);
    }
    let max_abs = res_re
        .iter()
        .chain(&res_im)
        .fold(0.0f64, |a, b| a.max(b.abs()));
    KkResult {
        m,
        mu: mu_of(&r),
        r0_ohm: r0,
        tau_s: taus,
        r_ohm: r,
        residual_re: res_re,
        residual_im: res_im,
        max_abs_residual: max_abs,
    }
}
