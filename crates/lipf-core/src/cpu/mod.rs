//! CPU reference kernels. Each file `x.rs` that exports a function `x` is one kernel with a WGSL
//! twin `shaders/x.wgsl` that performs the same update; the others are shared helpers.
//! Kernels are plain loops over x-rows r = k·ny + j (parallel over rows with rayon,
//! deterministic); a 3D grid is nz sections of ny rows.
//!
//! | kernel | update |
//! |---|---|
//! | `xi_rate` | Allen–Cahn rate and linearised Butler–Volmer (a, g) |
//! | `potential_assemble` | 5-point (3D: 7-point) operator and right-hand sides of current continuity (ions) |
//! | `electronic_assemble` | the same for the electrons (two-potential form) |
//! | `mg_smooth`, `mg_residual`, `mg_restrict`, `mg_prolong`, `mg_coarsen` | multigrid |
//! | `collector` | galvanostatic V = (I_target − I0)/I1, φ = φ0 + V φ1, the top-boundary current |
//! | `reaction_rate` | final ξ rate r and overpotential η |
//! | `time_step` | Δt (stability, ξ change, max Δt, landing) and the Nernst–Planck sub-steps |
//! | `xi_noise` | conserved Langevin noise: D = A Σ_faces ±m ζ per cell (Philox4x32-10) |
//! | `xi_update` | ξ ← ξ + Δt r + √Δt D |
//! | `xi_gradient_operator` | the operator 1 − Δt Lσ κ_max ∇² whose solve gives the ξ increment with the semi-implicit gradient term |
//! | `xi_gradient_rhs` | its right-hand side Δt r (+ √Δt D) and first guess |
//! | `xi_gradient_finish` | ξ ← ξ + δ after the solve |
//! | `conc_update` | Nernst–Planck step of c̃ (reference form, one step) |
//! | `np_coefficients` | the same step's stencil, computed once per step |
//! | `np_substep` | one Nernst–Planck sub-step with that stencil (`model.nernst_planck = "explicit"`) |
//! | `np_assemble` | the implicit Nernst–Planck step as an SPD 5-point (3D: 7-point) problem in u = c̃ e^{fφ} |
//! | `np_finish` | c̃ = e^{−fφ} u after that problem is solved |
//! | `creep_assemble` | Li creep: the pressure problem of the metal's Darcy flow (its active-set update `update_active_set` has the WGSL kernel `creep_active_set`) |
//! | `creep_finish` | ξ gives up its excess and takes up the inflow after that problem is solved |
//! | `range_check` | first cell of each field outside its admissible range |
//! | `cg_control` | the CG scalars: stopping test, α, β, iteration count, breakdown (`solver.rs`) |
//! | `cg_vectors` | the CG vector updates x += αp, r −= αq and p = z + βp (`solver.rs`) |
//! | `reduce` | the CG sums: dot products and L1 norms (`solver.rs`) |
//! | `copy` | (no file) `copy_from_slice` and zeroing: the WGSL `copy`/`fill_zero` mirror the buffer swaps and zero initial guesses |
//! | `observables` | Σξ and Σ(ξ + ϕ − 1)₊, the cell sums of the time series (`observables.rs`) |

pub mod cg_control;
pub mod cg_vectors;
pub mod collector;
pub mod conc_update;
pub mod creep_assemble;
pub mod creep_finish;
pub mod electronic_assemble;
pub mod interp;
pub mod mg_coarsen;
pub mod mg_prolong;
pub mod mg_residual;
pub mod mg_restrict;
pub mod mg_smooth;
pub mod np_assemble;
pub mod np_coefficients;
pub mod np_finish;
pub mod np_substep;
pub mod observables;
pub mod operator;
pub mod par;
pub mod potential_assemble;
pub mod range_check;
pub mod reaction_rate;
pub mod reduce;
pub mod time_step;
pub mod xi_gradient_finish;
pub mod xi_gradient_operator;
pub mod xi_gradient_rhs;
pub mod xi_noise;
pub mod xi_rate;
pub mod xi_update;
