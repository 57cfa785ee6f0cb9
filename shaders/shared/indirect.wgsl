// shared/indirect.wgsl — the layout of the indirect-dispatch table (no entry point).
//
// Declares: the words of one entry and the first word of each part of the table. With S
//           dispatch shapes (one per multigrid level, then the reduction shape) the table is
//           [step part: S entries][CG part: S entries][one entry per recorded Nernst–Planck
//           sub-step]; an entry is the (x, y, z) workgroup count of one indirect dispatch.
//           Twin: lipf_gpu::params::{DispatchArgs, IndirectTable}.
// Needs:    nothing.
// Twin:     none.

const DISPATCH_ARGS_WORDS: u32 = 3u;

// First word of the step part.
fn step_args_base() -> u32 {
    return 0u;
}

// First word of the CG part.
fn cg_args_base(shapes: u32) -> u32 {
    return DISPATCH_ARGS_WORDS * shapes;
}

// First word of the sub-step part.
fn substep_args_base(shapes: u32) -> u32 {
    return 2u * DISPATCH_ARGS_WORDS * shapes;
}
