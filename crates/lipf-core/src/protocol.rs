//! Cycling protocols and stop criteria (docs/protocols.md).
//!
//! A protocol (`control.protocol`) is a list of segments, each a constant current, a rest or a
//! held cell voltage, ended by its duration, by the charge passed in it or (a current) by a
//! cell-voltage limit, whichever comes first. The list runs `control.repeat` times (one pass is
//! a cycle) or until the end time; `control.ramp` raises the segments' currents every few
//! cycles. [`Tracker`] follows the protocol between the driver's calls of `Backend::advance`: it
//! knows the current (or the voltage) to apply, the time at which the segment ends by duration
//! or charge (the driver advances exactly there) and decides at each stop whether the segment
//! has ended. Its [`Position`] is stored in the checkpoint, so that a resumed run switches where
//! an uninterrupted one does.
//!
//! The stop criteria (`control.stop`) end the run: a cell-voltage limit and a short circuit,
//! a 4-connected path of Li (ξ > ½) from the collector row to the top row ([`short_circuit`]).

use crate::config::{invalid, ConfigError, Control, ControlMode};
use crate::observables::Scalars;
use crate::state::State;
use crate::units::m_to_um;
use serde::{Deserialize, Serialize};

/// C/m² in one mAh/cm² (3.6 C per 1e-4 m²).
pub const C_M2_PER_MAH_CM2: f64 = 3.6e4;

/// Relative tolerance on a segment's duration and charge: a segment whose end lies within it
/// of the current time has ended (no vanishing step is taken to reach it).
const END_TOLERANCE: f64 = 1e-9;

/// What a segment does.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// A constant current (`current_density_a_m2`; 0 is a rest).
    #[default]
    Galvanostatic,
    /// Open circuit: no current.
    Rest,
    /// A held cell voltage (`cell_voltage_v`): the galvanostatic step combines its two solves
    /// at that voltage instead of at the voltage of a target current.
    Potentiostatic,
}

impl SegmentKind {
    fn is_galvanostatic(&self) -> bool {
        *self == SegmentKind::Galvanostatic
    }
}

/// One segment of a protocol. A segment that gives only a current and a duration means what it
/// always meant: that current for that time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSegment {
    #[serde(default, skip_serializing_if = "SegmentKind::is_galvanostatic")]
    pub kind: SegmentKind,
    /// Applied current density, A/m²; positive plates Li, negative strips it, 0 rests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_density_a_m2: Option<f64>,
    /// The segment ends after this time, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// The segment ends when this charge has passed in it, mAh/cm².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_mah_cm2: Option<f64>,
    /// The segment ends when the cell voltage crosses this, V: a plating segment (current > 0,
    /// the voltage falls) when V ≤ limit, a stripping one when V ≥ limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voltage_limit_v: Option<f64>,
    /// Held cell voltage of a potentiostatic segment, V (negative plates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_voltage_v: Option<f64>,
}

impl ProtocolSegment {
    /// A segment of `current` A/m² for `duration` s.
    pub fn galvanostatic(current: f64, duration: f64) -> ProtocolSegment {
        ProtocolSegment {
            current_density_a_m2: Some(current),
            duration_s: Some(duration),
            ..Default::default()
        }
    }

    /// The segment's current before any ramp, A/m² (0 for a rest).
    pub fn current(&self) -> f64 {
        match self.kind {
            SegmentKind::Galvanostatic => self.current_density_a_m2.unwrap_or(0.0),
            _ => 0.0,
        }
    }

    /// The duration of a segment that ends by its duration alone.
    pub fn fixed_duration_s(&self) -> Option<f64> {
        match (self.capacity_mah_cm2, self.voltage_limit_v) {
            (None, None) => self.duration_s,
            _ => None,
        }
    }
}

/// A current ramp: every `every_cycles` cycles each segment's current grows in magnitude by
/// `step_a_m2` (rests stay rests); the protocol ends before the first cycle whose current would
/// exceed `max_a_m2`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ramp {
    pub every_cycles: u64,
    pub step_a_m2: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_a_m2: Option<f64>,
}

/// Criteria that end a run before its end time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StopCriteria {
    /// Stop when |cell voltage| exceeds this, V (checked after every step on the CPU backend).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voltage_limit_v: Option<f64>,
    /// Stop when Li (ξ > ½) connects the collector row to the top row (checked at every
    /// time-series sample).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub short_circuit: bool,
}

