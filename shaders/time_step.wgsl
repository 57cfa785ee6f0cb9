// time_step.wgsl — step control on the device: which steps of a recorded batch run, and the
// size of each step.
//
// Update:    step_begin: a step runs while time remains, no solve failed and the step log has
//              room; it writes the step and CG parts of the indirect-dispatch table (zero
//              workgroups for a step that does not run, so the recorded steps past the target
//              time cost nothing);
//            dt_partials: per-workgroup max |r| and max drift D f |∇φ| (per Δx);
//            time_step: Δt = min(Allen–Cahn stability limit, max ξ change / max |r|, max_dt),
//              landing exactly on the remaining time when it is within a step; the Nernst–Planck
//              sub-step count ceil(Δt / Δt_np), Δt_np = min(diffusion limit, half a cell of
//              drift), and the indirect entries of the recorded sub-steps (FLAG_SUBSTEPS_EXCEEDED
//              when more are needed than were recorded); with the implicit Nernst–Planck step
//              (np_implicit) no sub-steps: the count is 0 and no entry is written; appends (Δt,
//              I, V, iterations, sub-steps, the electronic leakage part of I) to the log.
// Bindings:  0 uniform StepParams; 1 control (read_write); 2 shapes (read); 3 args (read_write;
//            step part, CG part, then one entry per recorded sub-step);
//            4 rate, 5 potential, 6 xi, 7 phi (read); 8 partials (read_write); 9 steps (the step
//            log, read_write).
// Dispatch:  step_begin: (1, 1, 1) of 1; dt_partials: (groups, 1, 1) of 256, grid-stride;
//            time_step: (1, 1, 1) of 256.
// Index:     k = j·nx + i, x periodic.
// Twin:      crates/lipf-core/src/cpu/time_step.rs (step_maxima: dt_partials and the reduction
//            of its partials; time_step: Δt, the landing on t_max and the sub-step count);
//            step_begin and the step log have no CPU counterpart (the CPU runs one step at a
//            time).
// Imports:   shared/control.wgsl, shared/interp.wgsl, shared/tree.wgsl, shared/diffusivity.wgsl,
//            shared/indirect.wgsl, shared/grid.wgsl

struct StepParams {
    nx: u32,
    ny: u32,
    n: u32,
    groups: u32,
    form: u32,
    shapes: u32,
    max_steps: u32,
    substeps_recorded: u32,
    dt_stable: f32,
    dt_np: f32,
    max_xi_change: f32,
    max_dt: f32,
    inv_dx2: f32,
    f: f32,
    d_p: f32,
    d_e: f32,
    land_tolerance: f32,
    floor: f32,
    // The interphase's band: lo ≤ ϕ < hi, where D_p is scaled (shared/interp.wgsl).
    ip_phi_hi: f32,
    ip_ionic_k: f32,
    ip_phi_lo: f32,
    // 1: model.nernst_planck = "implicit" (np_assemble.wgsl), no sub-steps.
    np_implicit: u32,
    // λ of the electrolyte fraction (shared/interp.wgsl): 1 for a liquid, 0 for the solid.
    liquid: f32,
    // Sections along z (1: a 2D section); n = nx·ny·nz.
    nz: u32,
}

// One entry of the step log (twin: lipf_gpu::params::StepLog).
struct StepLog {
    dt: f32,
    current_a_m: f32,
    v_collector: f32,
    iterations: u32,
    max_solve_iterations: u32,
    substeps: u32,
    leakage_a_m: f32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: StepParams;
@group(0) @binding(1) var<storage, read_write> control: Control;
@group(0) @binding(2) var<storage, read> shapes: array<u32>;
@group(0) @binding(3) var<storage, read_write> args: array<u32>;
@group(0) @binding(4) var<storage, read> rate: array<f32>;
@group(0) @binding(5) var<storage, read> potential: array<f32>;
@group(0) @binding(6) var<storage, read> xi: array<f32>;
@group(0) @binding(7) var<storage, read> phi: array<f32>;
@group(0) @binding(8) var<storage, read_write> partials: array<vec2<f32>>;
@group(0) @binding(9) var<storage, read_write> steps: array<StepLog>;

fn tree_max(t: u32, v: vec2<f32>) -> vec2<f32> {
    tree[t] = v;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (t < s) {
            tree[t] = max(tree[t], tree[t + s]);
        }
        workgroupBarrier();
    }
    return tree[0];
}

