// shared/grid.wgsl — the uniform of the kernels that need only the grid size (no entry point).
//
// Declares: struct GridParams (twin: lipf_gpu::params::GridParams).
// Needs:    nothing.
// Twin:     none.

struct GridParams {
    nx: u32,
    ny: u32,
    n: u32,
    _pad0: u32,
}
