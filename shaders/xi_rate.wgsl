// xi_rate.wgsl — ξ rate split into a part independent of the new potential and its
// linearisation in the overpotential: a = r_ac + G(η*) + g η* and g, so that r = a − g η.
//
// Update:    a[k], g[k] for every cell from ξ, ϕ, c̃ and the linearisation point η*:
//            r_ac = −Lσ μ, μ = f'_W(ξ) + 2A ξ ϕ² + O'(ξ, ϕ) − ∇·J with the polynomial or
//            the translation-invariant ("sharp") double-well slope f'_W, the obstacle slope O'
//            (scaffold: 2B (ξ − ξc)₊ [ϕ > ½]; room, two-potential form: 2B (ξ + ϕ − 1)₊) and
//            the Kobayashi anisotropic flux J on cell faces; the Butler–Volmer source
//            Lη s(ξ) B(η + μ_η), s = 6ξ(1−ξ), with B continued linearly beyond
//            |η| = max_bv_overpotential_v and μ_η = μ/(nF c_s) the chemical potential of ξ as a
//            potential in the two-potential form (0 otherwise). Then the obstacle by backward
//            Euler over Δt_p = min(obstacle_dt_cap, control.remaining) (0: explicit), outside
//            the interphase's band (implicit_obstacle).
// Bindings:  0 uniform XiRateParams; 1 xi, 2 phi, 3 conc, 4 eta_star (read);
//            5 a_out, 6 g_out (write); 7 control (read: remaining).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     k = (kz·ny + j)·nx + i, row j = 0 at the current collector; x and z periodic, no
//            flux of ξ through the bottom and top; the z faces (nz > 1) carry κ0 ∂zξ.
// Twin:      crates/lipf-core/src/cpu/xi_rate.rs (xi_rate, double_well_slope, sharp_lambda,
//            obstacle_slope, room_obstacle_slope, chemical_overpotential, kobayashi_flux,
//            butler_volmer, obstacle_excess, implicit_obstacle, obstacle_step_s).
//            cos θ0, sin θ0, e^a and e^−a come precomputed from the host.
// Imports:   shared/interp.wgsl, shared/control.wgsl, shared/grid.wgsl

struct XiRateParams {
    nx: u32,
    ny: u32,
    omega: u32,
    reaction_on: u32,
    inv_dx_m: f32,
    l_sigma: f32,
    w1: f32,
    a_cross: f32,
    b_obstacle: f32,
    obstacle_xi_threshold: f32,
    kappa0: f32,
    delta: f32,
    cos_theta0: f32,
    sin_theta0: f32,
    l_eta: f32,
    f: f32,
    alpha: f32,
    beta: f32,
    max_bv_overpotential_v: f32,
    sharp_a: f32,
    exp_sharp_a: f32,
    exp_minus_sharp_a: f32,
    room_obstacle: u32,
    inv_nf_cs: f32,
    // The rectifying interphase's band, ip_phi_lo ≤ ϕ < ip_phi_hi (both 0: none): ξ is held.
    ip_phi_lo: f32,
    ip_phi_hi: f32,
    // The largest step of the implicit obstacle, min(stability limit, max Δt), s (0: explicit).
    obstacle_dt_cap: f32,
    // Sections along z (1: a 2D section); with nz > 1 the gradient term has the isotropic z
    // fluxes κ0 ∂zξ.
    nz: u32,
}

@group(0) @binding(0) var<uniform> p: XiRateParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> conc: array<f32>;
@group(0) @binding(4) var<storage, read> eta_star: array<f32>;
@group(0) @binding(5) var<storage, read_write> a_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> g_out: array<f32>;
@group(0) @binding(7) var<storage, read> control: Control;

// The first cell of the invocation's x–y section (k·nx·ny), set at the entry.
var<private> section_base: u32;

fn at(i: u32, j: u32) -> f32 {
    return xi[section_base + j * p.nx + i];
}
fn east(i: u32) -> u32 {
    if (i + 1u == p.nx) {
        return 0u;
    }
    return i + 1u;
}
fn west(i: u32) -> u32 {
    if (i == 0u) {
        return p.nx - 1u;
    }
    return i - 1u;
}
fn up(j: u32) -> u32 {
    return min(j + 1u, p.ny - 1u);
}
fn down(j: u32) -> u32 {
    if (j == 0u) {
        return 0u;
    }
    return j - 1u;
}

// ∂/∂ξ of the scaffold obstacle B (ξ − ξc)₊² [ϕ > ½]: zero outside the scaffold and below ξc.
// ϕ is static, so the step in ϕ is only a fixed spatial mask (as the CPU twin; a ramp in ϕ
// would weaken the obstacle in the cells next to a pore, where it matters most).
fn obstacle_slope(x: f32, ph: f32) -> f32 {
    if (ph > 0.5) {
        return 2.0 * p.b_obstacle * max(x - p.obstacle_xi_threshold, 0.0);
    }
    return 0.0;
}

