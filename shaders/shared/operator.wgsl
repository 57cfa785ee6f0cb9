// shared/operator.wgsl — writing one cell of a 5-point (7-point in 3D) operator (no entry point).
//
// Declares: store_operator(i, j, kz, tx, tx_west, ty, ty_south, tz, tz_back, s, tbot): cell
//           (i, j) of section kz: its east, north (and front, nz > 1) face conductances, its
//           diagonal term S and the cached diagonal Σ T + S (the west face counts only when
//           nx > 1, the z faces only when nz > 1), and in row 0 the bottom conductance, into the
//           layout op = [tx | ty | s | diag | tbot (nx·nz) | tz] of the multigrid kernels
//           (shared/multigrid.wgsl).
// Needs:    from the importing kernel, the uniform `p` with members nx, ny and nz and the storage
//           array `op` (potential_assemble.wgsl, electronic_assemble.wgsl, np_assemble.wgsl).
// Twin:     crates/lipf-core/src/cpu/operator.rs (Operator::update_diagonal and the layout).

fn store_operator(
    i: u32,
    j: u32,
    kz: u32,
    tx: f32,
    tx_west: f32,
    ty: f32,
    ty_south: f32,
    tz: f32,
    tz_back: f32,
    s: f32,
    tbot: f32,
) {
    let n = p.nx * p.ny * p.nz;
    let k = (kz * p.ny + j) * p.nx + i;
    var d = s;
    if (p.nx > 1u) {
        d += tx + tx_west;
    }
    d += ty;
    d += ty_south;
    if (p.nz > 1u) {
        d += tz + tz_back;
        op[4u * n + p.nx * p.nz + k] = tz;
    }
    op[k] = tx;
    op[n + k] = ty;
    op[2u * n + k] = s;
    op[3u * n + k] = d;
    if (j == 0u) {
        op[4u * n + kz * p.nx + i] = tbot;
    }
}
