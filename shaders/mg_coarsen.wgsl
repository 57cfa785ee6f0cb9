// mg_coarsen.wgsl — Galerkin coarsening of the 5-point operator for 2×2 piecewise-constant
// aggregation (Pᵀ A P is again a 5-point operator).
//
// Update:    coarse op = [tx | ty | s | diag | tbot]: face conductances are the sums of the fine
//            conductances crossing each coarse face, S and tbot the aggregate's sums, diag the
//            coarse Σ T + S (Operator::update_diagonal folded in, from the fine faces).
// Bindings:  0 uniform TransferParams; 1 fine op (read); 2 coarse op (write).
// Dispatch:  (ceil(nxc/16), ceil(nyc/16), 1) workgroups of 16×16, one invocation per coarse cell.
// Index:     coarse cell (ic, jc) aggregates fine columns 2ic..min(2ic+2, nxf) and rows
//            2jc..min(2jc+2, nyf); op layout as in potential_assemble.wgsl.
// Twin:      crates/lipf-core/src/cpu/mg_coarsen.rs.
// Imports:   shared/multigrid.wgsl

@group(0) @binding(0) var<uniform> p: TransferParams;
@group(0) @binding(1) var<storage, read> fine: array<f32>;
@group(0) @binding(2) var<storage, read_write> coarse: array<f32>;

@compute @workgroup_size(16, 16)
fn mg_coarsen(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ic = gid.x;
    let jc = gid.y;
    // Invocations past the coarse grid's edge do nothing.
    if (ic >= p.nxc || jc >= p.nyc) {
        return;
    }
    let nxf = p.nxf;
    let nf = nxf * p.nyf;
    let nc = p.nxc * p.nyc;
    let i0 = 2u * ic;
    let i1 = min(i0 + 2u, nxf);
    let j0 = 2u * jc;
    let j1 = min(j0 + 2u, p.nyf);
    let kc = jc * p.nxc + ic;
    var tx = 0.0;
    var ty = 0.0;
    var s = 0.0;
    // The west face of the aggregate: the east faces of fine column (i0 − 1) mod nxf.
    let iw = (i0 + nxf - 1u) % nxf;
    var tx_west = 0.0;
    for (var j = j0; j < j1; j++) {
        // East face of the aggregate: the east faces of its last fine column.
        tx += fine[j * nxf + i1 - 1u];
        tx_west += fine[j * nxf + iw];
        for (var i = i0; i < i1; i++) {
            s += fine[2u * nf + j * nxf + i];
        }
    }
    var ty_south = 0.0;
    for (var i = i0; i < i1; i++) {
        ty += fine[nf + (j1 - 1u) * nxf + i];
        if (jc > 0u) {
            ty_south += fine[nf + (j0 - 1u) * nxf + i];
        } else {
            ty_south += fine[4u * nf + i];
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
    coarse[kc] = tx;
    coarse[nc + kc] = ty;
    coarse[2u * nc + kc] = s;
    coarse[3u * nc + kc] = d;
    if (jc == 0u) {
        coarse[4u * nc + ic] = ty_south;
    }
}
