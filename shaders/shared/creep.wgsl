// shared/creep.wgsl — the uniform and the cell functions of the creep kernels (no entry point).
//
// Declares: struct CreepParams (creep_assemble.wgsl, creep_finish.wgsl, creep_active_set.wgsl;
//           twin: lipf_gpu::params::CreepParams), creep_excess (ξ + ϕ − 1)₊, creep_free_room
//           (1 − ϕ − ξ)₊ and creep_metal clamp(ξ, 0, 1).
// Needs:    nothing.
// Twin:     excess, free_room and metal of crates/lipf-core/src/cpu/creep_assemble.rs.

struct CreepParams {
    nx: u32,
    ny: u32,
    // 1 with an open collector (metal crosses the bottom boundary), 0 closed.
    open_collector: u32,
    // Sections along z: 1 (creep runs on 2D sections only; shared/operator.wgsl reads it).
    nz: u32,
    // K/Δx², the Darcy mobility over the cell area, 1/(Pa s); times Δt the conductance scale.
    mobility_over_dx2: f32,
    // The stack pressure p_s at an open collector, Pa.
    stack_pressure: f32,
    // γ: the free-surface penalty, and ε = PRESSURE_FLOOR: the uptake coefficient of a full
    // cell, both in units of Δt K/Δx².
    penalty: f32,
    pressure_floor: f32,
}

// Li beyond the room the scaffold leaves, (ξ + ϕ − 1)₊.
fn creep_excess(xi: f32, phi: f32) -> f32 {
    return max(xi + phi - 1.0, 0.0);
}

// Free room (1 − ϕ − ξ)₊.
fn creep_free_room(xi: f32, phi: f32) -> f32 {
    return max(1.0 - phi - xi, 0.0);
}

// The metal fraction that carries the flow, clamp(ξ, 0, 1).
fn creep_metal(xi: f32) -> f32 {
    return clamp(xi, 0.0, 1.0);
}