/// Checks `control.protocol`, `repeat`, `ramp` and `stop` (called by `Config::validate`).
pub fn validate(c: &Control) -> Result<(), ConfigError> {
    if !c.protocol.is_empty() && c.mode != ControlMode::Galvanostatic {
        return Err(invalid(
            "control.protocol",
            "a protocol",
            "needs control.mode = \"galvanostatic\" (its segments are currents)",
        ));
    }
    for (k, s) in c.protocol.iter().enumerate() {
        let path = |f: &str| format!("control.protocol[{k}].{f}");
        let num = |f: &str, v: Option<f64>, want: fn(f64) -> bool, allowed: &str| match v {
            Some(x) if !want(x) => Err(invalid(&path(f), x, allowed)),
            _ => Ok(()),
        };
        match (s.kind, s.cell_voltage_v) {
            (SegmentKind::Potentiostatic, None) => {
                return Err(invalid(
                    &path("cell_voltage_v"),
                    "missing",
                    "is required in a potentiostatic segment (the held cell voltage, V)",
                ))
            }
            (SegmentKind::Potentiostatic, Some(v)) if !(v.is_finite() && v.abs() <= 10.0) => {
                return Err(invalid(
                    &path("cell_voltage_v"),
                    v,
                    "allowed range is [-10, 10] V",
                ))
            }
            (SegmentKind::Potentiostatic, Some(_)) => {
                if let Some(i) = s.current_density_a_m2 {
                    return Err(invalid(
                        &path("current_density_a_m2"),
                        i,
                        "does not belong in a potentiostatic segment (the current follows from \
                         the held voltage)",
                    ));
                }
                if let Some(v) = s.voltage_limit_v {
                    return Err(invalid(
                        &path("voltage_limit_v"),
                        v,
                        "cannot end a potentiostatic segment (its voltage is held); end it by \
                         duration_s or capacity_mah_cm2",
                    ));
                }
            }
            (_, Some(v)) => {
                return Err(invalid(
                    &path("cell_voltage_v"),
                    v,
                    "belongs only to a potentiostatic segment (\"kind\": \"potentiostatic\")",
                ))
            }
            _ => {}
        }
        num(
            "duration_s",
            s.duration_s,
            |x| x > 0.0 && x.is_finite(),
            "must be > 0",
        )?;
        num(
            "capacity_mah_cm2",
            s.capacity_mah_cm2,
            |x| x > 0.0 && x.is_finite(),
            "must be > 0",
        )?;
        num(
            "voltage_limit_v",
            s.voltage_limit_v,
            |x| x.abs() <= 10.0,
            "allowed range is [-10, 10] V",
        )?;
        let i =
            match (s.kind, s.current_density_a_m2) {
                (SegmentKind::Rest, Some(i)) if i != 0.0 => {
                    return Err(invalid(
                        &path("current_density_a_m2"),
                        i,
                        "must be 0 or absent in a rest",
                    ))
                }
                (SegmentKind::Galvanostatic, None) => return Err(invalid(
                    &path("current_density_a_m2"),
                    "missing",
                    "is required in a galvanostatic segment (0 or \"kind\": \"rest\" for a rest)",
                )),
                (_, Some(i)) if !i.is_finite() => {
                    return Err(invalid(
                        &path("current_density_a_m2"),
                        i,
                        "must be a finite number",
                    ))
                }
                _ => s.current(),
            };
        if i == 0.0 && s.kind != SegmentKind::Potentiostatic {
            if let Some(q) = s.capacity_mah_cm2 {
                return Err(invalid(
                    &path("capacity_mah_cm2"),
                    q,
                    "cannot end a rest (no charge passes); end it by duration_s",
                ));
            }
            if let Some(v) = s.voltage_limit_v {
                return Err(invalid(
                    &path("voltage_limit_v"),
                    v,
                    "cannot end a rest (it has no direction to cross in); end it by duration_s",
                ));
            }
        }
        if let Some(v) = s.voltage_limit_v {
            if i > 0.0 && v >= 0.0 {
                return Err(invalid(
                    &path("voltage_limit_v"),
                    v,
                    "must be < 0 in a plating segment (current > 0 drives the cell voltage \
                     negative; the segment ends when V ≤ limit)",
                ));
            }
            if i < 0.0 && v <= 0.0 {
                return Err(invalid(
                    &path("voltage_limit_v"),
                    v,
                    "must be > 0 in a stripping segment (current < 0 drives the cell voltage \
                     positive; the segment ends when V ≥ limit)",
                ));
            }
        }
        if s.duration_s.is_none() && s.capacity_mah_cm2.is_none() && s.voltage_limit_v.is_none() {
            return Err(invalid(
                &format!("control.protocol[{k}]"),
                "a segment without an end",
                "needs duration_s, capacity_mah_cm2 or voltage_limit_v",
            ));
        }
    }
    if let Some(n) = c.repeat {
        if c.protocol.is_empty() {
            return Err(invalid("control.repeat", n, "needs a control.protocol"));
        }
        if n == 0 {
            return Err(invalid("control.repeat", n, "must be ≥ 1 (cycles)"));
        }
    }
    if let Some(r) = &c.ramp {
        if c.protocol.is_empty() {
            return Err(invalid(
                "control.ramp",
                "a ramp",
                "needs a control.protocol",
            ));
        }
        if r.every_cycles == 0 {
            return Err(invalid(
                "control.ramp.every_cycles",
                r.every_cycles,
                "must be ≥ 1",
            ));
        }
        if !(r.step_a_m2 > 0.0 && r.step_a_m2.is_finite()) {
            return Err(invalid(
                "control.ramp.step_a_m2",
                r.step_a_m2,
                "must be > 0",
            ));
        }
        if let Some(m) = r.max_a_m2 {
            let first = c
                .protocol
                .iter()
                .map(|s| s.current().abs())
                .fold(0.0, f64::max);
            if !(m.is_finite() && m >= first) {
                return Err(invalid(
                    "control.ramp.max_a_m2",
                    m,
                    format!(
                        "must be finite and ≥ the largest segment current, {first} A/m² (the \
                         first cycle would already exceed it)"
                    ),
                ));
            }
        }
    }
    if let Some(st) = &c.stop {
        if let Some(v) = st.voltage_limit_v {
            if !(v > 0.0 && v.is_finite()) {
                return Err(invalid(
                    "control.stop.voltage_limit_v",
                    v,
                    "must be > 0 (the run stops when |V| exceeds it)",
                ));
            }
            if c.mode == ControlMode::Potentiostatic {
                return Err(invalid(
                    "control.stop.voltage_limit_v",
                    v,
                    "needs galvanostatic control (under potentiostatic control the cell \
                     voltage is held)",
                ));
            }
        }
    }
    Ok(())
}

