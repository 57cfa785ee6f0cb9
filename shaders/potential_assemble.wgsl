// potential_assemble.wgsl — the 5-point current-continuity operator and its two right-hand
// sides (φ = φ0 + V φ1, V the collector potential).
//
// Update:    op = [tx | ty | s | diag | tbot] (harmonic-mean face conductances, Dirichlet
//            conductance 2σ to the top boundary, linearised reaction S, cached diagonal
//            Σ T + S, bottom conductance), b0 and b1.
//            Two-potential form (the ionic problem): S = q g, b0 = −q (a + g E⁰), tbot = 0,
//              b1 = −T_top in the top row and 0 elsewhere (the response to the collector
//              potential solved relative to it; see electronic_assemble.wgsl).
//            Consistent form: S = q g, b0 = −q (a + g E⁰), b1 = S, tbot = 0.
//            Single-potential form: S = 0, b0 = −q (a − g η*), b1 = tbot = 2σ on row 0.
// Bindings:  0 uniform AssembleParams; 1 xi, 2 phi, 3 a, 4 g, 5 eta_star (read);
//            6 op, 7 b0, 8 b1 (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i, row 0 at the collector; x and z periodic. op holds tx at k,
//            ty at n + k, s at 2n + k, diag at 3n + k, tbot at 4n + kz·nx + i and (nz > 1) tz
//            at 4n + nx·nz + k (n = nx·ny·nz; shared/multigrid.wgsl).
// Twin:      crates/lipf-core/src/cpu/potential_assemble.rs, with Operator::update_diagonal
//            (cpu/operator.rs) folded in: the diagonal is built from the neighbours' σ.
// Imports:   shared/interp.wgsl, shared/operator.wgsl, shared/grid.wgsl

struct AssembleParams {
    nx: u32,
    ny: u32,
    form: u32,
    // λ of the electrolyte fraction (shared/interp.wgsl): 1 for a liquid, 0 for the solid.
    liquid: f32,
    q: f32,
    e0_v: f32,
    sigma_p: f32,
    sigma_e: f32,
    sigma_floor: f32,
    // The interphase's band (two-potential form): lo ≤ ϕ < hi (both 0: none), where the layer's
    // ionic ASR is in series (k = σ_p ASR/ℓ; shared/interp.wgsl).
    ip_phi_lo: f32,
    ip_phi_hi: f32,
    ip_ionic_k: f32,
    // Sections along z (1: a 2D section).
    nz: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: AssembleParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> a: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read> eta_star: array<f32>;
@group(0) @binding(6) var<storage, read_write> op: array<f32>;
@group(0) @binding(7) var<storage, read_write> b0: array<f32>;
@group(0) @binding(8) var<storage, read_write> b1: array<f32>;

fn sigma(k: u32) -> f32 {
    let scale = interphase_ionic_scale(
        phi[k], p.ip_phi_lo, p.ip_phi_hi, p.ip_ionic_k, p.sigma_floor / p.sigma_p);
    return scale * cell_conductivity(p.form, p.sigma_p, p.sigma_e, p.sigma_floor, xi[k], phi[k],
                                     p.liquid);
}

@compute @workgroup_size(16, 16)
fn potential_assemble(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    let kz = gid.z;
    // Invocations past the grid's edge do nothing.
    if (i >= p.nx || j >= p.ny || kz >= p.nz) {
        return;
    }
    let nx = p.nx;
    let section = nx * p.ny;
    let base = kz * section + j * nx;
    let k = base + i;
    // The rate is implicit in the potential (consistent and two-potential forms).
    let implicit = p.form != FORM_SINGLE_POTENTIAL;
    let sk = sigma(k);
    let e = base + (i + 1u) % nx;
    let w = base + (i + nx - 1u) % nx;
    var tx = 0.0;
    var tx_west = 0.0;
    if (nx > 1u) {
        tx = harmonic_mean(sk, sigma(e));
        tx_west = harmonic_mean(sigma(w), sk);
    }
    var ty: f32;
    if (j + 1u < p.ny) {
        ty = harmonic_mean(sk, sigma(k + nx));
    } else {
        ty = 2.0 * sk;
    }
    var tbot = 0.0;
    if (!implicit) {
        tbot = 2.0 * sk;
    }
    var ty_south: f32;
    if (j > 0u) {
        ty_south = harmonic_mean(sigma(k - nx), sk);
    } else {
        ty_south = tbot;
    }
    var tz = 0.0;
    var tz_back = 0.0;
    if (p.nz > 1u) {
        tz = harmonic_mean(sk, sigma(front_cell(k, kz, section, p.nz)));
        tz_back = harmonic_mean(sigma(back_cell(k, kz, section, p.nz)), sk);
    }
    var s: f32;
    var r0: f32;
    var r1: f32;
    if (implicit) {
        // r = a − g (φ_s − φ − E⁰) = (a + g E⁰) − g φ_s + g φ, φ_s = V (consistent)
        s = p.q * g[k];
        r0 = -p.q * (a[k] + g[k] * p.e0_v);
        if (p.form == FORM_CONSISTENT) {
            r1 = s;
        } else {
            r1 = 0.0;
        }
    } else {
        s = 0.0;
        r0 = -p.q * (a[k] - g[k] * eta_star[k]);
        r1 = 0.0;
    }
    if (p.form == FORM_TWO_POTENTIAL && j + 1u == p.ny) {
        // Relative to the collector potential: the counter electrode at −1 for V = 1.
        r1 = -ty;
    }
    if (j == 0u && !implicit) {
        r1 += tbot;
    }
    store_operator(i, j, kz, tx, tx_west, ty, ty_south, tz, tz_back, s, tbot);
    b0[k] = r0;
    b1[k] = r1;
}
