//! Restarting a run from its checkpoint with a changed configuration (`lipf run --resume`).
//!
//! A resumed run continues the stored state with the configuration it is given. That is only
//! the same simulation if the change leaves everything before the checkpoint valid: the run up
//! to the checkpoint must be a run the new configuration would also have made. The two
//! configurations are compared field by field ([`differences`]); [`admissible`] is the one
//! list of the fields that may differ, and [`check`] refuses every other difference, naming
//! each field with its two values.

use crate::config::Config;
use serde_json::Value;
use std::fmt::Write as _;

/// One field whose value differs between the stored and the given configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// Dotted path, e.g. `time.end_time_s`, `control.protocol[1].duration_s`.
    pub path: String,
    /// The value in the checkpoint's configuration (`None`: absent there).
    pub stored: Option<Value>,
    /// The value in the given configuration (`None`: absent there).
    pub given: Option<Value>,
}

/// The fields (and the groups whose every field) may change on resume, for messages.
pub const ADMISSIBLE: &[&str] = &[
    "name",
    "time.end_time_s",
    "control.repeat",
    "control.ramp.max_a_m2",
    "control.stop.*",
    "output.*",
    "limits.*",
    "solver.max_iterations",
];

/// Whether the field at `path` (dotted, as in [`FieldChange::path`]) may differ between the
/// checkpoint's configuration and the one a run resumes with. Why each is admissible:
///
/// - `name`: a label (summary, default output folder); a resumed run writes into the
///   checkpoint's folder whatever its name.
/// - `time.end_time_s`: where the run stops, not how it steps. A step is chosen from the state
///   and cut only to land on the next event (sample, snapshot, segment end, end time), so the
///   steps before the checkpoint are those of a run with a later end time as long as the old
///   end was one of its events ([`check`] requires the new end to lie beyond the checkpoint).
/// - `control.repeat`, `control.ramp.max_a_m2`: how many cycles run. The cycles before the
///   checkpoint are the same with more of them; only raising is admitted (fewer cycles could
///   end the protocol before the checkpoint's cycle).
/// - `control.stop.*`: criteria that end the run early; they read the state, never change it.
///   A run stopped by one continues only if the criterion no longer holds (checked by the
///   driver, which knows the state).
/// - `output.*`: when samples, snapshots, checkpoints and images are written. Outputs never
///   feed back into the fields. Event times are multiples of their interval, so a new interval
///   takes effect from the checkpoint on; the steps after the checkpoint land on the new
///   events.
/// - `limits.*`: budgets checked before the run (steps, snapshots, output size, memory).
/// - `solver.max_iterations`: a cap on the potential solver's iterations; a solve stops at
///   its tolerance, so a cap that is not reached changes nothing (raising it lets a run go on
///   that stopped with a solver error).
///
/// Everything else changes the simulation itself and is refused: the grid, geometry,
/// material, model, creep, control mode, current and the protocol's segments, the time-step
/// settings, the solver's tolerance, smoothing and cycle, and the noise.
pub fn admissible(path: &str) -> bool {
    let top = path.split(['.', '[']).next().unwrap_or(path);
    matches!(top, "output" | "limits" | "name")
        || path == "control.stop"
        || path.starts_with("control.stop.")
        || matches!(
            path,
            "time.end_time_s"
                | "control.repeat"
                | "control.ramp.max_a_m2"
                | "solver.max_iterations"
        )
}

/// The fields that differ between two configurations, walking their JSON forms: objects key
/// by key (a key present on one side only is a difference at that key), arrays element by
/// element when their lengths agree (otherwise the whole array), anything else by value.
pub fn differences(stored: &Config, given: &Config) -> Vec<FieldChange> {
    let a = serde_json::to_value(stored).expect("configuration serialises");
    let b = serde_json::to_value(given).expect("configuration serialises");
    let mut out = Vec::new();
    walk("", Some(&a), Some(&b), &mut out);
    out
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(&join(path, k), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if x.len() == y.len() => {
            for (k, (p, q)) in x.iter().zip(y).enumerate() {
                walk(&format!("{path}[{k}]"), Some(p), Some(q), out);
            }
        }
        (a, b) if a != b => out.push(FieldChange {
            path: path.to_string(),
            stored: a.cloned(),
            given: b.cloned(),
        }),
        _ => {}
    }
}

fn show(v: &Option<Value>) -> String {
    match v {
        Some(v) => v.to_string(),
        None => "(absent)".into(),
    }
}

