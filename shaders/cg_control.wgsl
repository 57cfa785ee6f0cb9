// cg_control.wgsl — the scalar steps of preconditioned CG on the device: each kernel finishes a
// reduction of reduce.wgsl and updates the Control, so no solve needs a readback.
//
// Update:    cg_begin: residual L1 norm, tolerance, converged flag. The tolerance is the CPU's
//              (Σ|b − A x| ≤ tol, tol relative to the collector potential for the φ1 solve) but
//              never below F32_RHS_FLOOR · Σ|b|: a level the f32 recurrence residual reaches in a
//              few iterations more, which still bounds the charge balance to ~1e-6 of the
//              right-hand side. (A floor on the size of the terms of A x, |diag·x|, stopped the
//              φ1 solve, whose x is O(1 V) with stiff Li/LLZO conductances, before it started.)
//            The implicit Nernst–Planck solve (np_assemble.wgsl; solve SOLVE_NERNST_PLANCK) has
//              an absolute tolerance and no floor: its right-hand side is c̃ ≈ 1 per cell, so
//              1e-6 Σ|b| would be a residual of 1e-6 per cell, more than a step changes c̃ by
//              where it is near equilibrium (the tolerance's reason: NP_RESIDUAL_PER_CELL in
//              crates/lipf-gpu/src/backend/mod.rs).
//            cg_rz0: r·z;  cg_alpha: iteration count, α = r·z / p·q;  cg_check: residual L1
//            norm and converged flag;  cg_beta: β = r·z_new / r·z;  cg_end: iterations of the
//            solve into the step's counters (the Nernst–Planck solve's into the batch's
//            np_iterations and np_max_solve_iterations, the creep solve's (SOLVE_CREEP) into
//            creep_iterations and creep_max_solve_iterations, the ξ increment's (SOLVE_XI) into
//            xi_iterations and xi_max_solve_iterations), the sticky not_converged flag (and
//            FLAG_NP_NOT_CONVERGED, FLAG_CREEP_NOT_CONVERGED or FLAG_XI_NOT_CONVERGED for those
//            solves).
//            The CG part of the indirect-dispatch table: cg_begin sets it (the dispatch shapes
//            while the solve goes on), cg_check (on convergence) and cg_alpha (on breakdown)
//            zero it, so the recorded iterations that follow cost nothing.
// Bindings:  0 uniform SolveParams; 1 control (read_write); 2 partials (read);
//            3 shapes (read; the workgroup counts of every dispatch shape, 3 u32 each);
//            4 args (read_write; the indirect table: step part, then CG part). One bind group
//            per solve serves every entry (cg_end uses 0 and 1).
// Dispatch:  (1, 1, 1), one workgroup of 256 (the partial sums are added by a 256-wide tree);
//            cg_end one invocation.
// Index:     none (scalars).
// Twin:      crates/lipf-core/src/cpu/cg_control.rs (CgControl, solve_tolerance; run by
//            Multigrid::solve and CoupledMultigrid::solve in solver.rs).
// Imports:   shared/control.wgsl, shared/tree.wgsl, shared/float.wgsl, shared/indirect.wgsl

struct SolveParams {
    tol: f32,
    solve: u32,
    partials: u32,
    shapes: u32,
}

@group(0) @binding(0) var<uniform> params: SolveParams;
@group(0) @binding(1) var<storage, read_write> control: Control;
@group(0) @binding(2) var<storage, read> partials: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> shapes: array<u32>;
@group(0) @binding(4) var<storage, read_write> args: array<u32>;

// Codes of SolveParams.solve (twins: lipf_gpu::params::SOLVE_*, compared by
// tests/gpu_checks.rs). Solve 0 is φ0 (or φ under potentiostatic control).
// φ1, the response to a unit collector potential: its tolerance is relative to |V|.
const SOLVE_UNIT: u32 = 1u;
// u = c̃ e^{fφ} of the implicit Nernst–Planck step: absolute tolerance, no floor.
const SOLVE_NERNST_PLANCK: u32 = 2u;
// The creep pressure p (creep_assemble.wgsl): the CPU's absolute tolerance with the f32 floor,
// iterations counted apart.
const SOLVE_CREEP: u32 = 3u;
// The ξ increment of the semi-implicit gradient term (xi_gradient_operator.wgsl): the CPU's
// absolute tolerance with the f32 floor, iterations counted apart.
const SOLVE_XI: u32 = 4u;

// Floor of the stopping test, as a fraction of Σ|b|: about 10 f32 epsilons, reachable by the
// recurrence residual r −= α q (whose round-off shrinks with the update) in every solve.
const F32_RHS_FLOOR: f32 = 1e-6;

