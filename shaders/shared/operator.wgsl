// shared/operator.wgsl — writing one cell of a 5-point operator (no entry point).
//
// Declares: store_operator(i, j, tx, tx_west, ty, ty_south, s, tbot): the cell's east and north
//           face conductances, its diagonal term S and the cached diagonal Σ T + S (the west
//           face counts only when nx > 1), and in row 0 the bottom conductance, into the layout
//           op = [tx | ty | s | diag | tbot] of the multigrid kernels.
// Needs:    from the importing kernel, the uniform `p` with members nx and ny and the storage
//           array `op` (potential_assemble.wgsl, electronic_assemble.wgsl, np_assemble.wgsl).
// Twin:     crates/lipf-core/src/cpu/operator.rs (Operator::update_diagonal and the layout).

fn store_operator(
    i: u32,
    j: u32,
    tx: f32,
    tx_west: f32,
    ty: f32,
    ty_south: f32,
    s: f32,
    tbot: f32,
) {
    let n = p.nx * p.ny;
    let k = j * p.nx + i;
    var d = s;
    if (p.nx > 1u) {
        d += tx + tx_west;
    }
    d += ty;
    d += ty_south;
    op[k] = tx;
    op[n + k] = ty;
    op[2u * n + k] = s;
    op[3u * n + k] = d;
    if (j == 0u) {
        op[4u * n + i] = tbot;
    }
}
