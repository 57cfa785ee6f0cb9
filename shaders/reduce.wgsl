// reduce.wgsl — per-workgroup partial sums for the conjugate-gradient scalars: dot products,
// residual L1 norms and the round-off scale of a residual. The partials are finished by the
// single-workgroup kernels of cg_control.wgsl.
//
// Update:    partials[w] = (Σ_w x, Σ_w y) over the cells of workgroup w (grid-stride), with
//            dot_partials: x = a·b; l1_partials: x = |a|;
//            residual_norm_partials: x = |r|, y = |b| (the size of the right-hand side, which
//            sets the f32 floor of the stopping test in cg_control.wgsl);
//            dot2_partials, l1_2_partials, residual_norm2_partials: the same over the two blocks
//            of the coupled solve of the two-potential form, (a, b) and (a2, b2), summed
//            cell by cell (a·b + a2·b2, |a| + |a2|, |r| + |r2| and |b| + |b2|).
// Bindings:  0 uniform ReduceParams; 1 a (read; r for residual_norm_partials); 2 b (read);
//            3 partials (write); 4 a2, 5 b2 (read; the second block).
// Dispatch:  (groups, 1, 1) workgroups of 256; invocation t of workgroup w visits cells
//            w·256 + t + m·groups·256. Sums are f32 trees inside a workgroup; the finishing
//            kernel sums at most 1024 partials in a fixed order (deterministic).
// Index:     k = j·nx + i over n = nx·ny cells.
// Twin:      crates/lipf-core/src/cpu/reduce.rs (dot, l1; solver.rs sums them over both blocks
//            in dot_2 and l1_2 of CoupledMultigrid::solve).
// Imports:   shared/reduce.wgsl, shared/tree.wgsl

@group(0) @binding(0) var<uniform> p: ReduceParams;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> a2: array<f32>;
@group(0) @binding(5) var<storage, read> b2: array<f32>;

@compute @workgroup_size(256)
fn dot_partials(@builtin(local_invocation_id) lid: vec3<u32>,
                @builtin(workgroup_id) wid: vec3<u32>) {
    var s = 0.0;
    for (var k = wid.x * 256u + lid.x; k < p.n; k += p.groups * 256u) {
        s += a[k] * b[k];
    }
    let total = tree_sum(lid.x, vec2<f32>(s, 0.0));
    if (lid.x == 0u) {
        partials[wid.x] = total;
    }
}

@compute @workgroup_size(256)
fn l1_partials(@builtin(local_invocation_id) lid: vec3<u32>,
               @builtin(workgroup_id) wid: vec3<u32>) {
    var s = 0.0;
    for (var k = wid.x * 256u + lid.x; k < p.n; k += p.groups * 256u) {
        s += abs(a[k]);
    }
    let total = tree_sum(lid.x, vec2<f32>(s, 0.0));
    if (lid.x == 0u) {
        partials[wid.x] = total;
    }
}

@compute @workgroup_size(256)
fn residual_norm_partials(@builtin(local_invocation_id) lid: vec3<u32>,
                          @builtin(workgroup_id) wid: vec3<u32>) {
    var s = vec2<f32>(0.0, 0.0);
    for (var k = wid.x * 256u + lid.x; k < p.n; k += p.groups * 256u) {
        s += vec2<f32>(abs(a[k]), abs(b[k]));
    }
    let total = tree_sum(lid.x, s);
    if (lid.x == 0u) {
        partials[wid.x] = total;
    }
}

@compute @workgroup_size(256)
fn dot2_partials(@builtin(local_invocation_id) lid: vec3<u32>,
                 @builtin(workgroup_id) wid: vec3<u32>) {
    var s = 0.0;
    for (var k = wid.x * 256u + lid.x; k < p.n; k += p.groups * 256u) {
        s += a[k] * b[k] + a2[k] * b2[k];
    }
    let total = tree_sum(lid.x, vec2<f32>(s, 0.0));
    if (lid.x == 0u) {
        partials[wid.x] = total;
    }
}

@compute @workgroup_size(256)
fn l1_2_partials(@builtin(local_invocation_id) lid: vec3<u32>,
                 @builtin(workgroup_id) wid: vec3<u32>) {
    var s = 0.0;
    for (var k = wid.x * 256u + lid.x; k < p.n; k += p.groups * 256u) {
        s += abs(a[k]) + abs(a2[k]);
    }
    let total = tree_sum(lid.x, vec2<f32>(s, 0.0));
    if (lid.x == 0u) {
        partials[wid.x] = total;
    }
}

@compute @workgroup_size(256)
fn residual_norm2_partials(@builtin(local_invocation_id) lid: vec3<u32>,
                           @builtin(workgroup_id) wid: vec3<u32>) {
    var s = vec2<f32>(0.0, 0.0);
    for (var k = wid.x * 256u + lid.x; k < p.n; k += p.groups * 256u) {
        s += vec2<f32>(abs(a[k]) + abs(a2[k]), abs(b[k]) + abs(b2[k]));
    }
    let total = tree_sum(lid.x, s);
    if (lid.x == 0u) {
        partials[wid.x] = total;
    }
}
