// electronic_assemble.wgsl — the 5-point current-continuity operator of the electrons and its two
// right-hand sides (two-potential form; the ionic problem is potential_assemble.wgsl).
//
// Update:    op = [tx | ty | s | diag | tbot] of σ_s = σ_e h(min(ξ, 1 − ϕ)) + σ_e,el h(ϕ) +
//            σ_floor (harmonic-mean face conductances, Dirichlet conductance 2σ_s to the counter
//            electrode at the top and to the collector at the bottom), the linearised reaction
//            S = q g (the ionic problem's), the cached diagonal Σ T + S; b0 = +q (a + g E⁰) (the
//            ionic sink with the opposite sign: the reaction takes one ion and one electron);
//            b1 = −T_top in the top row and 0 elsewhere (the response to the collector potential
//            solved relative to it: collector at 0, counter electrode at −1).
//            The rectifying interphase's band (ip_phi_lo ≤ ϕ < ip_phi_hi; none when both 0): no
//            metal path, σ_s = 1/(1/(σ_e,el h(ϕ) + σ_floor) + ASR/ℓ) with the forward or reverse
//            ASR/ℓ, reverse where
//            ∇φ_s·∇ϕ > 0 for the previous step's φ_s (central differences; beyond the bottom
//            and top rows the cell itself).
// Bindings:  0 uniform ElectronicParams; 1 xi, 2 phi, 3 a, 4 g (read); 5 op, 6 b0, 7 b1 (write);
//            8 phi_s, the previous step's electronic potential (read).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i, row 0 at the collector; x and z periodic; op layout as in
//            potential_assemble.wgsl.
// Twin:      crates/lipf-core/src/cpu/electronic_assemble.rs (electronic_assemble,
//            electronic_conductivity, metal_path, interphase_bias, interphase_conductivity), with Operator::update_diagonal
//            (cpu/operator.rs) folded in: the diagonal is built from the neighbours' σ_s.
// Imports:   shared/interp.wgsl, shared/operator.wgsl, shared/grid.wgsl

struct ElectronicParams {
    nx: u32,
    ny: u32,
    ip_phi_lo: f32,
    ip_phi_hi: f32,
    q: f32,
    e0_v: f32,
    sigma_e: f32,
    sigma_e_el: f32,
    sigma_floor: f32,
    ip_forward: f32,
    ip_reverse: f32,
    // λ of the electrolyte fraction (shared/interp.wgsl): 1 for a liquid, 0 for the solid.
    liquid: f32,
    // Sections along z (1: a 2D section).
    nz: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: ElectronicParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> a: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> op: array<f32>;
@group(0) @binding(6) var<storage, read_write> b0: array<f32>;
@group(0) @binding(7) var<storage, read_write> b1: array<f32>;
@group(0) @binding(8) var<storage, read> phi_s: array<f32>;

// h(ξ_m), ξ_m = min(ξ, 1 − (1 − λ)ϕ): beside a solid electrolyte Li conducts as metal only in
// the room the scaffold leaves a cell, in a liquid wherever it is.
fn metal_path(x: f32, ph: f32) -> f32 {
    return h(min(x, metal_room(ph, p.liquid)));
}

// Electronic cell conductivity σ_s = σ_e m + σ_e,el h(e) + σ_floor, S/m.
fn electronic_conductivity(x: f32, ph: f32) -> f32 {
    return p.sigma_e * metal_path(x, ph) + p.sigma_e_el * h(electrolyte_fraction(x, ph, p.liquid))
        + p.sigma_floor;
}

// The bias of cell (i, j) of section kz across the interphase,
// (ϕ_E − ϕ_W)(φ_E − φ_W) + (ϕ_N − ϕ_S)(φ_N − φ_S) (+ (ϕ_F − ϕ_B)(φ_F − φ_B) when nz > 1):
// positive when φ_s rises into the electrolyte (reverse bias).
fn interphase_bias(i: u32, j: u32, kz: u32) -> f32 {
    let nx = p.nx;
    let base = kz * nx * p.ny + j * nx;
    let k = base + i;
    let e = base + (i + 1u) % nx;
    let w = base + (i + nx - 1u) % nx;
    var nn = k;
    if (j + 1u < p.ny) {
        nn = k + nx;
    }
    var ss = k;
    if (j > 0u) {
        ss = k - nx;
    }
    var bias = (phi[e] - phi[w]) * (phi_s[e] - phi_s[w]) + (phi[nn] - phi[ss]) * (phi_s[nn] - phi_s[ss]);
    if (p.nz > 1u) {
        let f = front_cell(k, kz, nx * p.ny, p.nz);
        let b = back_cell(k, kz, nx * p.ny, p.nz);
        bias += (phi[f] - phi[b]) * (phi_s[f] - phi_s[b]);
    }
    return bias;
}

// Electronic conductivity of a band cell, S/m: the electrolyte's with the layer's ASR/ℓ in
// series, the reverse one when `bias` > 0.
fn interphase_conductivity(ph: f32, bias: f32) -> f32 {
    var layer = p.ip_forward;
    if (bias > 0.0) {
        layer = p.ip_reverse;
    }
    let sigma = p.sigma_e_el * h(ph) + p.sigma_floor;
    return 1.0 / (1.0 / sigma + layer);
}

// σ_s of cell (i, j) of section kz.
fn sigma_s(i: u32, j: u32, kz: u32) -> f32 {
    let k = (kz * p.ny + j) * p.nx + i;
    if (in_interphase(phi[k], p.ip_phi_lo, p.ip_phi_hi)) {
        return interphase_conductivity(phi[k], interphase_bias(i, j, kz));
    }
    return electronic_conductivity(xi[k], phi[k]);
}

@compute @workgroup_size(16, 16)
fn electronic_assemble(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    let kz = gid.z;
    // Invocations past the grid's edge do nothing.
    if (i >= p.nx || j >= p.ny || kz >= p.nz) {
        return;
    }
    let nx = p.nx;
    let k = (kz * p.ny + j) * nx + i;
    let sk = sigma_s(i, j, kz);
    var tx = 0.0;
    var tx_west = 0.0;
    if (nx > 1u) {
        tx = harmonic_mean(sk, sigma_s((i + 1u) % nx, j, kz));
        tx_west = harmonic_mean(sigma_s((i + nx - 1u) % nx, j, kz), sk);
    }
    var ty: f32;
    var r1 = 0.0;
    if (j + 1u < p.ny) {
        ty = harmonic_mean(sk, sigma_s(i, j + 1u, kz));
    } else {
        // The counter electrode, half a cell away; at −1 relative to the collector.
        ty = 2.0 * sk;
        r1 = -ty;
    }
    // The collector, half a cell below row 0.
    let tbot = 2.0 * sk;
    var ty_south: f32;
    if (j > 0u) {
        ty_south = harmonic_mean(sigma_s(i, j - 1u, kz), sk);
    } else {
        ty_south = tbot;
    }
    var tz = 0.0;
    var tz_back = 0.0;
    if (p.nz > 1u) {
        let kf = (kz + 1u) % p.nz;
        let kb = (kz + p.nz - 1u) % p.nz;
        tz = harmonic_mean(sk, sigma_s(i, j, kf));
        tz_back = harmonic_mean(sigma_s(i, j, kb), sk);
    }
    let s = p.q * g[k];
    store_operator(i, j, kz, tx, tx_west, ty, ty_south, tz, tz_back, s, tbot);
    b0[k] = p.q * (a[k] + g[k] * p.e0_v);
    b1[k] = r1;
}
