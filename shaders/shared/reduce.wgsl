// shared/reduce.wgsl — the uniform of the grid-stride reductions (no entry point).
//
// Declares: struct ReduceParams (reduce.wgsl, observables.wgsl; twin:
//           lipf_gpu::params::ReduceParams).
// Needs:    nothing.
// Twin:     none.

struct ReduceParams {
    n: u32,
    groups: u32,
    // observables.wgsl: s of the room 1 − sϕ (1 for the solid electrolyte, 0 for a liquid).
    solid: f32,
    _pad1: u32,
}
