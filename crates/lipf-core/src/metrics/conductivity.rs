//! Effective ionic conductivity of a scaffold from a steady potential solve.
//!
//! The scaffold region conducts with σ = σ_p [h(ϕ) + floor] (LLZO conducts; pores and Li do
//! not carry Li⁺ ions, up to the small floor that keeps the operator regular). A unit potential
//! difference is held across the region in y (φ = 1 below the bottom row, φ = 0 above the top
//! row, half a cell from the centres); x is periodic. The same finite-volume operator and
//! multigrid-preconditioned CG as the run's potential solve ([`crate::solver::Multigrid`]) give
//! the current I per unit depth, and σ_eff = I L / (W ΔV).
//!
//! Convention for the tortuosity factor: σ_eff = σ_p (1 − f) / τ, with 1 − f the conducting
//! (solid) area fraction; τ = 1 for straight channels along y. The Bruggeman estimate is
//! σ_eff = σ_p (1 − f)^{3/2} (docs/models/phase-field.md §13.8), i.e. τ_B = (1 − f)^{−1/2}.
//!
//! Two discretisations of the same scaffold are solved:
//!
//! - **diffuse**: σ_p h(ϕ), the conductivity the simulation sees (interface width ℓ);
//! - **voxel**: σ_p where ϕ ≥ ½ and the floor elsewhere, as TauFactor computes it on segmented
//!   images.
//!
//! Where thin LLZO necks or narrow pores are resolved by a few cells they err on opposite sides:
//! the diffuse field conducts through the partial cells of a neck, the voxel staircase pinches
//! it. Measured on random 1.5 µm pores at Δx = 0.25, 0.125, 0.0625 µm: τ diffuse 2.00, 2.74, 3.00;
//! voxel 4.97, 3.99, 3.44. Both converge to the geometry's τ as Δx → 0, from either side, so
//! the pair brackets it; the report gives both, their mean as the estimate and half their
//! difference as its uncertainty. Channels are exact in both (τ = 1).
//!
//! [`effective_conductivity_y_3d`] does the same for a 3D voxel field (x and z periodic, the
//! same conditions in y), with σ_eff = I L / (W D ΔV) and 1 − f the conducting volume fraction,
//! solved by the same operator with z faces (7 points) and the same multigrid-preconditioned CG
//! (2×2×2 aggregates). With one cell along z it is the 2D solve. Both add the correction for LLZO
//! islands that float in floored pores ([`crate::floating_clusters`]).

use crate::cpu::interp::h;
use crate::cpu::operator::Operator;
use crate::solver::{Cycle, Multigrid};

/// Relative conductivity given to non-LLZO cells.
pub const FLOOR: f64 = 1e-9;

#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct EffectiveConductivity {
    /// σ_eff / σ_p along y.
    pub relative: f64,
    /// 1 − f: mean h(ϕ) over the region.
    pub solid_fraction: f64,
    /// τ in σ_eff = σ_p (1 − f) / τ.
    pub tortuosity_factor: f64,
    /// Bruggeman σ/σ_p = (1 − f)^{3/2}.
    pub bruggeman_relative: f64,
    /// σ_eff / σ_p along y on the segmented voxels (ϕ ≥ ½ conducts).
    pub voxel_relative: f64,
    /// Conducting area fraction of the voxels.
    pub voxel_solid_fraction: f64,
    /// τ of the voxels, with their own solid fraction.
    pub voxel_tortuosity_factor: f64,
    /// The estimate of τ between the two discretisations: their mean, and half their difference.
    pub tortuosity_estimate: f64,
    pub tortuosity_uncertainty: f64,
    pub solver_iterations: usize,
    pub solver_residual_relative: f64,
    pub convention: String,
}

/// CG iterations at which the solve gives up.
const MAX_ITERATIONS: usize = 1000;

