// shared/float.wgsl — f32 helpers (no entry point).
//
// Declares: finite (not NaN or ±Inf, from the exponent bits), opaque_one (1.0 that the
//           shader compiler cannot fold, for error-free sums) and fast_two_sum (the compensated
//           sum of xi_update.wgsl and xi_gradient_finish.wgsl).
// Needs:    nothing.
// Twin:     none (Rust: f32::is_finite).

fn finite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// 1.0 for n > 0, from a uniform the compiler cannot see through (pass the grid's cell count).
// Error-free sums are exact only if every rounding is kept, and shader compilers may rewrite
// float algebra (Mesa's NIR folds (a + b) − a into b): a sum multiplied by this cannot be
// rewritten.
fn opaque_one(n: u32) -> f32 {
    return select(0.0, 1.0, n > 0u);
}

// (s, e) with s = fl(a + b) and e = a + b − s exactly (Dekker's fast two-sum on |big| ≥ |small|).
fn fast_two_sum(a: f32, b: f32, one: f32) -> vec2<f32> {
    let swap = abs(a) < abs(b);
    let big = select(a, b, swap);
    let small = select(b, a, swap);
    let s = (big + small) * one;
    return vec2<f32>(s, small - (s - big));
}