@compute @workgroup_size(1)
fn step_begin() {
    let on = control.remaining > 0.0 && control.flags == 0u && control.not_converged == 0u
        && control.step_count < p.max_steps;
    control.running = select(0u, 1u, on);
    control.step_iterations = 0u;
    control.max_solve_iterations = 0u;
    let step_base = step_args_base();
    let cg_base = cg_args_base(p.shapes);
    for (var s = 0u; s < DISPATCH_ARGS_WORDS * p.shapes; s++) {
        var v = 0u;
        if (on) {
            v = shapes[s];
        }
        args[step_base + s] = v;
        args[cg_base + s] = v;
    }
    // Sub-steps run only when time_step enables them.
    let sub_base = substep_args_base(p.shapes);
    for (var s = 0u; s < DISPATCH_ARGS_WORDS * p.substeps_recorded; s++) {
        args[sub_base + s] = 0u;
    }
}

@compute @workgroup_size(256)
fn dt_partials(@builtin(local_invocation_id) lid: vec3<u32>,
               @builtin(workgroup_id) wid: vec3<u32>) {
    var m = vec2<f32>(0.0, 0.0);
    for (var k = wid.x * 256u + lid.x; k < p.n; k += p.groups * 256u) {
        let i = k % p.nx;
        // Row r = kz·ny + j of the cell.
        let r = k / p.nx;
        let e = r * p.nx + (i + 1u) % p.nx;
        var d = abs(potential[e] - potential[k]);
        if (r % p.ny + 1u < p.ny) {
            d = max(d, abs(potential[k + p.nx] - potential[k]));
        }
        if (p.nz > 1u) {
            let section = p.nx * p.ny;
            d = max(d, abs(potential[front_cell(k, r / p.ny, section, p.nz)] - potential[k]));
        }
        // Migration: the drift velocity D f |∇φ| must not cross half a cell per step.
        m = max(m, vec2<f32>(abs(rate[k]), max(dif(k), dif(e)) * p.f * d));
    }
    let total = tree_max(lid.x, m);
    if (lid.x == 0u) {
        partials[wid.x] = total;
    }
}

@compute @workgroup_size(256)
fn time_step(@builtin(local_invocation_id) lid: vec3<u32>) {
    var m = vec2<f32>(0.0, 0.0);
    for (var k = lid.x; k < p.groups; k += 256u) {
        m = max(m, partials[k]);
    }
    let total = tree_max(lid.x, m);
    if (lid.x != 0u || control.running == 0u) {
        return;
    }
    let max_rate = total.x;
    let max_drift_per_dx = total.y * p.inv_dx2;
    var dt = p.dt_stable;
    if (max_rate > 0.0) {
        dt = min(dt, p.max_xi_change / max_rate);
    }
    // c̃ is sub-stepped within the step, so diffusion and drift do not limit Δt.
    var dt_np = p.dt_np;
    if (max_drift_per_dx > 0.0) {
        dt_np = min(dt_np, 0.5 / max_drift_per_dx);
    }
    dt = min(dt, p.max_dt);
    let remaining = control.remaining;
    // Land exactly on the target when the remaining interval is within a step (or nearly so).
    if (remaining <= dt * (1.0 + p.land_tolerance)) {
        dt = remaining;
        control.remaining = 0.0;
    } else {
        control.remaining = remaining - dt;
    }
    control.dt = dt;
    var substeps = 0u;
    if (p.np_implicit == 0u) {
        substeps = max(u32(ceil(dt / dt_np * (1.0 - 1e-6))), 1u);
        control.dt_sub = dt / f32(substeps);
        if (substeps > p.substeps_recorded) {
            control.flags |= FLAG_SUBSTEPS_EXCEEDED;
        }
        let sub_base = substep_args_base(p.shapes);
        for (var q = 0u; q < min(substeps, p.substeps_recorded); q++) {
            for (var c = 0u; c < DISPATCH_ARGS_WORDS; c++) {
                args[sub_base + DISPATCH_ARGS_WORDS * q + c] = shapes[c];
            }
        }
    }
    control.substeps = substeps;
    steps[control.step_count] = StepLog(dt, control.current_a_m, control.v_collector,
        control.step_iterations, control.max_solve_iterations, substeps, control.leakage_a_m,
        0u);
    control.step_count += 1u;
}