/// Why a segment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentEnd {
    Duration,
    Capacity,
    VoltageLimit,
    /// The run ended (end time, stop criterion, interruption) inside the segment.
    Incomplete,
}

impl SegmentEnd {
    pub fn name(&self) -> &'static str {
        match self {
            SegmentEnd::Duration => "duration",
            SegmentEnd::Capacity => "capacity",
            SegmentEnd::VoltageLimit => "voltage_limit",
            SegmentEnd::Incomplete => "incomplete",
        }
    }

    pub fn from_name(s: &str) -> Option<SegmentEnd> {
        [
            SegmentEnd::Duration,
            SegmentEnd::Capacity,
            SegmentEnd::VoltageLimit,
            SegmentEnd::Incomplete,
        ]
        .into_iter()
        .find(|e| e.name() == s)
    }
}

/// One segment as it ran (a row of `segments.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SegmentRecord {
    /// Cycle, from 0.
    pub cycle: u64,
    /// Index in `control.protocol`.
    pub segment: usize,
    /// Applied current density (after the ramp), A/m².
    pub current_density_a_m2: f64,
    pub start_time_s: f64,
    pub end_time_s: f64,
    /// Charge passed in the segment (signed: > 0 plates), C/m².
    pub charge_c_m2: f64,
    /// Time average of the cell voltage over the segment, V.
    pub mean_voltage_v: f64,
    pub end_voltage_v: f64,
    /// Change of the Li in the fields, mol/m².
    pub li_change_mol_m2: f64,
    pub end: SegmentEnd,
}