fn total(t: u32) -> vec2<f32> {
    var s = vec2<f32>(0.0, 0.0);
    for (var k = t; k < params.partials; k += 256u) {
        s += partials[k];
    }
    tree[t] = s;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h >>= 1u) {
        if (t < h) {
            tree[t] += tree[t + h];
        }
        workgroupBarrier();
    }
    return tree[0];
}

fn set_cg_args(on: bool) {
    let base = cg_args_base(params.shapes);
    for (var s = 0u; s < DISPATCH_ARGS_WORDS * params.shapes; s++) {
        if (on) {
            args[base + s] = shapes[s];
        } else {
            args[base + s] = 0u;
        }
    }
}

fn live() -> bool {
    return control.running != 0u && control.converged == 0u;
}

@compute @workgroup_size(256)
fn cg_begin(@builtin(local_invocation_id) lid: vec3<u32>) {
    let t = total(lid.x);
    if (lid.x != 0u) {
        return;
    }
    control.converged = 1u;
    control.solve_iterations = 0u;
    if (control.running == 0u) {
        set_cg_args(false);
        return;
    }
    var tol = params.tol;
    if (params.solve == SOLVE_UNIT) {
        // φ1 enters scaled by V: its tolerance is relative to the expected |V|.
        tol = tol / max(abs(control.v_collector), 1e-3);
    }
    if (params.solve != SOLVE_NERNST_PLANCK) {
        tol = max(tol, F32_RHS_FLOOR * t.y);
    }
    control.tol = tol;
    control.res = t.x;
    let conv = t.x <= tol;
    control.converged = select(0u, 1u, conv);
    set_cg_args(!conv);
}

@compute @workgroup_size(256)
fn cg_rz0(@builtin(local_invocation_id) lid: vec3<u32>) {
    let t = total(lid.x);
    if (lid.x == 0u && live()) {
        control.rz = t.x;
    }
}

@compute @workgroup_size(256)
fn cg_alpha(@builtin(local_invocation_id) lid: vec3<u32>) {
    let t = total(lid.x);
    if (lid.x != 0u || !live()) {
        return;
    }
    control.solve_iterations += 1u;
    let pq = t.x;
    if (!(pq > 0.0) || !finite(pq)) {
        // Breakdown: stop this solve; cg_end reports it as not converged.
        control.flags |= FLAG_CG_BREAKDOWN;
        if (params.solve == SOLVE_NERNST_PLANCK) {
            control.flags |= FLAG_NP_NOT_CONVERGED;
        }
        if (params.solve == SOLVE_CREEP) {
            control.flags |= FLAG_CREEP_NOT_CONVERGED;
        }
        if (params.solve == SOLVE_XI) {
            control.flags |= FLAG_XI_NOT_CONVERGED;
        }
        control.converged = 1u;
        set_cg_args(false);
        return;
    }
    control.alpha = control.rz / pq;
}

@compute @workgroup_size(256)
fn cg_check(@builtin(local_invocation_id) lid: vec3<u32>) {
    let t = total(lid.x);
    if (lid.x != 0u || !live()) {
        return;
    }
    control.res = t.x;
    if (t.x <= control.tol) {
        control.converged = 1u;
        set_cg_args(false);
    }
}

@compute @workgroup_size(256)
fn cg_beta(@builtin(local_invocation_id) lid: vec3<u32>) {
    let t = total(lid.x);
    if (lid.x != 0u || !live()) {
        return;
    }
    control.beta = t.x / control.rz;
    control.rz = t.x;
}

@compute @workgroup_size(1)
fn cg_end() {
    if (control.flags != 0u) {
        control.not_converged = 1u;
        return;
    }
    if (control.running == 0u) {
        return;
    }
    let np = params.solve == SOLVE_NERNST_PLANCK;
    let creep = params.solve == SOLVE_CREEP;
    let xi = params.solve == SOLVE_XI;
    if (control.converged == 0u) {
        control.not_converged = 1u;
        if (np) {
            control.flags |= FLAG_NP_NOT_CONVERGED;
        }
        if (creep) {
            control.flags |= FLAG_CREEP_NOT_CONVERGED;
        }
        if (xi) {
            control.flags |= FLAG_XI_NOT_CONVERGED;
        }
    }
    if (xi) {
        control.xi_iterations += control.solve_iterations;
        control.xi_max_solve_iterations =
            max(control.xi_max_solve_iterations, control.solve_iterations);
        return;
    }
    if (creep) {
        control.creep_iterations += control.solve_iterations;
        control.creep_max_solve_iterations =
            max(control.creep_max_solve_iterations, control.solve_iterations);
        return;
    }
    if (np) {
        control.np_iterations += control.solve_iterations;
        control.np_max_solve_iterations =
            max(control.np_max_solve_iterations, control.solve_iterations);
        return;
    }
    control.step_iterations += control.solve_iterations;
    control.max_solve_iterations = max(control.max_solve_iterations, control.solve_iterations);
}
