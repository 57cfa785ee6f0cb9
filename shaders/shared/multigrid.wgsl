// shared/multigrid.wgsl — the uniforms of the multigrid kernels (no entry point).
//
// Declares: struct MgParams (one level: mg_smooth, mg_residual; twin:
//           lipf_gpu::params::MgParams) and struct TransferParams (a fine level and the next
//           coarser one: mg_coarsen, mg_restrict, mg_prolong; twin:
//           lipf_gpu::params::TransferParams).
// Needs:    nothing.
// Twin:     none.

// A level is nx × ny × nz (nz = 1: a 2D section), cell c = (k·ny + j)·nx + i. Its operator is
// op = [tx | ty | s | diag | tbot (nx·nz) | tz (n, only when nz > 1)] (op_tz below).
struct MgParams {
    nx: u32,
    ny: u32,
    // Bit 0: the colour (i + j + k) mod 2 that a sweep updates. Bit 1 (mg_smooth): the pass
    // over the last z-section when nz is odd and > 1, swept after the others.
    colour: u32,
    nz: u32,
}

struct TransferParams {
    nxf: u32,
    nyf: u32,
    nxc: u32,
    nyc: u32,
    scale: f32,
    nzf: u32,
    nzc: u32,
    _pad0: u32,
}

// Where tz starts in the op layout of an nx × ny × nz level.
fn op_tz(nx: u32, ny: u32, nz: u32) -> u32 {
    return 4u * nx * ny * nz + nx * nz;
}