/// One cycle (a row of `cycles.csv`), from its segments.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CycleRecord {
    pub cycle: u64,
    pub start_time_s: f64,
    pub end_time_s: f64,
    /// Charge of the plating segments, mAh/cm².
    pub plated_mah_cm2: f64,
    /// Charge of the stripping segments (positive), mAh/cm².
    pub stripped_mah_cm2: f64,
    /// Stripped / plated (NaN without plating).
    pub coulombic_efficiency: f64,
    /// Net charge, mAh/cm².
    pub net_charge_mah_cm2: f64,
    /// Change of the Li in the fields over the cycle as charge, nF ΔLi, mAh/cm².
    pub li_change_mah_cm2: f64,
    /// Every segment of the cycle ran to its end.
    pub complete: bool,
}

/// The cycles of `records` (segments in order); `nf` = nF, C/mol; `segments` = the protocol's
/// length.
pub fn cycles(records: &[SegmentRecord], segments: usize, nf: f64) -> Vec<CycleRecord> {
    let mut out: Vec<CycleRecord> = Vec::new();
    for r in records {
        if out.last().map(|c| c.cycle) != Some(r.cycle) {
            out.push(CycleRecord {
                cycle: r.cycle,
                start_time_s: r.start_time_s,
                end_time_s: r.start_time_s,
                plated_mah_cm2: 0.0,
                stripped_mah_cm2: 0.0,
                coulombic_efficiency: f64::NAN,
                net_charge_mah_cm2: 0.0,
                li_change_mah_cm2: 0.0,
                complete: false,
            });
        }
        let c = out.last_mut().expect("pushed above");
        let q = r.charge_c_m2 / C_M2_PER_MAH_CM2;
        if q > 0.0 {
            c.plated_mah_cm2 += q;
        } else {
            c.stripped_mah_cm2 -= q;
        }
        c.net_charge_mah_cm2 += q;
        c.li_change_mah_cm2 += nf * r.li_change_mol_m2 / C_M2_PER_MAH_CM2;
        c.end_time_s = r.end_time_s;
        c.complete = r.end != SegmentEnd::Incomplete && r.segment + 1 == segments;
    }
    for c in &mut out {
        if c.plated_mah_cm2 > 0.0 {
            c.coulombic_efficiency = c.stripped_mah_cm2 / c.plated_mah_cm2;
        }
    }
    out
}

/// Where a protocol stands: what a checkpoint stores to continue it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub cycle: u64,
    pub segment: usize,
    pub start_time_s: f64,
    pub start_charge_c_m2: f64,
    pub start_li_mol_m2: f64,
    /// Time at which the segment's charge is expected to reach its capacity, s (∞ without one).
    pub capacity_end_time_s: f64,
    /// ∫ V dt over the segment so far, V·s.
    pub voltage_integral_v_s: f64,
    /// Time of the last [`Tracker::poll`], s.
    pub last_time_s: f64,
    /// Every cycle has run (`repeat`, or the ramp's maximum).
    pub finished: bool,
}

impl Position {
    /// Number of values in [`Self::to_vec`].
    pub const LEN: usize = 9;

    pub fn to_vec(&self) -> Vec<f64> {
        vec![
            self.cycle as f64,
            self.segment as f64,
            self.start_time_s,
            self.start_charge_c_m2,
            self.start_li_mol_m2,
            self.capacity_end_time_s,
            self.voltage_integral_v_s,
            self.last_time_s,
            if self.finished { 1.0 } else { 0.0 },
        ]
    }

    pub fn from_slice(v: &[f64]) -> Option<Position> {
        if v.len() != Self::LEN
            || v[0] < 0.0
            || v[1] < 0.0
            || v[0].fract() != 0.0
            || v[1].fract() != 0.0
        {
            return None;
        }
        Some(Position {
            cycle: v[0] as u64,
            segment: v[1] as usize,
            start_time_s: v[2],
            start_charge_c_m2: v[3],
            start_li_mol_m2: v[4],
            capacity_end_time_s: v[5],
            voltage_integral_v_s: v[6],
            last_time_s: v[7],
            finished: v[8] != 0.0,
        })
    }
}

/// Follows a protocol through a run (see the module documentation).
#[derive(Debug, Clone)]
pub struct Tracker {
    segments: Vec<ProtocolSegment>,
    repeat: Option<u64>,
    ramp: Option<Ramp>,
    pub pos: Position,
    /// The segments that have ended, in order.
    pub records: Vec<SegmentRecord>,
}