// ∂/∂ξ of the room obstacle B (ξ + ϕ − 1)₊²: Li and LLZO share a cell only as far as their volume
// fractions fit (two-potential form). The excess is formed as ξ − (1 − ϕ), exact in f32 where Li
// nearly fills the room (both differences are then exact; ξ + ϕ would round near 1, and the
// (·)₊ would keep the upward roundings).
fn room_obstacle_slope(x: f32, ph: f32) -> f32 {
    return 2.0 * p.b_obstacle * max(x - (1.0 - ph), 0.0);
}

// The obstacle's signed excess: ξ − (1 − ϕ) (room; exact in f32 near the room) or ξ − ξc where
// ϕ > ½ (scaffold), as (acts, excess): .x = 0 where no obstacle acts.
fn obstacle_excess(x: f32, ph: f32) -> vec2<f32> {
    if (p.room_obstacle != 0u) {
        return vec2<f32>(1.0, x - (1.0 - ph));
    }
    if (ph > 0.5) {
        return vec2<f32>(1.0, x - p.obstacle_xi_threshold);
    }
    return vec2<f32>(0.0, 0.0);
}

// The obstacle by backward Euler over Δt_p = min(obstacle_dt_cap, remaining time) (the CPU
// twin's implicit_obstacle): r = r0 − J e₊, J = 2B (Lσ + g/(nF c_s)); with ẽ = e + Δt_p r0 at η*,
// (a0, g) if ẽ ≤ 0, else ((a0 − J e), g)/(1 + J Δt_p), a0 = a + J e₊.
fn implicit_obstacle(ex: vec2<f32>, eta_star: f32, a: f32, g: f32) -> vec2<f32> {
    let dt = max(min(p.obstacle_dt_cap, control.remaining), 0.0);
    if (ex.x == 0.0 || dt <= 0.0) {
        return vec2<f32>(a, g);
    }
    let e = ex.y;
    var reaction = 0.0;
    if (p.room_obstacle != 0u) {
        reaction = g * p.inv_nf_cs;
    }
    let j = 2.0 * p.b_obstacle * (p.l_sigma + reaction);
    let a0 = a + j * max(e, 0.0);
    if (e + dt * (a0 - g * eta_star) > 0.0) {
        let d = 1.0 / (1.0 + j * dt);
        return vec2<f32>((a0 - j * e) * d, g * d);
    }
    return vec2<f32>(a0, g);
}

// The chemical potential μ (J/m³) of ξ as a potential, μ/(nF c_s), in the two-potential form;
// 0 otherwise.
fn chemical_overpotential(mu: f32) -> f32 {
    if (p.room_obstacle != 0u) {
        return mu * p.inv_nf_cs;
    }
    return 0.0;
}

// Λ_a(q) = q/(q + (1−q)e^a) + q/(q + (1−q)e^−a) − 2q: the lattice Laplacian of the logistic
// profile as a function of its local value.
fn sharp_lambda(q: f32) -> f32 {
    let r = 1.0 - q;
    return q / (q + r * p.exp_sharp_a) + q / (q + r * p.exp_minus_sharp_a) - 2.0 * q;
}

fn double_well_poly(x: f32) -> f32 {
    return 2.0 * p.w1 * x * (1.0 - x) * (1.0 - 2.0 * x);
}

// ∂/∂ξ of the Li double well W1 ξ²(1−ξ)²: polynomial (sharp_a = 0) or sharp.
fn double_well_slope(x: f32) -> f32 {
    if (p.sharp_a == 0.0) {
        return double_well_poly(x);
    }
    // Outside [0, 1] the polynomial's excess is added so that overshoots are pulled back.
    let xc = clamp(x, 0.0, 1.0);
    return 2.0 * p.w1 / (p.sharp_a * p.sharp_a) * sharp_lambda(xc) + double_well_poly(x)
        - double_well_poly(xc);
}