/// σ_eff/σ_p along y and the solve's (iterations, relative residual) for the cell
/// conductivities `sigma` (relative to σ_p, all positive) of an `nx × rows × nz` region (nz = 1:
/// a 2D section), cells (k·rows + j)·nx + i.
fn relative_conductivity_y(
    sigma: &[f64],
    [nx, rows, nz]: [usize; 3],
) -> Result<(f64, usize, f64), String> {
    assert_eq!(sigma.len(), nx * rows * nz);
    if let Some(s) = sigma.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!(
            "cell conductivity {s:e} is not positive and finite"
        ));
    }
    let n = nx * rows * nz;
    let mut op = Operator::zeros3(nx, rows, nz);
    op.set_face_conductances(sigma);
    // The bottom boundary is held at potential 1, half a cell below the bottom row: its
    // conductances enter the right-hand side.
    let mut b = vec![0.0; n];
    for k in 0..nz {
        for i in 0..nx {
            let c = k * rows * nx + i;
            op.tbot[k * nx + i] = 2.0 * sigma[c];
            b[c] = op.tbot[k * nx + i];
        }
    }
    op.update_diagonal();
    let mut mg = Multigrid::with_shape([nx, rows, nz], 2, Cycle::V).with_floating_clusters();
    mg.setup(&op)?;
    let mut x: Vec<f64> = (0..n)
        .map(|c| 1.0 - (((c / nx) % rows) as f64 + 0.5) / rows as f64)
        .collect();
    let b_l1: f64 = b.iter().map(|v| v.abs()).sum();
    let st = mg.solve(&b, &mut x, 1e-12 * b_l1, MAX_ITERATIONS);
    if !st.converged {
        return Err(format!(
            "effective-conductivity solve did not converge: {} iterations, residual {:e}",
            st.iterations, st.residual_l1
        ));
    }
    let current = op.top_outflow(&x);
    Ok((
        current * rows as f64 / (nx * nz) as f64,
        st.iterations,
        st.residual_l1 / b_l1,
    ))
}

/// Solves for the effective conductivity along y of the `nx × rows` field `phi` (row 0 at the
/// bottom). Fails if the solver does not converge.
pub fn effective_conductivity_y(
    phi: &[f64],
    nx: usize,
    rows: usize,
) -> Result<EffectiveConductivity, String> {
    assert_eq!(phi.len(), nx * rows);
    if rows == 0 || nx == 0 {
        return Err("the scaffold region has no cells".into());
    }
    summarise(phi, "area", |sigma| {
        relative_conductivity_y(sigma, [nx, rows, 1])
    })
}

/// Both discretisations of `phi` solved by `solve` (σ → σ_eff/σ_p, iterations, relative
/// residual) and the report. `measure` names the solid fraction ("area" in 2D, "volume" in 3D).
fn summarise<F>(phi: &[f64], measure: &str, solve: F) -> Result<EffectiveConductivity, String>
where
    F: Fn(&[f64]) -> Result<(f64, usize, f64), String>,
{
    let cells = phi.len() as f64;
    let sigma: Vec<f64> = phi.iter().map(|&p| h(p) + FLOOR).collect();
    let (relative, iterations, residual) = solve(&sigma)?;
    let solid_fraction = sigma.iter().map(|s| s - FLOOR).sum::<f64>() / cells;
    let voxels: Vec<f64> = phi
        .iter()
        .map(|&p| if p >= 0.5 { 1.0 } else { FLOOR })
        .collect();
    let (voxel_relative, _, _) = solve(&voxels)?;
    let voxel_solid_fraction = phi.iter().filter(|&&p| p >= 0.5).count() as f64 / cells;
    let tortuosity_factor = solid_fraction / relative;
    let voxel_tortuosity_factor = voxel_solid_fraction / voxel_relative;
    Ok(EffectiveConductivity {
        relative,
        solid_fraction,
        tortuosity_factor,
        bruggeman_relative: solid_fraction.powf(1.5),
        voxel_relative,
        voxel_solid_fraction,
        voxel_tortuosity_factor,
        tortuosity_estimate: 0.5 * (tortuosity_factor + voxel_tortuosity_factor),
        tortuosity_uncertainty: 0.5 * (tortuosity_factor - voxel_tortuosity_factor).abs(),
        solver_iterations: iterations,
        solver_residual_relative: residual,
        convention: format!(
            "sigma_eff = sigma_p (1 - f) / tau, 1 - f = conducting (LLZO) {measure} fraction; \
             tau = 1 for straight channels along the current"
        ),
    })
}

