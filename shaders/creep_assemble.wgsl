// creep_assemble.wgsl — the pressure problem of the metal's Darcy flow for one creep step (Li
// creep, docs/models/phase-field.md §9.10), an SPD 5-point problem solved by the multigrid-
// preconditioned CG of the potentials.
//
// Update:    op = [tx | ty | s | diag | tbot] with the face conductances T_kn = Δt K m_kn/Δx²,
//            m_kn = ½(m_k + m_n), m = clamp(ξ, 0, 1) (no face to the top: ty = 0 in the top
//            row; x periodic, no x faces when nx = 1), tbot = 2Δt K m_i/Δx² with an open
//            collector (0 closed), S = Δt K γ/Δx² in a free cell and Δt K ε/Δx² in a full one
//            (mask `full` ≠ 0), the cached diagonal Σ T + S (+ tbot in row 0); and
//            rhs = (ξ + ϕ − 1)₊ − [full] (1 − ϕ − ξ)₊ (+ tbot p_s in row 0). Faces are
//            evaluated with their owners' arguments (the west and south faces by the
//            neighbour's formula), so the diagonal holds the conductances the neighbours store.
//            Δt is the step's, from the control record (time_step.wgsl), as in np_assemble.wgsl.
// Bindings:  0 uniform CreepParams; 1 xi, 2 phi (read); 3 full (read, u32 per cell: 1 = the
//            cell fills); 4 control (read: dt); 5 op, 6 rhs (write).
// Dispatch:  (ceil(nx/16), ceil(ny/16), 1) workgroups of 16×16, one invocation per cell.
// Index:     k = j·nx + i, row 0 at the collector; op layout as in potential_assemble.wgsl (tx
//            at k, ty at n + k, s at 2n + k, diag at 3n + k, tbot at 4n + i).
// Twin:      crates/lipf-core/src/cpu/creep_assemble.rs (creep_assemble), with
//            Operator::update_diagonal (cpu/operator.rs) folded in; ε is its PRESSURE_FLOOR,
//            passed in CreepParams.
// Imports:   shared/creep.wgsl, shared/control.wgsl, shared/operator.wgsl

@group(0) @binding(0) var<uniform> p: CreepParams;
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> full: array<u32>;
@group(0) @binding(4) var<storage, read> control: Control;
@group(0) @binding(5) var<storage, read_write> op: array<f32>;
@group(0) @binding(6) var<storage, read_write> rhs: array<f32>;

// T of the face between cells k and n at the conductance scale Δt K/Δx².
fn creep_face(scale: f32, k: u32, n: u32) -> f32 {
    return scale * 0.5 * (creep_metal(xi[k]) + creep_metal(xi[n]));
}

@compute @workgroup_size(16, 16)
fn creep_assemble(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let j = gid.y;
    // Invocations past the grid's edge do nothing.
    if (i >= p.nx || j >= p.ny) {
        return;
    }
    let nx = p.nx;
    let k = j * nx + i;
    let scale = control.dt * p.mobility_over_dx2;
    var tx = 0.0;
    var tx_west = 0.0;
    if (nx > 1u) {
        tx = creep_face(scale, k, j * nx + (i + 1u) % nx);
        tx_west = creep_face(scale, j * nx + (i + nx - 1u) % nx, k);
    }
    var ty = 0.0;
    if (j + 1u < p.ny) {
        ty = creep_face(scale, k, k + nx);
    }
    var tbot = 0.0;
    if (j == 0u && p.open_collector != 0u) {
        tbot = 2.0 * scale * creep_metal(xi[i]);
    }
    // The south face: the neighbour's north face, or in row 0 the collector's.
    var ty_south = tbot;
    if (j > 0u) {
        ty_south = creep_face(scale, k - nx, k);
    }
    let is_full = full[k] != 0u;
    let s = scale * select(p.penalty, p.pressure_floor, is_full);
    store_operator(i, j, 0u, tx, tx_west, ty, ty_south, 0.0, 0.0, s, tbot);
    var b = creep_excess(xi[k], phi[k]);
    if (is_full) {
        b -= creep_free_room(xi[k], phi[k]);
    }
    if (j == 0u) {
        b += tbot * p.stack_pressure;
    }
    rhs[k] = b;
}
