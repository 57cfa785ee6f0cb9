// shared/complex.wgsl — f64 complex arithmetic and the workgroup sum of the impedance solver
// (no entry point).
//
// Declares: struct ImpedanceParams (twin: lipf_impedance::kernels::ImpedanceParams); cmul, the
//           complex product; var<workgroup> ctree (256 × vec4<f64>) and ctree_sum, the sum of
//           one vec4 per invocation of a 256-wide workgroup in a fixed order (deterministic),
//           which every invocation receives.
// Needs:    SHADER_F64 (naga Capabilities::FLOAT64).
// Twin:     crates/lipf-impedance/src/kernels/ (complex products and sums of the same order).

struct ImpedanceParams {
    n: u32,
    n_bonds: u32,
    groups: u32,
    max_iter: u32,
    omega: f64,
    tol: f64,
    accept_tol: f64,
    _pad0: f64,
}

var<workgroup> ctree: array<vec4<f64>, 256>;

fn cmul(a: vec2<f64>, b: vec2<f64>) -> vec2<f64> {
    return vec2<f64>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// Sum over the workgroup; every invocation gets the total.
fn ctree_sum(t: u32, v: vec4<f64>) -> vec4<f64> {
    ctree[t] = v;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h >>= 1u) {
        if (t < h) {
            ctree[t] += ctree[t + h];
        }
        workgroupBarrier();
    }
    return ctree[0];
}