/// Solves for the effective conductivity along y of the `nx × rows × nz` field `phi`, indexed
/// `(k·rows + j)·nx + i` (i along x, j along y with row 0 at the bottom, k along z). x and z
/// are periodic; y has the 2D boundary conditions. With `nz == 1` the answer is that of
/// [`effective_conductivity_y`] on the same `nx × rows` field (to the solver's tolerance).
/// Fails if the solver does not converge.
pub fn effective_conductivity_y_3d(
    phi: &[f64],
    nx: usize,
    rows: usize,
    nz: usize,
) -> Result<EffectiveConductivity, String> {
    assert_eq!(phi.len(), nx * rows * nz);
    if rows == 0 || nx == 0 || nz == 0 {
        return Err("the scaffold region has no cells".into());
    }
    summarise(phi, "volume", |sigma| {
        relative_conductivity_y(sigma, [nx, rows, nz])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// CG iterations a sphere-pore scaffold may take. Measured (diffuse, voxels): 48³ 13, 14;
    /// 64³ 14, 15–17; 128³ 16–17, 21–24 at 40–50 % porosity; unpreconditioned by multigrid
    /// (Jacobi) a 64³ diffuse solve takes over 500. The bound leaves a factor ~3 at 48³.
    const ITERATION_BOUND: usize = 50;
    /// The same for LLZO islands floating in pore (below): 102 iterations measured, 725
    /// without the floating-cluster correction.
    const ISLAND_ITERATION_BOUND: usize = 300;

    /// ½[1 + tanh(d/w)] for a signed distance d from a pore surface (negative in the pore).
    fn profile(d: f64, w: f64) -> f64 {
        0.5 * (1.0 + (d / w).tanh())
    }

    fn mean_h(phi: &[f64]) -> f64 {
        phi.iter().map(|&p| h(p)).sum::<f64>() / phi.len() as f64
    }

    fn voxel_fraction(phi: &[f64]) -> f64 {
        phi.iter().filter(|&&p| p >= 0.5).count() as f64 / phi.len() as f64
    }

    fn random_field(cells: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..cells).map(|_| rng.gen::<f64>()).collect()
    }

    /// ϕ (1 in LLZO, 0 in the pores) of overlapping spherical pores of `radius` cells with
    /// uniformly random centres in an `nx × ny × nz` box (periodic in x and z, clipped in y),
    /// as many as a Boolean model needs for the pore fraction `porosity`:
    /// N = −ln(1 − porosity) V_box / V_sphere. ϕ is the tanh profile (width 1 cell) of the
    /// distance to the nearest sphere surface, taken as saturated 6 cells outside every sphere.
    fn sphere_pores(
        nx: usize,
        ny: usize,
        nz: usize,
        radius: f64,
        porosity: f64,
        seed: u64,
    ) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sphere = 4.0 / 3.0 * std::f64::consts::PI * radius.powi(3);
        let count = (-(1.0 - porosity).ln() * (nx * ny * nz) as f64 / sphere).round() as usize;
        let far = 6.0;
        let reach = radius + far;
        let mut d = vec![far; nx * ny * nz];
        for _ in 0..count {
            let c = [
                rng.gen::<f64>() * nx as f64,
                rng.gen::<f64>() * ny as f64,
                rng.gen::<f64>() * nz as f64,
            ];
            let lo = |x: f64| (x - reach).floor() as i64;
            let hi = |x: f64| (x + reach).ceil() as i64;
            for k in lo(c[2])..=hi(c[2]) {
                for j in lo(c[1]).max(0)..=hi(c[1]).min(ny as i64 - 1) {
                    for i in lo(c[0])..=hi(c[0]) {
                        let (x, y, z) = (
                            i as f64 + 0.5 - c[0],
                            j as f64 + 0.5 - c[1],
                            k as f64 + 0.5 - c[2],
                        );
                        let r = (x * x + y * y + z * z).sqrt() - radius;
                        let (iw, kw) = (
                            i.rem_euclid(nx as i64) as usize,
                            k.rem_euclid(nz as i64) as usize,
                        );
                        let cell = (kw * ny + j as usize) * nx + iw;
                        d[cell] = d[cell].min(r);
                    }
                }
            }
        }
        d.iter().map(|&d| profile(d, 1.0)).collect()
    }

    /// The report must say τ = 1 in both discretisations: σ_eff/σ_p is the conducting fraction.
    fn assert_unit_tortuosity(phi: &[f64], nx: usize, rows: usize, nz: usize, what: &str) {
        let c = effective_conductivity_y_3d(phi, nx, rows, nz).unwrap();
        let (solid, voxels) = (mean_h(phi), voxel_fraction(phi));
        assert!(
            solid > 0.2 && solid < 0.9 && voxels > 0.2 && voxels < 0.9,
            "{what}: {solid} {voxels}"
        );
        assert!(
            (c.relative - solid).abs() < 1e-8,
            "{what}: {} vs {solid}",
            c.relative
        );
        assert!(
            (c.voxel_relative - voxels).abs() < 1e-8,
            "{what}: {} vs {voxels}",
            c.voxel_relative
        );
        assert!((c.solid_fraction - solid).abs() < 1e-12);
        assert!((c.voxel_solid_fraction - voxels).abs() < 1e-12);
        assert!((c.tortuosity_factor - 1.0).abs() < 1e-8, "{what}: {c:?}");
        assert!(
            (c.voxel_tortuosity_factor - 1.0).abs() < 1e-8,
            "{what}: {c:?}"
        );
    }

    #[test]
    fn cylinders_along_y_conduct_their_solid_fraction() {
        // A 2 × 3 array of cylindrical pores along y (period 8 in x, 7 in z: odd lengths and
        // periodic seams in both), axes off the cell centres.
        let (nx, rows, nz) = (16, 6, 21);
        let (px, pz, radius) = (8.0, 7.0, 2.6);
        let mut phi = vec![0.0; nx * rows * nz];
        for k in 0..nz {
            for j in 0..rows {
                for i in 0..nx {
                    let wrap = |v: f64, p: f64| v - p * (v / p).round();
                    let x = wrap(i as f64 + 0.5 - 3.7, px);
                    let z = wrap(k as f64 + 0.5 - 2.2, pz);
                    let r = (x * x + z * z).sqrt();
                    phi[(k * rows + j) * nx + i] = profile(r - radius, 1.2);
                }
            }
        }
        assert_unit_tortuosity(&phi, nx, rows, nz, "cylinders");
    }

    #[test]
    fn slits_along_y_conduct_their_solid_fraction() {
        let (n, rows) = (13, 5);
        // Slit pores of width 4 with normals along x, then along z.
        let slit = |u: usize| profile((u as f64 + 0.5 - 6.3).abs() - 2.0, 0.8);
        let mut across_x = vec![0.0; n * rows * n];
        let mut across_z = vec![0.0; n * rows * n];
        for k in 0..n {
            for j in 0..rows {
                for i in 0..n {
                    across_x[(k * rows + j) * n + i] = slit(i);
                    across_z[(k * rows + j) * n + i] = slit(k);
                }
            }
        }
        assert_unit_tortuosity(&across_x, n, rows, n, "slits across x");
        assert_unit_tortuosity(&across_z, n, rows, n, "slits across z");
    }

    #[test]
    fn layers_in_series_conduct_their_harmonic_mean() {
        let (nx, rows, nz) = (5, 12, 4);
        let layer = |j: usize| if j < 5 { 1.0 } else { 0.1 };
        let sigma: Vec<f64> = (0..nx * rows * nz)
            .map(|c| layer((c / nx) % rows))
            .collect();
        let (relative, iterations, residual) =
            relative_conductivity_y(&sigma, [nx, rows, nz]).unwrap();
        let harmonic = rows as f64 / (0..rows).map(|j| 1.0 / layer(j)).sum::<f64>();
        assert!(
            (relative - harmonic).abs() < 1e-8 * harmonic,
            "{relative} vs {harmonic}"
        );
        assert!(
            iterations > 0 && residual <= 1e-12,
            "{iterations} {residual:e}"
        );
    }

    #[test]
    fn one_slab_is_the_2d_answer() {
        let (nx, rows) = (37, 23);
        // √u of uniform u: three quarters of the voxels conduct, so that the voxel LLZO
        // percolates (the 2D site threshold is 0.59) and both currents are O(1). Without a path
        // the current is of order the floor and only known to the stopping test's absolute
        // accuracy, 1e-12 of the boundary source.
        let phi: Vec<f64> = random_field(nx * rows, 11)
            .iter()
            .map(|u| u.sqrt())
            .collect();
        let two = effective_conductivity_y(&phi, nx, rows).unwrap();
        let three = effective_conductivity_y_3d(&phi, nx, rows, 1).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
        assert!(close(three.relative, two.relative), "{three:?}\n{two:?}");
        assert!(
            close(three.voxel_relative, two.voxel_relative),
            "{three:?}\n{two:?}"
        );
        assert!(close(three.tortuosity_factor, two.tortuosity_factor));
        assert!(close(
            three.voxel_tortuosity_factor,
            two.voxel_tortuosity_factor
        ));
        assert_eq!(three.solid_fraction, two.solid_fraction);
        assert_eq!(three.voxel_solid_fraction, two.voxel_solid_fraction);
        // A random field is far from straight channels.
        assert!(two.tortuosity_factor > 1.2, "{two:?}");
    }

    #[test]
    fn x_and_z_are_interchangeable() {
        // Odd and even periodic lengths: the seams of the red–black smoother in both directions.
        let (nx, rows, nz) = (9, 8, 6);
        let phi = random_field(nx * rows * nz, 5);
        let mut swapped = vec![0.0; phi.len()];
        for k in 0..nz {
            for j in 0..rows {
                for i in 0..nx {
                    swapped[(i * rows + j) * nz + k] = phi[(k * rows + j) * nx + i];
                }
            }
        }
        let a = effective_conductivity_y_3d(&phi, nx, rows, nz).unwrap();
        let b = effective_conductivity_y_3d(&swapped, nz, rows, nx).unwrap();
        assert!(
            (a.relative - b.relative).abs() <= 1e-9 * a.relative,
            "{a:?}\n{b:?}"
        );
        assert!((a.voxel_relative - b.voxel_relative).abs() <= 1e-9 * a.voxel_relative);
        assert!(a.tortuosity_factor > 1.2, "{a:?}");
    }

    #[test]
    fn result_does_not_depend_on_the_thread_count() {
        // Large enough for the parallel kernels, with odd periodic lengths.
        let (nx, rows, nz) = (25, 16, 23);
        let phi = sphere_pores(nx, rows, nz, 3.0, 0.45, 3);
        let many = effective_conductivity_y_3d(&phi, nx, rows, nz).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let one = pool.install(|| effective_conductivity_y_3d(&phi, nx, rows, nz).unwrap());
        assert_eq!(many, one);
    }

    #[test]
    fn random_sphere_pores_converge() {
        let n = 48;
        let phi = sphere_pores(n, n, n, 5.0, 0.4, 2024);
        let c = effective_conductivity_y_3d(&phi, n, n, n).unwrap();
        // The report counts the diffuse solve's iterations; the voxels' solve is the harder one.
        let voxels: Vec<f64> = phi
            .iter()
            .map(|&p| if p >= 0.5 { 1.0 } else { FLOOR })
            .collect();
        let (_, voxel_iterations, voxel_residual) =
            relative_conductivity_y(&voxels, [n, n, n]).unwrap();
        eprintln!(
            "48³ spheres: porosity {:.3} (voxels {:.3}), τ {:.4} (voxels {:.4}), Bruggeman τ {:.4}, \
             CG iterations {} (voxels {voxel_iterations}), residual {:.1e} (voxels \
             {voxel_residual:.1e})",
            1.0 - c.solid_fraction,
            1.0 - c.voxel_solid_fraction,
            c.tortuosity_factor,
            c.voxel_tortuosity_factor,
            c.solid_fraction.powf(-0.5),
            c.solver_iterations,
            c.solver_residual_relative
        );
        assert!((c.voxel_solid_fraction - 0.6).abs() < 0.05, "{c:?}");
        assert!(c.solver_iterations < ITERATION_BOUND, "{c:?}");
        assert!(voxel_iterations < ITERATION_BOUND, "{voxel_iterations}");
        assert!(c.solver_residual_relative <= 1e-12 && voxel_residual <= 1e-12);
        for tau in [c.tortuosity_factor, c.voxel_tortuosity_factor] {
            assert!(tau.is_finite() && tau > 1.0 && tau < 3.0, "{c:?}");
        }
        assert!(c.relative.is_finite() && c.voxel_relative.is_finite());
        // The staircase pinches the necks between pores: the voxels conduct less.
        assert!(c.voxel_tortuosity_factor > c.tortuosity_factor, "{c:?}");
    }

    #[test]
    fn isolated_cells_do_not_stall_the_solver() {
        let n = 32;
        let u = random_field(n * n * n, 17);
        // Pore pockets in LLZO: 20 % of the voxels, mostly isolated (3D site percolation needs
        // 31 %).
        let pockets: Vec<f64> = u.iter().map(|&u| if u < 0.2 { 0.0 } else { 1.0 }).collect();
        let c = effective_conductivity_y_3d(&pockets, n, n, n).unwrap();
        eprintln!(
            "pore pockets: {} CG iterations, τ {:.4}",
            c.solver_iterations, c.tortuosity_factor
        );
        assert!(c.solver_iterations < ITERATION_BOUND, "{c:?}");
        assert!(
            c.tortuosity_factor > 1.0 && c.tortuosity_factor < 1.5,
            "{c:?}"
        );
        // LLZO islands in pore: 29 % of the voxels conduct, below the percolation threshold, so
        // every LLZO cluster floats in the floor (but for those touching a boundary).
        let islands: Vec<f64> = u
            .iter()
            .map(|&u| if u < 0.29 { 1.0 } else { FLOOR })
            .collect();
        let (relative, iterations, residual) =
            relative_conductivity_y(&islands, [n, n, n]).unwrap();
        eprintln!("LLZO islands: {iterations} CG iterations, σ_eff/σ_p {relative:.3e}");
        assert!(iterations < ISLAND_ITERATION_BOUND, "{iterations}");
        assert!(residual <= 1e-12);
        // No path conducts: the current is of the order of the floor.
        assert!(relative > 0.0 && relative < 1e3 * FLOOR, "{relative:e}");
    }
}
