//! The vector updates of preconditioned conjugate gradients (`solver.rs`: `Multigrid::solve`
//! and each block of `CoupledMultigrid::solve`). Twin: `shaders/cg_vectors.wgsl`, where α and β
//! come from the device-side control record.

/// x += α p, r −= α q.
pub fn cg_update_xr(alpha: f64, p: &[f64], q: &[f64], x: &mut [f64], r: &mut [f64]) {
    for (k, xk) in x.iter_mut().enumerate() {
        *xk += alpha * p[k];
        r[k] -= alpha * q[k];
    }
}

/// p = z + β p.
pub fn cg_update_p(beta: f64, z: &[f64], p: &mut [f64]) {
    for (pk, &zk) in p.iter_mut().zip(z) {
        *pk = zk + beta * *pk;
    }
}
