//! Galvanostatic control and the boundary current (twin of `shaders/collector.wgsl`).
//!
//! The potential is linear in the collector potential V: φ = φ0 + V φ1, with φ0 solved at V = 0
//! and φ1 the response to V = 1. The top-boundary currents I0 = −Σ_top T φ0 and
//! I1 = −Σ_top T φ1 then give the V whose current is the target, V = (I_target − I0)/I1
//! ([`collector`]); I1 = 0 means that no interface reacts to V, and galvanostatic control is
//! impossible. [`combine_potential`] forms φ, [`add_scaled_rhs`] adds V b1 to b0 (potentiostatic
//! control: one solve at the fixed V) and [`top_current`] is the plating current of a potential.

use super::operator::Operator;
use crate::backend::SimulationError;

/// |I1| below this (or I1 not finite): the current does not depend on V, A/m (the device uses
/// 1e-30 in f32).
pub const MIN_UNIT_RESPONSE_A_M: f64 = 1e-300;

/// The galvanostatic collector potential and the currents it was computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectorPotential {
    /// Top-boundary current of φ0 (V = 0), A/m per unit depth.
    pub i0: f64,
    /// Top-boundary current of φ1 (response to V = 1), A/m per V.
    pub i1: f64,
    /// V = (I_target − I0)/I1, V.
    pub v_collector: f64,
}

/// The plating current per unit depth (3D: per Δx of depth, summed over the sections) of
/// `potential` through the top boundary, A/m:
/// −Σ_top T φ ([`Operator::top_outflow`] is the outward current).
pub fn top_current(op: &Operator, potential: &[f64]) -> f64 {
    -op.top_outflow(potential)
}

/// V = (I_target − I0)/I1 from the two galvanostatic solves, or the held voltage; an error when
/// I1 vanishes (no electrochemically active interface) and no voltage is held.
pub fn collector(
    op: &Operator,
    potential0: &[f64],
    potential1: &[f64],
    target_current_a_m: f64,
    held_voltage_v: Option<f64>,
) -> Result<CollectorPotential, SimulationError> {
    collector_from_currents(
        top_current(op, potential0),
        top_current(op, potential1),
        target_current_a_m,
        held_voltage_v,
    )
}

/// V = (I_target − I0)/I1 from the currents of the two galvanostatic solves (in the
/// two-potential form each the sum of the ionic and the electronic current through the top);
/// with a held voltage (a potentiostatic protocol segment) V is that voltage, and the current
/// follows as I0 + V I1.
pub fn collector_from_currents(
    i0: f64,
    i1: f64,
    target_current_a_m: f64,
    held_voltage_v: Option<f64>,
) -> Result<CollectorPotential, SimulationError> {
    if let Some(v) = held_voltage_v {
        return Ok(CollectorPotential {
            i0,
            i1,
            v_collector: v,
        });
    }
    if i1.abs() < MIN_UNIT_RESPONSE_A_M || !i1.is_finite() {
        return Err(SimulationError::Solver(
            "galvanostatic control impossible: the current does not depend on the \
             collector potential (no electrochemically active interface)"
                .into(),
        ));
    }
    Ok(CollectorPotential {
        i0,
        i1,
        v_collector: (target_current_a_m - i0) / i1,
    })
}

/// φ = φ0 + V φ1.
pub fn combine_potential(potential0: &[f64], potential1: &[f64], v: f64, potential: &mut [f64]) {
    for ((p, &p0), &p1) in potential.iter_mut().zip(potential0).zip(potential1) {
        *p = p0 + v * p1;
    }
}

/// b0 += V b1.
pub fn add_scaled_rhs(b0: &mut [f64], b1: &[f64], v: f64) {
    for (b, &b1) in b0.iter_mut().zip(b1) {
        *b += v * b1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3 × 2 operator whose top row has conductances 1, 2, 3.
    fn op() -> Operator {
        let mut op = Operator::zeros(3, 2);
        op.ty[3..].copy_from_slice(&[1.0, 2.0, 3.0]);
        op
    }

    #[test]
    fn collector_potential_meets_the_target_current() {
        let op = op();
        let p0 = [9.0, 9.0, 9.0, 1.0, 0.0, 0.0];
        let p1 = [9.0, 9.0, 9.0, 0.0, 1.0, 1.0];
        let c = collector(&op, &p0, &p1, 4.0, None).unwrap();
        assert_eq!((c.i0, c.i1), (-1.0, -5.0));
        assert_eq!(c.v_collector, -1.0);
        let mut phi = [0.0; 6];
        combine_potential(&p0, &p1, c.v_collector, &mut phi);
        assert_eq!(top_current(&op, &phi), 4.0);
        let mut b0 = [1.0, 2.0];
        add_scaled_rhs(&mut b0, &[1.0, -1.0], 0.5);
        assert_eq!(b0, [1.5, 1.5]);
    }

    #[test]
    fn no_response_to_the_collector_potential_is_an_error() {
        let op = op();
        let p0 = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        assert!(collector(&op, &p0, &[0.0; 6], 1.0, None).is_err());
        let nan = [0.0, 0.0, 0.0, f64::NAN, 0.0, 0.0];
        assert!(collector(&op, &p0, &nan, 1.0, None).is_err());
    }
}
