// mg_smooth.wgsl — one red–black Gauss–Seidel colour sweep on A x = b.
//
// Update:    x[k] = (b[k] + Σ T_nb x_nb) / diag[k] for the cells with (i + j) mod 2 == colour.
// Bindings:  0 uniform MgParams; 1 op (read); 2 b (read); 3 x (read_write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), 1) workgroups of 16×16, one invocation per cell (the
//            other colour returns at once).
// Index:     k = j·nx + i, x periodic; op layout as in potential_assemble.wgsl.
//            With odd nx the cells 0 and nx−1 of a row share a colour and are neighbours across
//            the periodic seam; the CPU updates cell 0 first and cell nx−1 from its new value.
//            Here the invocation of cell nx−1 does both in that order (the one of cell 0
//            returns), so the sweep has no race and matches the CPU's order.
// Twin:      crates/lipf-core/src/cpu/mg_smooth.rs.
// Imports:   shared/multigrid.wgsl

@group(0) @binding(0) var<uniform> p: MgParams;
@group(0) @binding(1) var<storage, read> op: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

fn relax(i: u32, j: u32) -> f32 {
    let nx = p.nx;
    let n = nx * p.ny;
    let base = j * nx;
    let k = base + i;
    var e = k + 1u;
    if (i + 1u == nx) {
        e = base;
    }
    var w = k - 1u;
    if (i == 0u) {
        w = base + nx - 1u;
    }
    var acc = b[k];
    if (nx > 1u) {
        acc += op[k] * x[e] + op[w] * x[w];
    }
    if (j + 1u < p.ny) {
        acc += op[n + k] * x[k + nx];
    }
    if (j > 0u) {
        acc += op[n + k - nx] * x[k - nx];
    }
    return acc / op[3u * n + k];
}

@compute @workgroup_size(16, 16)
fn mg_smooth(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    // Invocations past the grid's edge, and cells of the other colour, do nothing.
    if (i >= p.nx || j >= p.ny || (i + j) % 2u != p.colour) {
        return;
    }
    let seam = p.nx > 1u && p.nx % 2u == 1u;
    if (seam && i == 0u) {
        return;
    }
    if (seam && i + 1u == p.nx) {
        x[j * p.nx] = relax(0u, j);
    }
    x[j * p.nx + i] = relax(i, j);
}