// Anisotropic flux pair (Jx, Jy) for a face gradient (gx, gy).
fn kobayashi_flux(gx: f32, gy: f32) -> vec2<f32> {
    if (p.delta == 0.0 || p.omega == 0u) {
        return p.kappa0 * vec2<f32>(gx, gy);
    }
    let g2 = gx * gx + gy * gy;
    if (g2 < 1e-30 * p.inv_dx_m * p.inv_dx_m) {
        return p.kappa0 * vec2<f32>(gx, gy);
    }
    let inv = 1.0 / sqrt(g2);
    // Unit gradient rotated by −θ0, raised to the ω-th power: (cos ωθ', sin ωθ').
    let ux = gx * inv;
    let uy = gy * inv;
    let cr = ux * p.cos_theta0 + uy * p.sin_theta0;
    let sr = uy * p.cos_theta0 - ux * p.sin_theta0;
    var cw = 1.0;
    var sw = 0.0;
    for (var n = 0u; n < p.omega; n++) {
        let t = cw * cr - sw * sr;
        sw = cw * sr + sw * cr;
        cw = t;
    }
    let kappa = p.kappa0 * (1.0 + p.delta * cw);
    let half_dkappa = -0.5 * p.kappa0 * p.delta * f32(p.omega) * sw;
    return vec2<f32>(kappa * gx - half_dkappa * gy, kappa * gy + half_dkappa * gx);
}

// Butler–Volmer bracket B(η) and its slope dB/dη, continued linearly beyond the bound.
fn butler_volmer(eta: f32, c: f32) -> vec2<f32> {
    let ec = clamp(eta, -p.max_bv_overpotential_v, p.max_bv_overpotential_v);
    let xa = exp((1.0 - p.alpha) * p.f * ec);
    let xc = max(c, 0.0) * exp(-p.beta * p.f * ec);
    let slope = p.f * ((1.0 - p.alpha) * xa + p.beta * xc);
    return vec2<f32>(xa - xc + slope * (eta - ec), slope);
}

// Flux through the east face of (i, j).
fn jx_east(i: u32, j: u32) -> f32 {
    let e = east(i);
    let gx = (at(e, j) - at(i, j)) * p.inv_dx_m;
    let gy = 0.25 * p.inv_dx_m * (at(i, up(j)) - at(i, down(j)) + at(e, up(j)) - at(e, down(j)));
    return kobayashi_flux(gx, gy).x;
}

// Flux through the north face of (i, j); zero through the top boundary (no flux).
fn jy_north(i: u32, j: u32) -> f32 {
    if (j + 1u >= p.ny) {
        return 0.0;
    }
    let e = east(i);
    let w = west(i);
    let gy = (at(i, j + 1u) - at(i, j)) * p.inv_dx_m;
    let gx = 0.25 * p.inv_dx_m * (at(e, j) - at(w, j) + at(e, j + 1u) - at(w, j + 1u));
    return kobayashi_flux(gx, gy).y;
}

@compute @workgroup_size(16, 16)
fn xi_rate(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    let kz = gid.z;
    // The grid is rarely a multiple of the workgroup size: invocations past its edge do nothing.
    if (i >= p.nx || j >= p.ny || kz >= p.nz) {
        return;
    }
    let section = p.nx * p.ny;
    section_base = kz * section;
    let k = section_base + j * p.nx + i;
    let x = xi[k];
    let ph = phi[k];
    var south = 0.0;
    if (j > 0u) {
        south = jy_north(i, j - 1u);
    }
    var flux = jx_east(i, j) - jx_east(west(i), j) + jy_north(i, j) - south;
    if (p.nz > 1u) {
        // κ0 ∂zξ on the front face minus the back face's (z periodic).
        let front = front_cell(k, kz, section, p.nz);
        let back = back_cell(k, kz, section, p.nz);
        flux += p.kappa0 * (xi[front] - x) * p.inv_dx_m - p.kappa0 * (x - xi[back]) * p.inv_dx_m;
    }
    let div = flux * p.inv_dx_m;
    var obstacle: f32;
    if (p.room_obstacle != 0u) {
        obstacle = room_obstacle_slope(x, ph);
    } else {
        obstacle = obstacle_slope(x, ph);
    }
    let df0 = double_well_slope(x) + 2.0 * p.a_cross * x * ph * ph + obstacle;
    let mu = df0 - div;
    let r_ac = -p.l_sigma * mu;
    var a = r_ac;
    var g = 0.0;
    if (in_interphase(ph, p.ip_phi_lo, p.ip_phi_hi)) {
        // The interphase's band: ξ is held (every change of ξ carries charge, and the layer
        // passes no Li).
        a = 0.0;
    } else if (p.reaction_on != 0u) {
        let w = p.l_eta * reaction_shape(x);
        if (w > 0.0) {
            let eta = eta_star[k];
            let bv = butler_volmer(eta + chemical_overpotential(mu), conc[k]);
            g = w * bv.y;
            a += -w * bv.x + g * eta;
        }
    }
    var out = vec2<f32>(a, g);
    if (!in_interphase(ph, p.ip_phi_lo, p.ip_phi_hi)) {
        out = implicit_obstacle(obstacle_excess(x, ph), eta_star[k], a, g);
    }
    a_out[k] = out.x;
    g_out[k] = out.y;
}
