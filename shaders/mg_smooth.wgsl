// mg_smooth.wgsl — one red–black Gauss–Seidel colour sweep on A x = b.
//
// Update:    x[c] = (b[c] + Σ T_nb x_nb) / diag[c] for the cells with (i + j + k) mod 2 == colour.
// Bindings:  0 uniform MgParams; 1 op (read); 2 b (read); 3 x (read_write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), sections) workgroups of 16×16, one invocation per cell
//            (the other colour returns at once): sections = nz, or nz − 1 for the first pass
//            and 1 for the second when nz is odd and > 1 (see below).
// Index:     c = (k·ny + j)·nx + i, x and z periodic; op layout as in shared/multigrid.wgsl.
//            With odd nx the cells 0 and nx−1 of a row share a colour and are neighbours across
//            the periodic seam; the CPU updates cell 0 first and cell nx−1 from its new value.
//            Here the invocation of cell nx−1 does both in that order (the one of cell 0
//            returns), so the sweep has no race and matches the CPU's order. With odd nz > 1
//            the first and the last z-section are such neighbours: the last section is a
//            second dispatch (colour bit 1), after the others, as on the CPU.
// Twin:      crates/lipf-core/src/cpu/mg_smooth.rs.
// Imports:   shared/multigrid.wgsl, shared/grid.wgsl

@group(0) @binding(0) var<uniform> p: MgParams;
@group(0) @binding(1) var<storage, read> op: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

fn relax(i: u32, j: u32, k: u32) -> f32 {
    let nx = p.nx;
    let section = nx * p.ny;
    let n = section * p.nz;
    let base = (k * p.ny + j) * nx;
    let c = base + i;
    var e = c + 1u;
    if (i + 1u == nx) {
        e = base;
    }
    var w = c - 1u;
    if (i == 0u) {
        w = base + nx - 1u;
    }
    var acc = b[c];
    if (nx > 1u) {
        acc += op[c] * x[e] + op[w] * x[w];
    }
    if (j + 1u < p.ny) {
        acc += op[n + c] * x[c + nx];
    }
    if (j > 0u) {
        acc += op[n + c - nx] * x[c - nx];
    }
    if (p.nz > 1u) {
        let tz = op_tz(nx, p.ny, p.nz);
        let f = front_cell(c, k, section, p.nz);
        let bk = back_cell(c, k, section, p.nz);
        acc += op[tz + c] * x[f] + op[tz + bk] * x[bk];
    }
    return acc / op[3u * n + c];
}

@compute @workgroup_size(16, 16)
fn mg_smooth(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    let last_pass = (p.colour & 2u) != 0u;
    var k = gid.z;
    if (last_pass) {
        k = p.nz - 1u;
    }
    // Invocations past the grid's edge, and cells of the other colour, do nothing.
    if (i >= p.nx || j >= p.ny || k >= p.nz || (i + j + k) % 2u != (p.colour & 1u)) {
        return;
    }
    let seam = p.nx > 1u && p.nx % 2u == 1u;
    if (seam && i == 0u) {
        return;
    }
    let base = (k * p.ny + j) * p.nx;
    if (seam && i + 1u == p.nx) {
        x[base] = relax(0u, j, k);
    }
    x[base + i] = relax(i, j, k);
}