impl Tracker {
    /// The protocol of `control` from its start at the sample `s` (`None` without a protocol).
    pub fn start(control: &Control, s: &Scalars) -> Option<Tracker> {
        if control.protocol.is_empty() {
            return None;
        }
        let mut t = Tracker {
            segments: control.protocol.clone(),
            repeat: control.repeat,
            ramp: control.ramp.clone(),
            pos: Position {
                cycle: 0,
                segment: 0,
                start_time_s: 0.0,
                start_charge_c_m2: 0.0,
                start_li_mol_m2: 0.0,
                capacity_end_time_s: f64::INFINITY,
                voltage_integral_v_s: 0.0,
                last_time_s: 0.0,
                finished: false,
            },
            records: Vec::new(),
        };
        t.begin_segment(0, 0, s);
        Some(t)
    }

    /// A protocol continued at `pos` with the segments already recorded (resume).
    pub fn resume(control: &Control, pos: Position, records: Vec<SegmentRecord>) -> Option<Self> {
        if control.protocol.is_empty() || pos.segment >= control.protocol.len() {
            return None;
        }
        Some(Tracker {
            segments: control.protocol.clone(),
            repeat: control.repeat,
            ramp: control.ramp.clone(),
            pos,
            records,
        })
    }

    /// The position of a protocol whose segments all end by duration, derived from the time
    /// alone (a checkpoint written before positions were stored). The charge and Li at the
    /// segment's start are taken as those of `s` (only the records use them).
    pub fn derive(control: &Control, s: &Scalars) -> Option<Tracker> {
        let period = control.protocol_period_s()?;
        if control.protocol.is_empty() || control.repeat.is_some() || control.ramp.is_some() {
            return None;
        }
        let cycle = (s.time_s / period).floor();
        let mut start = cycle * period;
        let mut seg = 0;
        for (k, p) in control.protocol.iter().enumerate() {
            let d = p.fixed_duration_s()?;
            if s.time_s < start + d - 1e-9 * period {
                seg = k;
                break;
            }
            start += d;
        }
        let mut t = Tracker::start(control, s)?;
        t.pos.cycle = cycle as u64;
        t.pos.segment = seg;
        t.pos.start_time_s = start;
        t.pos.last_time_s = s.time_s;
        Some(t)
    }

    pub fn segments(&self) -> &[ProtocolSegment] {
        &self.segments
    }

    /// The current of segment `seg` in cycle `cycle`, with the ramp, A/m².
    pub fn current_of(&self, cycle: u64, seg: usize) -> f64 {
        let i = self.segments[seg].current();
        match &self.ramp {
            Some(r) if i != 0.0 => {
                i.signum() * (i.abs() + (cycle / r.every_cycles) as f64 * r.step_a_m2)
            }
            _ => i,
        }
    }

    /// The current to apply now, A/m² (0 once the protocol has finished).
    pub fn current(&self) -> f64 {
        if self.pos.finished {
            0.0
        } else {
            self.current_of(self.pos.cycle, self.pos.segment)
        }
    }

    pub fn finished(&self) -> bool {
        self.pos.finished
    }

    /// The cell voltage the current segment holds, V (a potentiostatic segment; None otherwise
    /// and once the protocol has finished).
    pub fn held_voltage(&self) -> Option<f64> {
        let s = &self.segments[self.pos.segment];
        match (self.pos.finished, s.kind) {
            (false, SegmentKind::Potentiostatic) => s.cell_voltage_v,
            _ => None,
        }
    }

    /// Reopens a protocol that had run all its cycles when its configuration now allows more
    /// (a higher `repeat` or ramp ceiling; extending a finished run): the next cycle starts at
    /// the sample `s`, the checkpoint's, as it would have started there in a run configured
    /// with the new bound from the beginning. Returns whether it reopened.
    pub fn reopen(&mut self, s: &Scalars) -> bool {
        if !self.pos.finished || !self.cycle_runs(self.pos.cycle) {
            return false;
        }
        self.begin_segment(self.pos.cycle, self.pos.segment, s);
        true
    }

