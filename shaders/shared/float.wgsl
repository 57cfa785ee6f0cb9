// shared/float.wgsl — f32 helpers (no entry point).
//
// Declares: finite (not NaN or ±Inf, from the exponent bits) and opaque_one (1.0 that the
//           shader compiler cannot fold, for error-free sums).
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
