// shared/reduce.wgsl — the uniform of the grid-stride reductions (no entry point).
//
// Declares: struct ReduceParams (reduce.wgsl, observables.wgsl; twin:
//           lipf_gpu::params::ReduceParams).
// Needs:    nothing.
// Twin:     none.

struct ReduceParams {
    n: u32,
    groups: u32,
    _pad0: u32,
    _pad1: u32,
}
