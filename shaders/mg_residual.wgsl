// mg_residual.wgsl — residual r = b − A x of the 5-point operator, and the product y = A x.
//
// Update:    mg_residual: r[k] = b[k] − (A x)[k];  mg_apply: y[k] = (A x)[k], with
//            (A x)_k = diag_k x_k − Σ T_nb x_nb.
// Bindings:  0 uniform MgParams; 1 op (read); 2 b (read, mg_residual only); 3 x (read);
//            4 out = r or y (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), 1) workgroups of 16×16, one invocation per cell.
// Index:     k = j·nx + i, x periodic; op layout as in potential_assemble.wgsl.
// Twin:      crates/lipf-core/src/cpu/mg_residual.rs (apply_cell, mg_residual, mg_apply).
// Imports:   shared/multigrid.wgsl

@group(0) @binding(0) var<uniform> p: MgParams;
@group(0) @binding(1) var<storage, read> op: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn apply_cell(i: u32, j: u32) -> f32 {
    let nx = p.nx;
    let n = nx * p.ny;
    let base = j * nx;
    let k = base + i;
    var off = 0.0;
    if (nx > 1u) {
        var e = k + 1u;
        if (i + 1u == nx) {
            e = base;
        }
        var w = k - 1u;
        if (i == 0u) {
            w = base + nx - 1u;
        }
        off += op[k] * x[e] + op[w] * x[w];
    }
    if (j + 1u < p.ny) {
        off += op[n + k] * x[k + nx];
    }
    if (j > 0u) {
        off += op[n + k - nx] * x[k - nx];
    }
    return op[3u * n + k] * x[k] - off;
}

@compute @workgroup_size(16, 16)
fn mg_residual(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny) {
        return;
    }
    let k = gid.y * p.nx + gid.x;
    out[k] = b[k] - apply_cell(gid.x, gid.y);
}

@compute @workgroup_size(16, 16)
fn mg_apply(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny) {
        return;
    }
    out[gid.y * p.nx + gid.x] = apply_cell(gid.x, gid.y);
}
