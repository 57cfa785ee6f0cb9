// np_coefficients.wgsl — the 5-point stencil of the explicit Nernst–Planck update for one
// step, so that each sub-step (np_substep.wgsl) is one stencil pass:
//   c̃_k ← c̃_k + Δt (Σ_n a_n c̃_n + a_k c̃_k + b_k).
//
// Update:    stencil[6k..6k+6] = [a_west, a_east, a_south, a_north, a_self, b] (1/s) from D
//            (per cell from ξ, ϕ), φ and r: a face of diffusivity d (harmonic mean) gives
//            a_n = d (1 + ½ f Δφ)/Δx² and adds d (−1 + ½ f Δφ)/Δx² to a_self; the top boundary
//            (c̃ = 1, φ = 0 half a cell away) adds −2D/Δx² to a_self and 2D(1 − f φ)/Δx² to b;
//            b also holds the sink −(c_s/c0) r.
// Bindings:  0 uniform ConcParams; 1 xi, 2 phi, 3 potential, 4 rate (read); 5 stencil (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), 1) workgroups of 16×16, one invocation per cell.
// Index:     k = j·nx + i, x periodic; bottom no flux (missing faces keep zero coefficients).
// Twin:      crates/lipf-core/src/cpu/np_coefficients.rs.

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

@group(0) @binding(0) var<uniform> p: ConcParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> potential: array<f32>;
@group(0) @binding(4) var<storage, read> rate: array<f32>;
@group(0) @binding(5) var<storage, read_write> stencil: array<f32>;

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

@compute @workgroup_size(16, 16)
fn np_coefficients(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    // Invocations past the grid's edge do nothing.
    if (i >= p.nx || j >= p.ny) {
        return;
    }
    let nx = p.nx;
    let k = j * nx + i;
    let dk = dif(k);
    var s = array<f32, 6>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    // (slot, neighbour) pairs that exist.
    var slots = array<u32, 4>(0u, 0u, 0u, 0u);
    var nbs = array<u32, 4>(0u, 0u, 0u, 0u);
    var m = 0u;
    if (nx > 1u) {
        slots[m] = 0u;
        nbs[m] = j * nx + (i + nx - 1u) % nx;
        m += 1u;
        slots[m] = 1u;
        nbs[m] = j * nx + (i + 1u) % nx;
        m += 1u;
    }
    if (j > 0u) {
        slots[m] = 2u;
        nbs[m] = k - nx;
        m += 1u;
    }
    if (j + 1u < p.ny) {
        slots[m] = 3u;
        nbs[m] = k + nx;
        m += 1u;
    }
    for (var q = 0u; q < m; q++) {
        let nb = nbs[q];
        let d = harmonic_mean(dk, dif(nb)) * p.inv_dx2;
        let half_drift = 0.5 * p.f * (potential[nb] - potential[k]);
        s[slots[q]] = d * (1.0 + half_drift);
        s[4] += d * (-1.0 + half_drift);
    }
    if (j + 1u >= p.ny) {
        s[4] -= 2.0 * dk * p.inv_dx2;
        s[5] += 2.0 * dk * p.inv_dx2 * (1.0 - p.f * potential[k]);
    }
    s[5] -= p.sink * rate[k];
    for (var q = 0u; q < 6u; q++) {
        stencil[6u * k + q] = s[q];
    }
}
