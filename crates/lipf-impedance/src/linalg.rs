//! Small dense real linear algebra for the analyses (a few hundred rows, < 100 columns):
//! Householder least squares, Cholesky, and Lawson–Hanson non-negative least squares.
//! Matrices are row-major `Vec<f64>` with an explicit column count.

/// Least-squares solution of min ‖A·x − b‖₂ by Householder QR (A is m × n, m ≥ n, full rank).
/// Columns are scaled to unit norm first, for conditioning.
pub fn lstsq(a: &[f64], m: usize, n: usize, b: &[f64]) -> Vec<f64> {
    assert!(m >= n && a.len() == m * n && b.len() == m);
    let mut scale = vec![0.0; n];
    for j in 0..n {
        scale[j] = (0..m).map(|i| a[i * n + j].powi(2)).sum::<f64>().sqrt();
        if scale[j] == 0.0 {
            scale[j] = 1.0;
        }
    }
    // Column-major copy for the factorisation.
    let mut q: Vec<f64> = (0..n)
        .flat_map(|j| (0..m).map(move |i| (i, j)))
        .map(|(i, j)| a[i * n + j] / scale[j])
        .collect();
    let mut rhs = b.to_vec();
    let mut rdiag = vec![0.0; n];
    for k in 0..n {
        let col = &mut q[k * m..(k + 1) * m];
        let norm = col[k..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            rdiag[k] = 0.0;
            continue;
        }
        let alpha = if col[k] > 0.0 { -norm } else { norm };
        col[k] -= alpha;
        let vnorm2: f64 = col[k..].iter().map(|v| v * v).sum();
        rdiag[k] = alpha;
        let v: Vec<f64> = col[k..].to_vec();
        for j in k + 1..n {
            let cj = &mut q[j * m..(j + 1) * m];
            let d: f64 = v.iter().zip(&cj[k..]).map(|(x, y)| x * y).sum::<f64>() * 2.0 / vnorm2;
            for (c, vi) in cj[k..].iter_mut().zip(&v) {
                *c -= d * vi;
            }
        }
        let d: f64 = v.iter().zip(&rhs[k..]).map(|(x, y)| x * y).sum::<f64>() * 2.0 / vnorm2;
        for (r, vi) in rhs[k..].iter_mut().zip(&v) {
            *r -= d * vi;
        }
    }
    let mut x = vec![0.0; n];
    for k in (0..n).rev() {
        let mut s = rhs[k];
        for j in k + 1..n {
            s -= q[j * m + k] * x[j];
        }
        x[k] = if rdiag[k] != 0.0 { s / rdiag[k] } else { 0.0 };
    }
    x.iter().zip(&scale).map(|(v, s)| v / s).collect()
}

/// Solves the symmetric positive definite n × n system S·x = b by Cholesky; None if not SPD.
pub fn cholesky_solve(s: &[f64], n: usize, b: &[f64]) -> Option<Vec<f64>> {
    let l = cholesky_factor(s, n)?;
    Some(cholesky_solve_factored(&l, n, b))
}

/// The Cholesky factor L (row-major, lower) of the symmetric positive definite n × n matrix S;
/// None if S is not SPD. Solve with it by [`cholesky_solve_factored`] (one factorisation for
/// many right-hand sides).
pub fn cholesky_factor(s: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = s[i * n + j];
            for k in 0..j {
                sum -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if sum <= 0.0 || !sum.is_finite() {
                    return None;
                }
                l[i * n + i] = sum.sqrt();
            } else {
                l[i * n + j] = sum / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves L·Lᵀ·x = b with the factor of [`cholesky_factor`].
pub fn cholesky_solve_factored(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut y = b.to_vec();
    for i in 0..n {
        for k in 0..i {
            y[i] -= l[i * n + k] * y[k];
        }
        y[i] /= l[i * n + i];
    }
    for i in (0..n).rev() {
        for k in i + 1..n {
            y[i] -= l[k * n + i] * y[k];
        }
        y[i] /= l[i * n + i];
    }
    y
}

/// Non-negative least squares min ‖A·x − b‖₂ subject to x ≥ 0 (Lawson & Hanson 1974, the
/// active-set method), A m × n row-major.
pub fn nnls(a: &[f64], m: usize, n: usize, b: &[f64]) -> Vec<f64> {
    let mut x = vec![0.0; n];
    let mut passive = vec![false; n];
    let tol = 1e-12
        * (0..n)
            .map(|j| (0..m).map(|i| a[i * n + j].abs()).sum::<f64>())
            .fold(0.0, f64::max)
        * b.iter().map(|v| v.abs()).sum::<f64>().max(1e-300);
    let grad = |x: &[f64]| -> Vec<f64> {
        let r: Vec<f64> = (0..m)
            .map(|i| b[i] - (0..n).map(|j| a[i * n + j] * x[j]).sum::<f64>())
            .collect();
        (0..n)
            .map(|j| (0..m).map(|i| a[i * n + j] * r[i]).sum())
            .collect()
    };
    let solve_passive = |passive: &[bool]| -> Vec<f64> {
        let cols: Vec<usize> = (0..n).filter(|&j| passive[j]).collect();
        let k = cols.len();
        let sub: Vec<f64> = (0..m)
            .flat_map(|i| cols.iter().map(move |&j| (i, j)))
            .map(|(i, j)| a[i * n + j])
            .collect();
        let z = lstsq(&sub, m, k, b);
        let mut full = vec![0.0; n];
        for (c, v) in cols.iter().zip(z) {
            full[*c] = v;
        }
        full
    };
    for _outer in 0..3 * n + 10 {
        let w = grad(&x);
        let candidate = (0..n)
            .filter(|&j| !passive[j])
            .max_by(|&p, &q| w[p].total_cmp(&w[q]));
        let Some(t) = candidate else { break };
        if w[t] <= tol {
            break;
        }
        passive[t] = true;
        for _inner in 0..3 * n + 10 {
            let z = solve_passive(&passive);
            if (0..n).filter(|&j| passive[j]).all(|j| z[j] > 0.0) {
                x = z;
                break;
            }
            let mut alpha = f64::INFINITY;
            for j in 0..n {
                if passive[j] && z[j] <= 0.0 {
                    alpha = alpha.min(x[j] / (x[j] - z[j]));
                }
            }
            for j in 0..n {
                x[j] += alpha * (z[j] - x[j]);
                if passive[j] && x[j] <= 1e-15 * (1.0 + z[j].abs()) {
                    passive[j] = false;
                    x[j] = 0.0;
                }
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lstsq_recovers_an_exact_solution() {
        // 4 × 3, x = (1, −2, 3).
        let a = [1.0, 2.0, 0.5, 0.0, 1.0, 4.0, 3.0, -1.0, 1.0, 2.0, 2.0, 2.0];
        let x = [1.0, -2.0, 3.0];
        let b: Vec<f64> = (0..4)
            .map(|i| (0..3).map(|j| a[i * 3 + j] * x[j]).sum())
            .collect();
        let got = lstsq(&a, 4, 3, &b);
        for (g, e) in got.iter().zip(x) {
            assert!((g - e).abs() < 1e-12);
        }
    }

    #[test]
    fn nnls_clamps_the_negative_component() {
        // Unconstrained optimum has x1 < 0; NNLS gives x1 = 0 and the 1-D optimum for x0.
        let a = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let b = [1.0, -1.0, 0.0];
        let x = nnls(&a, 3, 2, &b);
        assert_eq!(x[1], 0.0);
        assert!((x[0] - 0.5).abs() < 1e-12);
    }
}
