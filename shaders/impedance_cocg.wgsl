// impedance_cocg.wgsl — the vector updates and scalar steps of Jacobi-preconditioned COCG
// (van der Vorst & Melissen 1990) for the complex symmetric impedance system, f64 complex
// (vec2<f64> = (re, im)), with the unconjugated bilinear form xᵀy. One iteration is
//   apply_dot (impedance_apply.wgsl: q = A p, pᵀq) → finish_alpha → update_xr → finish_beta →
//   update_p,
// and a (re)start is residual (impedance_apply.wgsl: r = b − A x) → finish_init → update_p.
//
// Update:    finish_init: S = Σ partials = (rᵀz, |r|², |b|²): ρ = rᵀz, rr, bb; state = converged
//              when rr ≤ accept_tol²·bb, else running; α = β = 0 (so update_p sets p = z);
//            finish_alpha: α = ρ / pᵀq while running; a zero pᵀq or ρ stops with state = breakdown;
//            update_xr: x += α p, r −= α q, z = M⁻¹r; partials[w] = (Σ_w rᵀz, Σ_w |r|², 0);
//            finish_beta: while running: iterations += 1, rr = Σ|r|²; converged when
//              rr ≤ tol²·bb, stopped (state = limit) at max_iter, else β = ρ_new/ρ, ρ = ρ_new;
//            update_p: p = M⁻¹r + β p.
//            Once the state is not `running`, α = β = 0: x and r no longer change, so a batch of
//            iterations may run past convergence; the host reads `control` after each batch.
// Bindings:  0 uniform ImpedanceParams; 1 partials (read_write, one vec4<f64> per workgroup);
//            2 control (read_write, CocgControl); 3 dinv (read: (d, 1/d) per node); 4 x, 5 r,
//            6 p (read_write); 7 q (read).
//            finish_*: 0–2; update_xr: 0–7; update_p: 0, 2, 3, 5, 6.
// Dispatch:  finish_*: (1, 1, 1), one workgroup of 256 summing partials[t + 256·m] (m = 0, 1, …
//            while < groups) and then a tree (a fixed order: deterministic). update_xr,
//            update_p: (groups, 1, 1) workgroups of 256, grid-stride over the n nodes as in
//            impedance_apply.wgsl; groups ≤ 1024.
// Index:     node i = unknown index of lipf_impedance::network::Network (0..n).
// Twin:      crates/lipf-impedance/src/kernels/impedance_cocg.rs (same names, same arithmetic);
//            the loop mirrors the COCG branch of crates/lipf-impedance/src/solver.rs
//            (krylov_solve). f64 throughout: needs SHADER_F64 (naga Capabilities::FLOAT64).
// Imports:   shared/complex.wgsl

// Device-side scalars of one solve (twin: lipf_impedance::kernels::CocgControl).
struct CocgControl {
    rho: vec2<f64>,
    alpha: vec2<f64>,
    beta: vec2<f64>,
    rr: f64,
    bb: f64,
    iterations: u32,
    state: u32,
    _pad0: u32,
    _pad1: u32,
}

const RUNNING: u32 = 0u;
const CONVERGED: u32 = 1u;
const BREAKDOWN: u32 = 2u;
const LIMIT: u32 = 3u;

@group(0) @binding(0) var<uniform> params: ImpedanceParams;
@group(0) @binding(1) var<storage, read_write> partials: array<vec4<f64>>;
@group(0) @binding(2) var<storage, read_write> control: CocgControl;
@group(0) @binding(3) var<storage, read> dinv: array<vec4<f64>>;
@group(0) @binding(4) var<storage, read_write> x: array<vec2<f64>>;
@group(0) @binding(5) var<storage, read_write> r: array<vec2<f64>>;
@group(0) @binding(6) var<storage, read_write> p: array<vec2<f64>>;
@group(0) @binding(7) var<storage, read> q: array<vec2<f64>>;

