// conc_update.wgsl — explicit Nernst–Planck step of c̃ = c/c0:
//   c̃_new = c̃ + Δt [∇·(D ∇c̃ + D c̃ f ∇φ) − (c_s/c0) r].
//
// Update:    conc_new[k] from c̃, φ, r and D (computed per cell from ξ, ϕ, as the CPU's
//            refreshed diffusivity array); harmonic-mean face diffusivities, c̃ on a face the
//            mean of its two cells; top boundary c̃ = 1, φ = 0 half a cell away; bottom no flux.
// Bindings:  0 uniform ConcParams; 1 xi, 2 phi, 3 conc, 4 potential, 5 rate (read);
//            6 control (read: dt); 7 conc_new (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), 1) workgroups of 16×16, one invocation per cell.
// Index:     k = j·nx + i, x periodic.
// Twin:      crates/lipf-core/src/cpu/conc_update.rs (conc_update, cell_diffusivity).

struct ConcParams {
    nx: u32,
    ny: u32,
    consistent: u32,
    _pad0: u32,
    inv_dx2: f32,
    f: f32,
    sink: f32,
    d_p: f32,
    d_e: f32,
    _pad1: f32,
    _pad2: f32,
    _pad3: f32,
}

// Device-side scalars of the running batch (twin: lipf_gpu::params::Control). Written by the
// single-invocation control kernels; the host reads it back only at the end of a batch.
struct Control {
    dt: f32,
    remaining: f32,
    v_collector: f32,
    current_a_m: f32,
    running: u32,
    step_count: u32,
    step_iterations: u32,
    max_solve_iterations: u32,
    rz: f32,
    alpha: f32,
    beta: f32,
    res: f32,
    tol: f32,
    converged: u32,
    solve_iterations: u32,
    not_converged: u32,
    i0: f32,
    i1: f32,
    flags: u32,
    substeps: u32,
    dt_sub: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: ConcParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> conc: array<f32>;
@group(0) @binding(4) var<storage, read> potential: array<f32>;
@group(0) @binding(5) var<storage, read> rate: array<f32>;
@group(0) @binding(6) var<storage, read> control: Control;
@group(0) @binding(7) var<storage, read_write> conc_new: array<f32>;

// ---- shared: common.wgsl ----
// h(x) = x³(6x² − 15x + 10) with x clamped to [0, 1].
fn h(x_in: f32) -> f32 {
    let x = clamp(x_in, 0.0, 1.0);
    return x * x * x * (x * (6.0 * x - 15.0) + 10.0);
}

// h'(x) = 30x²(1 − x)², zero outside [0, 1].
fn dh(x_in: f32) -> f32 {
    let x = clamp(x_in, 0.0, 1.0);
    let y = x * (1.0 - x);
    return 30.0 * y * y;
}

// Shape of the Butler–Volmer source across the Li interface: 6x(1 − x), zero outside [0, 1].
fn reaction_shape(x_in: f32) -> f32 {
    let x = clamp(x_in, 0.0, 1.0);
    return 6.0 * x * (1.0 - x);
}

// 2ab/(a + b), 0 when both are 0: the series conductance of a face between two cells.
fn harmonic_mean(a: f32, b: f32) -> f32 {
    if (a + b > 0.0) {
        return 2.0 * a * b / (a + b);
    }
    return 0.0;
}

// Cell conductivity, S/m. Consistent form: σ_p min(1, h(ϕ) + h(ξ)) + floor;
// single-potential form: σ_e h(ξ) + σ_p h(ϕ) + floor.
fn cell_conductivity(consistent: bool, sigma_p: f32, sigma_e: f32, sigma_floor: f32,
                     xi: f32, phi: f32) -> f32 {
    if (consistent) {
        return sigma_p * min(h(phi) + h(xi), 1.0) + sigma_floor;
    }
    return sigma_e * h(xi) + sigma_p * h(phi) + sigma_floor;
}

// Cell Li⁺ diffusivity, m²/s. Consistent form: D_p min(1, h(ϕ) + h(ξ));
// single-potential form: D_e h(ξ) + D_p h(ϕ).
fn cell_diffusivity(consistent: bool, d_p: f32, d_e: f32, xi: f32, phi: f32) -> f32 {
    if (consistent) {
        return d_p * min(h(phi) + h(xi), 1.0);
    }
    return d_e * h(xi) + d_p * h(phi);
}
// ---- end shared ----

fn dif(k: u32) -> f32 {
    return cell_diffusivity(p.consistent != 0u, p.d_p, p.d_e, xi[k], phi[k]);
}

// Flux into cell k from neighbour m through a face of diffusivity d (per Δx², unit area).
fn face(k: u32, m: u32, d: f32) -> f32 {
    return d * ((conc[m] - conc[k]) + 0.5 * (conc[m] + conc[k]) * p.f * (potential[m] - potential[k]));
}

@compute @workgroup_size(16, 16)
fn conc_update(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    // Invocations past the grid's edge do nothing.
    if (i >= p.nx || j >= p.ny) {
        return;
    }
    let nx = p.nx;
    let k = j * nx + i;
    let e = j * nx + (i + 1u) % nx;
    let w = j * nx + (i + nx - 1u) % nx;
    let dk = dif(k);
    var flux = 0.0;
    if (nx > 1u) {
        flux += face(k, e, harmonic_mean(dk, dif(e)));
        flux += face(k, w, harmonic_mean(dk, dif(w)));
    }
    if (j + 1u < p.ny) {
        flux += face(k, k + nx, harmonic_mean(dk, dif(k + nx)));
    } else {
        // Dirichlet c̃ = 1, φ = 0 on the top boundary, half a cell away.
        flux += 2.0 * dk * ((1.0 - conc[k]) + p.f * (0.0 - potential[k]));
    }
    if (j > 0u) {
        flux += face(k, k - nx, harmonic_mean(dk, dif(k - nx)));
    }
    conc_new[k] = conc[k] + control.dt * (flux * p.inv_dx2 - p.sink * rate[k]);
}