/// A count (`repeat`) or a ceiling (`ramp.max_a_m2`) where absent means unbounded.
fn bound(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::INFINITY)
}

/// Checks that a run stored with `stored`, whose checkpoint is at `time_s`, may continue with
/// `given`: every difference is [`admissible`], the end time lies beyond the checkpoint, and
/// `control.repeat` and `control.ramp.max_a_m2` are not lowered. Returns the admitted changes
/// (empty when the configurations agree), or a message that names every refused field with
/// its two values and lists the fields that may change.
pub fn check(stored: &Config, given: &Config, time_s: f64) -> Result<Vec<FieldChange>, String> {
    let changes = differences(stored, given);
    let mut msg = String::new();
    let refused: Vec<&FieldChange> = changes.iter().filter(|c| !admissible(&c.path)).collect();
    if !refused.is_empty() {
        let _ = writeln!(
            msg,
            "the configuration differs from the one stored in the checkpoint in {} field(s) \
             that change the simulation itself:",
            refused.len()
        );
        for c in &refused {
            let _ = writeln!(
                msg,
                "  {}: {} in the checkpoint, {} given",
                c.path,
                show(&c.stored),
                show(&c.given)
            );
        }
    }
    let end = given.time.end_time_s;
    if end <= time_s {
        let _ = writeln!(
            msg,
            "time.end_time_s = {end} s does not lie beyond the checkpoint's time {time_s} s: \
             the run is complete there; to extend it, give a later end time (e.g. --set \
             time.end_time_s={})",
            2.0 * time_s.max(end)
        );
    }
    let (r0, r1) = (
        bound(stored.control.repeat.map(|r| r as f64)),
        bound(given.control.repeat.map(|r| r as f64)),
    );
    if r1 < r0 {
        let _ = writeln!(
            msg,
            "control.repeat = {r1} is lower than the checkpoint's {}: a resumed run may add \
             cycles, not remove them",
            show(&stored.control.repeat.map(Value::from))
        );
    }
    let max = |c: &Config| c.control.ramp.as_ref().and_then(|r| r.max_a_m2);
    let (m0, m1) = (max(stored), max(given));
    if given.control.ramp.is_some() && bound(m1) < bound(m0) {
        let _ = writeln!(
            msg,
            "control.ramp.max_a_m2 = {} is lower than the checkpoint's {}: a resumed run may \
             raise the ceiling of the ramp, not lower it",
            bound(m1),
            bound(m0)
        );
    }
    if msg.is_empty() {
        return Ok(changes);
    }
    if refused.is_empty() {
        return Err(msg.trim_end().to_string());
    }
    let _ = write!(
        msg,
        "A resumed run may change only {} (docs/protocols.md, \"Extending and restarting a \
         run\"); to change anything else, start a new run.",
        ADMISSIBLE.join(", ")
    );
    Err(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admissible_list() {
        for p in [
            "name",
            "time.end_time_s",
            "control.repeat",
            "control.ramp.max_a_m2",
            "control.stop",
            "control.stop.voltage_limit_v",
            "output.snapshot_interval_s",
            "output",
            "limits.max_steps",
            "solver.max_iterations",
        ] {
            assert!(admissible(p), "{p}");
        }
        for p in [
            "domain.grid_spacing_um",
            "material.llzo_conductivity_s_m",
            "time.max_dt_s",
            "time.stability_safety",
            "control.current_density_a_m2",
            "control.ramp.step_a_m2",
            "control.protocol[0].duration_s",
            "solver.relative_tolerance",
            "noise.amplitude",
            "creep.enabled",
            "outputs",
            "names",
        ] {
            assert!(!admissible(p), "{p}");
        }
    }

    #[test]
    fn differences_name_every_field() {
        let a = Config::default();
        let mut b = a.clone();
        b.domain.grid_spacing_um *= 2.0;
        b.output.images = !a.output.images;
        b.time.end_time_s += 10.0;
        let d = differences(&a, &b);
        let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            ["domain.grid_spacing_um", "output.images", "time.end_time_s"]
        );
        let e = check(&a, &b, 1.0).unwrap_err();
        assert!(e.contains("domain.grid_spacing_um"), "{e}");
        assert!(!e.contains("output.images:"), "{e}");
        b.domain.grid_spacing_um = a.domain.grid_spacing_um;
        assert_eq!(check(&a, &b, 1.0).unwrap().len(), 2);
        assert!(check(&a, &b, b.time.end_time_s).is_err());
    }
}