    /// Whether the current segment's end is checked after every step: a voltage limit, or the
    /// charge of a potentiostatic segment (whose current, and so the time of its charge, is not
    /// known ahead).
    pub fn needs_every_step(&self) -> bool {
        let s = &self.segments[self.pos.segment];
        !self.pos.finished
            && (s.voltage_limit_v.is_some()
                || (s.kind == SegmentKind::Potentiostatic && s.capacity_mah_cm2.is_some()))
    }

    /// The time at which the current segment ends by its duration or its charge, s (∞ when it
    /// ends by voltage only): the driver advances exactly there.
    pub fn end_time_s(&self) -> f64 {
        if self.pos.finished {
            return f64::INFINITY;
        }
        let s = &self.segments[self.pos.segment];
        let by_duration = s
            .duration_s
            .map_or(f64::INFINITY, |d| self.pos.start_time_s + d);
        by_duration.min(self.pos.capacity_end_time_s)
    }

    fn cycle_runs(&self, cycle: u64) -> bool {
        if self.repeat.is_some_and(|n| cycle >= n) {
            return false;
        }
        match self.ramp.as_ref().and_then(|r| r.max_a_m2) {
            Some(m) => (0..self.segments.len())
                .all(|k| self.current_of(cycle, k).abs() <= m * (1.0 + 1e-12)),
            None => true,
        }
    }

    fn begin_segment(&mut self, cycle: u64, seg: usize, s: &Scalars) {
        self.pos = Position {
            cycle,
            segment: seg,
            start_time_s: s.time_s,
            start_charge_c_m2: s.charge_c_m2,
            start_li_mol_m2: s.li_amount_mol_m2,
            capacity_end_time_s: f64::INFINITY,
            voltage_integral_v_s: 0.0,
            last_time_s: s.time_s,
            finished: !self.cycle_runs(cycle),
        };
        if self.pos.finished {
            return;
        }
        let i = self.current_of(cycle, seg).abs();
        if let (Some(q), true) = (self.segments[seg].capacity_mah_cm2, i > 0.0) {
            self.pos.capacity_end_time_s = s.time_s + q * C_M2_PER_MAH_CM2 / i;
        }
    }

    /// The record of the current segment up to the sample `s`, ended by `end`.
    pub fn record_now(&self, s: &Scalars, end: SegmentEnd) -> SegmentRecord {
        let p = &self.pos;
        let span = s.time_s - p.start_time_s;
        let charge = s.charge_c_m2 - p.start_charge_c_m2;
        SegmentRecord {
            cycle: p.cycle,
            segment: p.segment,
            // A held voltage: the segment's mean current.
            current_density_a_m2: if self.segments[p.segment].kind == SegmentKind::Potentiostatic {
                if span > 0.0 {
                    charge / span
                } else {
                    s.current_density_a_m2
                }
            } else {
                self.current_of(p.cycle, p.segment)
            },
            start_time_s: p.start_time_s,
            end_time_s: s.time_s,
            charge_c_m2: charge,
            mean_voltage_v: if span > 0.0 {
                p.voltage_integral_v_s / span
            } else {
                s.cell_voltage_v
            },
            end_voltage_v: s.cell_voltage_v,
            li_change_mol_m2: s.li_amount_mol_m2 - p.start_li_mol_m2,
            end,
        }
    }

