// mg_residual.wgsl — residual r = b − A x of the 5-point (2D) or 7-point (3D) operator, and the
// product y = A x.
//
// Update:    mg_residual: r[c] = b[c] − (A x)[c];  mg_apply: y[c] = (A x)[c], with
//            (A x)_c = diag_c x_c − Σ T_nb x_nb (z faces only when nz > 1).
// Bindings:  0 uniform MgParams; 1 op (read); 2 b (read, mg_residual only); 3 x (read);
//            4 out = r or y (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), nz) workgroups of 16×16, one invocation per cell.
// Index:     c = (k·ny + j)·nx + i, x and z periodic; op layout as in shared/multigrid.wgsl.
// Twin:      crates/lipf-core/src/cpu/mg_residual.rs (apply_row, mg_residual, mg_apply).
// Imports:   shared/multigrid.wgsl, shared/grid.wgsl

@group(0) @binding(0) var<uniform> p: MgParams;
@group(0) @binding(1) var<storage, read> op: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn apply_cell(i: u32, j: u32, k: u32) -> f32 {
    let nx = p.nx;
    let section = nx * p.ny;
    let n = section * p.nz;
    let base = (k * p.ny + j) * nx;
    let c = base + i;
    var off = 0.0;
    if (nx > 1u) {
        var e = c + 1u;
        if (i + 1u == nx) {
            e = base;
        }
        var w = c - 1u;
        if (i == 0u) {
            w = base + nx - 1u;
        }
        off += op[c] * x[e] + op[w] * x[w];
    }
    if (j + 1u < p.ny) {
        off += op[n + c] * x[c + nx];
    }
    if (j > 0u) {
        off += op[n + c - nx] * x[c - nx];
    }
    if (p.nz > 1u) {
        let tz = op_tz(nx, p.ny, p.nz);
        let f = front_cell(c, k, section, p.nz);
        let bk = back_cell(c, k, section, p.nz);
        off += op[tz + c] * x[f] + op[tz + bk] * x[bk];
    }
    return op[3u * n + c] * x[c] - off;
}

@compute @workgroup_size(16, 16)
fn mg_residual(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    let c = (gid.z * p.ny + gid.y) * p.nx + gid.x;
    out[c] = b[c] - apply_cell(gid.x, gid.y, gid.z);
}

@compute @workgroup_size(16, 16)
fn mg_apply(@builtin(global_invocation_id) gid: vec3<u32>) {
    // Invocations past the grid's edge do nothing.
    if (gid.x >= p.nx || gid.y >= p.ny || gid.z >= p.nz) {
        return;
    }
    out[(gid.z * p.ny + gid.y) * p.nx + gid.x] = apply_cell(gid.x, gid.y, gid.z);
}
