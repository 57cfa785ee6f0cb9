// shared/control.wgsl — the device-side control record of a running batch and its flags (no
// entry point).
//
// Declares: struct Control (twin: lipf_gpu::params::Control) and the bits of Control.flags
//           (twins: lipf_gpu::params::FLAG_*; tests/gpu_checks.rs compares the values).
// Needs:    nothing.
// Twin:     none (device-side state; the host reads it back at the end of a batch).

// Device-side scalars of the running batch. Written by the single-invocation control kernels;
// the host reads it back only at the end of a batch.
struct Control {
    dt: f32,
    remaining: f32,
    v_collector: f32,
    current_a_m: f32,
    running: u32,
    step_count: u32,
    step_iterations: u32,
    max_solve_iterations: u32,
    rz: f32,
    alpha: f32,
    beta: f32,
    res: f32,
    tol: f32,
    converged: u32,
    solve_iterations: u32,
    not_converged: u32,
    i0: f32,
    i1: f32,
    flags: u32,
    substeps: u32,
    dt_sub: f32,
    leakage_a_m: f32,
    // CG iterations of the implicit Nernst–Planck solves of the batch, their sum and the most
    // one solve took (cg_control.wgsl, cg_end).
    np_iterations: u32,
    np_max_solve_iterations: u32,
    // CG iterations of the creep pressure solves of the batch (every active-set round), their
    // sum and the most one solve took (cg_control.wgsl, cg_end).
    creep_iterations: u32,
    creep_max_solve_iterations: u32,
    // CG iterations of the ξ-increment solves of the batch (the semi-implicit gradient term),
    // their sum and the most one solve took (cg_control.wgsl, cg_end).
    xi_iterations: u32,
    xi_max_solve_iterations: u32,
}

// Bits of Control.flags. Any set bit stops the batch's remaining steps (step_begin) and makes the
// host roll the batch back.
// Galvanostatic control impossible: the current does not depend on the collector potential
// (I1 = 0, no electrochemically active interface). Set by collector.wgsl.
const FLAG_NO_ACTIVE_INTERFACE: u32 = 1u;
// CG breakdown (p·q not positive or not finite). Set by cg_control.wgsl.
const FLAG_CG_BREAKDOWN: u32 = 2u;
// The step needs more Nernst–Planck sub-steps than were recorded. Set by time_step.wgsl.
const FLAG_SUBSTEPS_EXCEEDED: u32 = 4u;
// The implicit Nernst–Planck solve did not converge within the recorded iterations (or broke
// down). Set by cg_control.wgsl.
const FLAG_NP_NOT_CONVERGED: u32 = 8u;
// A creep pressure solve did not converge within the recorded iterations (or broke down). Set
// by cg_control.wgsl.
const FLAG_CREEP_NOT_CONVERGED: u32 = 16u;
// A ξ-increment solve did not converge within the recorded iterations (or broke down). Set by
// cg_control.wgsl.
const FLAG_XI_NOT_CONVERGED: u32 = 32u;