// a / b as num_complex computes it: (a·conj(b)) / |b|².
fn cdiv(a: vec2<f64>, b: vec2<f64>) -> vec2<f64> {
    let s = b.x * b.x + b.y * b.y;
    return vec2<f64>((a.x * b.x + a.y * b.y) / s, (a.y * b.x - a.x * b.y) / s);
}

// Σ partials[0..groups] in a fixed order; every invocation of the single workgroup gets it.
fn sum_partials(t: u32) -> vec4<f64> {
    var s = vec4<f64>(0.0, 0.0, 0.0, 0.0);
    for (var w = t; w < params.groups; w += 256u) {
        s += partials[w];
    }
    return ctree_sum(t, s);
}

@compute @workgroup_size(256)
fn finish_init(@builtin(local_invocation_id) lid: vec3<u32>) {
    let s = sum_partials(lid.x);
    if (lid.x != 0u) {
        return;
    }
    control.rho = s.xy;
    control.rr = s.z;
    control.bb = s.w;
    control.alpha = vec2<f64>(0.0, 0.0);
    control.beta = vec2<f64>(0.0, 0.0);
    if (s.z <= params.accept_tol * params.accept_tol * s.w) {
        control.state = CONVERGED;
    } else {
        control.state = RUNNING;
    }
}

@compute @workgroup_size(256)
fn finish_alpha(@builtin(local_invocation_id) lid: vec3<u32>) {
    let s = sum_partials(lid.x);
    if (lid.x != 0u) {
        return;
    }
    control.alpha = vec2<f64>(0.0, 0.0);
    if (control.state != RUNNING) {
        return;
    }
    let pq = s.xy;
    let rho = control.rho;
    if ((pq.x == 0.0 && pq.y == 0.0) || (rho.x == 0.0 && rho.y == 0.0)) {
        control.state = BREAKDOWN;
        return;
    }
    control.alpha = cdiv(rho, pq);
}

@compute @workgroup_size(256)
fn finish_beta(@builtin(local_invocation_id) lid: vec3<u32>) {
    let s = sum_partials(lid.x);
    if (lid.x != 0u) {
        return;
    }
    control.beta = vec2<f64>(0.0, 0.0);
    if (control.state != RUNNING) {
        return;
    }
    control.iterations += 1u;
    control.rr = s.z;
    if (s.z <= params.tol * params.tol * control.bb) {
        control.state = CONVERGED;
        return;
    }
    if (control.iterations >= params.max_iter) {
        control.state = LIMIT;
        return;
    }
    control.beta = cdiv(s.xy, control.rho);
    control.rho = s.xy;
}

@compute @workgroup_size(256)
fn update_xr(@builtin(local_invocation_id) lid: vec3<u32>,
             @builtin(workgroup_id) wid: vec3<u32>) {
    let alpha = control.alpha;
    var acc = vec4<f64>(0.0, 0.0, 0.0, 0.0);
    for (var i = wid.x * 256u + lid.x; i < params.n; i += params.groups * 256u) {
        x[i] += cmul(alpha, p[i]);
        let ri = r[i] - cmul(alpha, q[i]);
        r[i] = ri;
        let z = cmul(dinv[i].zw, ri);
        acc += vec4<f64>(cmul(ri, z), ri.x * ri.x + ri.y * ri.y, 0.0);
    }
    let total = ctree_sum(lid.x, acc);
    if (lid.x == 0u) {
        partials[wid.x] = total;
    }
}

@compute @workgroup_size(256)
fn update_p(@builtin(local_invocation_id) lid: vec3<u32>,
            @builtin(workgroup_id) wid: vec3<u32>) {
    let beta = control.beta;
    for (var i = wid.x * 256u + lid.x; i < params.n; i += params.groups * 256u) {
        p[i] = cmul(dinv[i].zw, r[i]) + cmul(beta, p[i]);
    }
}
