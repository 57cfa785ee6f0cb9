// mg_coarsen.wgsl — Galerkin coarsening of the 5-point (2D) or 7-point (3D) operator for
// piecewise-constant aggregation over 2×2 (2×2×2) blocks (Pᵀ A P is again such an operator).
//
// Update:    coarse op = [tx | ty | s | diag | tbot | tz]: face conductances are the sums of the
//            fine conductances crossing each coarse face, S and tbot the aggregate's sums, diag
//            the coarse Σ T + S (Operator::update_diagonal folded in, from the fine faces); tz
//            only when nzc > 1.
// Bindings:  0 uniform TransferParams; 1 fine op (read); 2 coarse op (write).
// Dispatch:  (ceil(nxc/16), ceil(nyc/16), nzc) workgroups of 16×16, one invocation per coarse
//            cell.
// Index:     coarse cell (ic, jc, kc) aggregates fine columns 2ic..min(2ic+2, nxf), rows
//            2jc..min(2jc+2, nyf) and sections 2kc..min(2kc+2, nzf); op layout as in
//            shared/multigrid.wgsl.
// Twin:      crates/lipf-core/src/cpu/mg_coarsen.rs.
// Imports:   shared/multigrid.wgsl

@group(0) @binding(0) var<uniform> p: TransferParams;
@group(0) @binding(1) var<storage, read> fine: array<f32>;
@group(0) @binding(2) var<storage, read_write> coarse: array<f32>;

fn fine_cell(i: u32, j: u32, k: u32) -> u32 {
    return (k * p.nyf + j) * p.nxf + i;
}

@compute @workgroup_size(16, 16)
fn mg_coarsen(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ic = gid.x;
    let jc = gid.y;
    let kc = gid.z;
    // Invocations past the coarse grid's edge do nothing.
    if (ic >= p.nxc || jc >= p.nyc || kc >= p.nzc) {
        return;
    }
    let nxf = p.nxf;
    let nf = nxf * p.nyf * p.nzf;
    let nc = p.nxc * p.nyc * p.nzc;
    let i0 = 2u * ic;
    let i1 = min(i0 + 2u, nxf);
    let j0 = 2u * jc;
    let j1 = min(j0 + 2u, p.nyf);
    let k0 = 2u * kc;
    let k1 = min(k0 + 2u, p.nzf);
    let cc = (kc * p.nyc + jc) * p.nxc + ic;
    var tx = 0.0;
    var ty = 0.0;
    var s = 0.0;
    // The west face of the aggregate: the east faces of fine column (i0 − 1) mod nxf.
    let iw = (i0 + nxf - 1u) % nxf;
    var tx_west = 0.0;
    for (var k = k0; k < k1; k++) {
        for (var j = j0; j < j1; j++) {
            // East face of the aggregate: the east faces of its last fine column.
            tx += fine[fine_cell(i1 - 1u, j, k)];
            tx_west += fine[fine_cell(iw, j, k)];
            for (var i = i0; i < i1; i++) {
                s += fine[2u * nf + fine_cell(i, j, k)];
            }
        }
    }
    var ty_south = 0.0;
    for (var k = k0; k < k1; k++) {
        for (var i = i0; i < i1; i++) {
            ty += fine[nf + fine_cell(i, j1 - 1u, k)];
            if (jc > 0u) {
                ty_south += fine[nf + fine_cell(i, j0 - 1u, k)];
            } else {
                ty_south += fine[4u * nf + k * nxf + i];
            }
        }
    }
    // With one coarse column the periodic east face joins the aggregate to itself.
    if (p.nxc == 1u) {
        tx = 0.0;
        tx_west = 0.0;
    }
    var d = s;
    if (p.nxc > 1u) {
        d += tx + tx_west;
    }
    d += ty;
    d += ty_south;
    if (p.nzc > 1u) {
        // Front face of the aggregate: the front faces of its last fine section; back face: the
        // front faces of fine section (k0 − 1) mod nzf.
        let tzf = op_tz(nxf, p.nyf, p.nzf);
        let kb = (k0 + p.nzf - 1u) % p.nzf;
        var tz = 0.0;
        var tz_back = 0.0;
        for (var j = j0; j < j1; j++) {
            for (var i = i0; i < i1; i++) {
                tz += fine[tzf + fine_cell(i, j, k1 - 1u)];
                tz_back += fine[tzf + fine_cell(i, j, kb)];
            }
        }
        d += tz + tz_back;
        coarse[op_tz(p.nxc, p.nyc, p.nzc) + cc] = tz;
    }
    coarse[cc] = tx;
    coarse[nc + cc] = ty;
    coarse[2u * nc + cc] = s;
    coarse[3u * nc + cc] = d;
    if (jc == 0u) {
        coarse[4u * nc + kc * p.nxc + ic] = ty_south;
    }
}
