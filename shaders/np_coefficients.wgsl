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
// Imports:   shared/conc.wgsl, shared/interp.wgsl, shared/diffusivity.wgsl

@group(0) @binding(0) var<uniform> p: ConcParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> potential: array<f32>;
@group(0) @binding(4) var<storage, read> rate: array<f32>;
@group(0) @binding(5) var<storage, read_write> stencil: array<f32>;

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
