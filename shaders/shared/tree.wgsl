// shared/tree.wgsl — the 256-wide workgroup tree of the single-workgroup sums (no entry point).
//
// Declares: var<workgroup> tree (256 × vec2<f32>) and tree_sum, the sum of one vec2 per
//           invocation of a 256-wide workgroup in a fixed order (deterministic). Kernels with
//           another reduction over the same tree (a max, a grid-stride total) use `tree` too.
// Needs:    nothing.
// Twin:     none.

var<workgroup> tree: array<vec2<f32>, 256>;

fn tree_sum(t: u32, v: vec2<f32>) -> vec2<f32> {
    tree[t] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (t < s) {
            tree[t] += tree[t + s];
        }
        workgroupBarrier();
    }
    return tree[0];
}
