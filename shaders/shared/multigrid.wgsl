// shared/multigrid.wgsl — the uniforms of the multigrid kernels (no entry point).
//
// Declares: struct MgParams (one level: mg_smooth, mg_residual; twin:
//           lipf_gpu::params::MgParams) and struct TransferParams (a fine level and the next
//           coarser one: mg_coarsen, mg_restrict, mg_prolong; twin:
//           lipf_gpu::params::TransferParams).
// Needs:    nothing.
// Twin:     none.

struct MgParams {
    nx: u32,
    ny: u32,
    colour: u32,
    _pad0: u32,
}

struct TransferParams {
    nxf: u32,
    nyf: u32,
    nxc: u32,
    nyc: u32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}
