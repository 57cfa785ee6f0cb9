// observables.wgsl — per-workgroup partial sums of ∫ξ and of the Li inside the electrolyte
// ((ξ + sϕ − 1)₊ at any ξ; s = p.solid, 1 for the solid electrolyte, 0 for a liquid), compensated: every sum is carried as (hi, lo) with an exact
// two-sum, and the host adds hi + lo of all partials in f64.
//
// Update:    partials[w] = (Σξ hi, Σξ lo, Σ(ξ + sϕ − 1)₊ hi, lo) over the cells of workgroup w,
//            ξ = xi + xi_lo (the compensated pair of xi_update.wgsl).
// Bindings:  0 uniform ReduceParams; 1 xi, 2 phi (read); 3 partials (write); 4 xi_lo (read).
// Dispatch:  (groups, 1, 1) workgroups of 256, grid-stride as in reduce.wgsl.
// Index:     k = j·nx + i over n cells.
// Twin:      crates/lipf-core/src/cpu/observables.rs (observables: the two sums), used by
//            crates/lipf-core/src/observables.rs (xi_integral_m, li_in_electrolyte_mol_m2).
// Imports:   shared/reduce.wgsl, shared/float.wgsl

@group(0) @binding(0) var<uniform> p: ReduceParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> xi_lo: array<f32>;

var<workgroup> tree: array<vec4<f32>, 256>;

// (hi, lo) + (hi, lo) with the rounding error of hi + hi kept in lo (Dekker's fast two-sum on
// |big| ≥ |small|).
fn two_sum(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let swap = abs(a.x) < abs(b.x);
    let big = select(a.x, b.x, swap);
    let small = select(b.x, a.x, swap);
    let s = (big + small) * opaque_one(p.n);
    let err = small - (s - big);
    return vec2<f32>(s, a.y + b.y + err);
}

fn add4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(two_sum(a.xy, b.xy), two_sum(a.zw, b.zw));
}

@compute @workgroup_size(256)
fn observables_partials(@builtin(local_invocation_id) lid: vec3<u32>,
                        @builtin(workgroup_id) wid: vec3<u32>) {
    var s = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    for (var k = wid.x * 256u + lid.x; k < p.n; k += p.groups * 256u) {
        let x = xi[k];
        let lo = xi_lo[k];
        var inside = vec2<f32>(0.0, 0.0);
        let excess = x + p.solid * phi[k] - 1.0;
        if (excess > 0.0) {
            inside = vec2<f32>(excess, lo);
        }
        s = add4(s, vec4<f32>(x, lo, inside));
    }
    let t = lid.x;
    tree[t] = s;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h >>= 1u) {
        if (t < h) {
            tree[t] = add4(tree[t], tree[t + h]);
        }
        workgroupBarrier();
    }
    if (t == 0u) {
        partials[wid.x] = tree[0];
    }
}