    /// Takes the sample `s` after an advance: adds it to the segment's voltage average, and when
    /// the segment has ended (duration reached, charge passed, voltage crossed) records it and
    /// starts the next one. Returns whether the segment changed.
    pub fn poll(&mut self, s: &Scalars) -> bool {
        if self.pos.finished {
            return false;
        }
        let dt = s.time_s - self.pos.last_time_s;
        if dt > 0.0 {
            self.pos.voltage_integral_v_s += s.cell_voltage_v * dt;
            self.pos.last_time_s = s.time_s;
        }
        let seg = &self.segments[self.pos.segment];
        let i = self.current_of(self.pos.cycle, self.pos.segment);
        let elapsed = s.time_s - self.pos.start_time_s;
        let end = if seg
            .duration_s
            .is_some_and(|d| elapsed >= d * (1.0 - END_TOLERANCE))
        {
            Some(SegmentEnd::Duration)
        } else if let Some(q) = seg.capacity_mah_cm2 {
            let target = q * C_M2_PER_MAH_CM2;
            let passed = (s.charge_c_m2 - self.pos.start_charge_c_m2).abs();
            if passed >= target * (1.0 - END_TOLERANCE) {
                Some(SegmentEnd::Capacity)
            } else {
                if s.time_s >= self.pos.capacity_end_time_s * (1.0 - 1e-15) && i != 0.0 {
                    // The expected end came with the charge short of the capacity (the current
                    // held to the solver's tolerance): expect it again from here.
                    self.pos.capacity_end_time_s = s.time_s + (target - passed) / i.abs();
                }
                None
            }
        } else {
            None
        };
        let end = end.or(match seg.voltage_limit_v {
            Some(v) if (i > 0.0 && s.cell_voltage_v <= v) || (i < 0.0 && s.cell_voltage_v >= v) => {
                Some(SegmentEnd::VoltageLimit)
            }
            _ => None,
        });
        let Some(end) = end else {
            return false;
        };
        self.records.push(self.record_now(s, end));
        let (mut cycle, mut next) = (self.pos.cycle, self.pos.segment + 1);
        if next == self.segments.len() {
            cycle += 1;
            next = 0;
        }
        self.begin_segment(cycle, next, s);
        true
    }

    /// The segments recorded so far and, unless finished, the current one up to `s`
    /// (incomplete).
    pub fn records_with_current(&self, s: &Scalars) -> Vec<SegmentRecord> {
        let mut v = self.records.clone();
        if !self.pos.finished && s.time_s > self.pos.start_time_s {
            v.push(self.record_now(s, SegmentEnd::Incomplete));
        }
        v
    }

    /// One line: the segments, the ramp and the repetition.
    pub fn describe(control: &Control) -> String {
        let segs: Vec<String> = control
            .protocol
            .iter()
            .map(|s| {
                let what = match (s.kind, s.current()) {
                    (SegmentKind::Potentiostatic, _) => {
                        format!("V held at {} V", s.cell_voltage_v.unwrap_or(f64::NAN))
                    }
                    (_, 0.0) => "rest".to_string(),
                    (_, i) => format!("{i} A/m² ({} mA/cm²)", i / 10.0),
                };
                let mut ends = Vec::new();
                if let Some(d) = s.duration_s {
                    ends.push(format!("{d} s"));
                }
                if let Some(q) = s.capacity_mah_cm2 {
                    ends.push(format!("{q} mAh/cm²"));
                }
                if let Some(v) = s.voltage_limit_v {
                    ends.push(format!(
                        "V {} {v} V",
                        if s.current() > 0.0 { "≤" } else { "≥" }
                    ));
                }
                format!("{what} until {}", ends.join(" or "))
            })
            .collect();
        let mut line = format!(
            "protocol of {} segment(s): {}; ",
            control.protocol.len(),
            segs.join(", ")
        );
        match control.repeat {
            Some(n) => line += &format!("{n} cycle(s)"),
            None => line += "repeated until the end time",
        }
        if let Some(r) = &control.ramp {
            line += &format!(
                "; ramp +{} A/m² every {} cycle(s){}",
                r.step_a_m2,
                r.every_cycles,
                r.max_a_m2
                    .map(|m| format!(" up to {m} A/m²"))
                    .unwrap_or_default()
            );
        }
        line
    }
}

/// A path of Li that joins the collector row to the top row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ShortCircuit {
    /// Centre of the first top-row cell (smallest x) the path reaches, µm.
    pub x_um: f64,
    /// Top-row cells the path reaches.
    pub top_cells: usize,
}

/// A 4-connected path (periodic in x) of cells with ξ > ½ from the bottom row (j = 0, the
/// collector side, where the Li foil lies) to the top row (j = ny − 1, the counter-electrode
/// side), if there is one.
pub fn short_circuit(state: &State) -> Option<ShortCircuit> {
    let g = state.grid;
    let li = |k: usize| state.xi[k] > 0.5;
    let reached = g.flood(0..g.nx, li);
    let top = (g.ny - 1) * g.nx;
    let hits: Vec<usize> = (0..g.nx).filter(|&i| reached[top + i]).collect();
    hits.first().map(|&i| ShortCircuit {
        x_um: m_to_um(g.x_m(i)),
        top_cells: hits.len(),
    })
}
