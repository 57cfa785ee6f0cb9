//! Convergence of a study's answer in the interface width ℓ and the grid spacing Δx.
//!
//! A study whose cases repeat a pore size at different (ℓ, Δx) gets a section in `report.md`
//! (docs/study.md, "Convergence"): per pore size the front heights, the wall lead, the
//! homogeneity index H, the fill and the cell voltage at every level; the change per refinement;
//! the observed order and a Richardson estimate of the limit where three levels halve the
//! refined parameter; and whether the answer to the pore-size question (walls or homogeneous)
//! is the same at the two finest levels.

use crate::report::{fills_homogeneously, shows_wall_growth, CaseRow};
use std::fmt::Write as _;

/// Relative tolerance under which two parameter values count as equal.
const SAME: f64 = 1e-6;

/// A quantity is called converged when its last change is at most this fraction of its value
/// (or, for lengths, at most one grid spacing of the finest level).
pub const CONVERGED_RELATIVE: f64 = 0.05;

/// Richardson extrapolation of a sequence q(h), q(h/2), q(h/4) (coarse to fine).
///
/// Returns (observed order p, extrapolated limit) when the two changes have the same sign and
/// shrink (|q₃ − q₂| < |q₂ − q₁|), so that q(h) = q₀ + C·h^p fits them with p > 0; otherwise
/// `None` (the sequence is not in its asymptotic range and no limit is claimed). When the finest
/// change is exactly zero the limit is q₃ itself.
pub fn richardson(q: [f64; 3]) -> Option<(f64, f64)> {
    let d1 = q[1] - q[0];
    let d2 = q[2] - q[1];
    if !(d1.is_finite() && d2.is_finite()) || d1 == 0.0 {
        return None;
    }
    if d2 == 0.0 {
        return Some((f64::INFINITY, q[2]));
    }
    if d1.signum() != d2.signum() || d2.abs() >= d1.abs() {
        return None;
    }
    let p = (d1 / d2).log2();
    Some((p, q[2] + d2 / (2f64.powf(p) - 1.0)))
}

/// The classification of one case in the terms of the pore-size question.
/// The criteria are the pore-size statement's ([`fills_homogeneously`], [`shows_wall_growth`]).
pub fn classify(r: &CaseRow) -> &'static str {
    let gain = r.fill_final - r.fill_initial;
    if gain.is_nan() || gain <= 0.0 {
        "no fill"
    } else if fills_homogeneously(r) {
        "homogeneous"
    } else if shows_wall_growth(r) {
        "walls"
    } else {
        "mixed"
    }
}

fn f(v: f64, d: usize) -> String {
    if v.is_finite() {
        format!("{v:.d$}")
    } else {
        "—".into()
    }
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= SAME * a.abs().max(b.abs())
}

/// ℓ of a row (the half-width; `CaseRow::interface_width_um` is 4ℓ).
fn ell(r: &CaseRow) -> f64 {
    0.25 * r.interface_width_um
}

/// The quantities followed under refinement: name, unit, value, decimals, whether it is a length.
type Quantity = (&'static str, &'static str, fn(&CaseRow) -> f64, usize, bool);

const QUANTITIES: [Quantity; 6] = [
    ("front at the centre", "µm", |r| r.front_centre_um, 2, true),
    (
        "front next to the walls",
        "µm",
        |r| r.front_wall_um,
        2,
        true,
    ),
    (
        "wall lead",
        "µm",
        |r| r.front_wall_um - r.front_centre_um,
        2,
        true,
    ),
    ("H", "", |r| r.homogeneity, 3, false),
    ("fill", "", |r| r.fill_final, 4, false),
    ("cell voltage", "mV", |r| 1e3 * r.final_voltage_v, 2, false),
];

/// One refinement sequence: cases of one pore size ordered coarse to fine in the refined
/// parameter, the other parameter's relation held fixed.
struct Sequence<'a> {
    /// ℓ refined (at fixed ℓ/Δx); otherwise Δx refined (at fixed ℓ).
    refines_ell: bool,
    what: String,
    levels: Vec<&'a CaseRow>,
}

/// The sequences of one pore size: ℓ refined at the finest common ℓ/Δx, and Δx refined at each
/// ℓ that has more than one Δx.
fn sequences<'a>(group: &[&'a CaseRow]) -> Vec<Sequence<'a>> {
    let mut out = Vec::new();
    // ℓ at fixed ℓ/Δx: the ratio held by the most cases (ties: the smaller ratio).
    let mut ratios: Vec<f64> = Vec::new();
    for r in group {
        let q = ell(r) / r.grid_spacing_um;
        if !ratios.iter().any(|&x| same(x, q)) {
            ratios.push(q);
        }
    }
    let count = |q: f64| {
        group
            .iter()
            .filter(|r| same(ell(r) / r.grid_spacing_um, q))
            .count()
    };
    ratios.sort_by(|a, b| count(*b).cmp(&count(*a)).then(a.total_cmp(b)));
    if let Some(&q) = ratios.first() {
        let mut levels: Vec<&CaseRow> = group
            .iter()
            .copied()
            .filter(|r| same(ell(r) / r.grid_spacing_um, q))
            .collect();
        levels.sort_by(|a, b| ell(b).total_cmp(&ell(a)));
        levels.dedup_by(|a, b| same(ell(a), ell(b)));
        if levels.len() >= 2 {
            out.push(Sequence {
                refines_ell: true,
                what: format!("ℓ refined at ℓ/Δx = {}", f(q, 2)),
                levels,
            });
        }
    }
    // Δx at fixed ℓ.
    let mut ells: Vec<f64> = Vec::new();
    for r in group {
        if !ells.iter().any(|&x| same(x, ell(r))) {
            ells.push(ell(r));
        }
    }
    ells.sort_by(|a, b| b.total_cmp(a));
    for l in ells {
        let mut levels: Vec<&CaseRow> = group.iter().copied().filter(|r| same(ell(r), l)).collect();
        levels.sort_by(|a, b| b.grid_spacing_um.total_cmp(&a.grid_spacing_um));
        levels.dedup_by(|a, b| same(a.grid_spacing_um, b.grid_spacing_um));
        if levels.len() >= 2 {
            out.push(Sequence {
                refines_ell: false,
                what: format!("Δx refined at ℓ = {} µm", f(l, 4)),
                levels,
            });
        }
    }
    out
}

/// Whether consecutive levels halve the refined parameter (Richardson needs a fixed ratio).
fn halves(levels: &[&CaseRow], param: fn(&CaseRow) -> f64) -> bool {
    levels
        .windows(2)
        .all(|w| same(param(w[0]), 2.0 * param(w[1])))
}

/// One pore size run to one end time, with its refinement sequences.
struct Group<'a> {
    size: f64,
    end: f64,
    /// Some pore size of the study was run to more than one end time (the end is then named).
    several_ends: bool,
    members: Vec<&'a CaseRow>,
    seqs: Vec<Sequence<'a>>,
}

impl Group<'_> {
    fn label(&self) -> String {
        if self.several_ends {
            format!("{} µm, {} s", f(self.size, 2), f(self.end, 0))
        } else {
            format!("{} µm", f(self.size, 2))
        }
    }
}

/// The completed channel cases grouped by pore size and end time (cases of one size at another
/// current or capacity are a different question, not a refinement), largest size first; only
/// groups with a refinement sequence.
fn refinement_groups(rows: &[CaseRow]) -> Vec<Group<'_>> {
    let done: Vec<&CaseRow> = rows
        .iter()
        .filter(|r| r.completed && r.channels > 0.0 && r.pore_size_um > 0.0)
        .collect();
    let mut keys: Vec<(f64, f64)> = Vec::new();
    for r in &done {
        if !keys
            .iter()
            .any(|&(s, t)| same(s, r.pore_size_um) && same(t, r.end_time_s))
        {
            keys.push((r.pore_size_um, r.end_time_s));
        }
    }
    keys.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.total_cmp(&b.1)));
    let several_ends = keys
        .iter()
        .any(|&(s, t)| keys.iter().any(|&(s2, t2)| same(s, s2) && !same(t, t2)));
    keys.into_iter()
        .filter_map(|(size, end)| {
            let members: Vec<&CaseRow> = done
                .iter()
                .copied()
                .filter(|r| same(r.pore_size_um, size) && same(r.end_time_s, end))
                .collect();
            let seqs = sequences(&members);
            (!seqs.is_empty()).then_some(Group {
                size,
                end,
                several_ends,
                members,
                seqs,
            })
        })
        .collect()
}

/// The ℓ sequences of the study for the convergence plots: per pore size (and end time) a label
/// and the points (ℓ in µm, wall lead in µm) and (ℓ, cell voltage in mV), coarse to fine. Empty
/// when no pore size has cases at more than one ℓ.
#[allow(clippy::type_complexity)]
pub fn ell_series(rows: &[CaseRow]) -> Vec<(String, Vec<(f64, f64)>, Vec<(f64, f64)>)> {
    refinement_groups(rows)
        .iter()
        .filter_map(|g| {
            let s = g.seqs.iter().find(|s| s.refines_ell)?;
            Some((
                g.label(),
                s.levels
                    .iter()
                    .map(|r| (ell(r), r.front_wall_um - r.front_centre_um))
                    .collect(),
                s.levels
                    .iter()
                    .map(|r| (ell(r), 1e3 * r.final_voltage_v))
                    .collect(),
            ))
        })
        .collect()
}

/// The convergence section of `report.md`, or `None` when no pore size has cases at more than
/// one (ℓ, Δx).
pub fn section(rows: &[CaseRow]) -> Option<String> {
    // Only finished runs are levels of a refinement.
    let unfinished: Vec<&str> = rows
        .iter()
        .filter(|r| !r.completed && r.channels > 0.0)
        .map(|r| r.name.as_str())
        .collect();
    let groups = refinement_groups(rows);
    if groups.is_empty() {
        return None;
    }
    let mut t = String::new();
    // Per ℓ sequence: the pore size, its levels, and the quantities that have not converged
    // (name, unit, last change).
    #[allow(clippy::type_complexity)]
    let mut finest: Vec<(f64, Vec<&CaseRow>, Vec<(&str, &str, String)>)> = Vec::new();
    for g in &groups {
        if g.several_ends {
            let _ = writeln!(t, "### {} µm channels, {} s\n", f(g.size, 2), f(g.end, 0));
        } else {
            let _ = writeln!(t, "### {} µm channels\n", f(g.size, 2));
        }
        let _ = writeln!(
            t,
            "| case | ℓ (µm) | Δx (µm) | cells across the pore | front centre (µm) | front wall (µm) | \
             wall lead (µm) | H | fill | V (mV) | class |\n|---|---|---|---|---|---|---|---|---|---|---|"
        );
        let mut sorted = g.members.clone();
        sorted.sort_by(|a, b| {
            ell(b)
                .total_cmp(&ell(a))
                .then(b.grid_spacing_um.total_cmp(&a.grid_spacing_um))
        });
        for r in &sorted {
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.name,
                f(ell(r), 4),
                f(r.grid_spacing_um, 4),
                f(r.pore_size_um / r.grid_spacing_um, 1),
                f(r.front_centre_um, 2),
                f(r.front_wall_um, 2),
                f(r.front_wall_um - r.front_centre_um, 2),
                f(r.homogeneity, 3),
                f(r.fill_final, 4),
                f(1e3 * r.final_voltage_v, 2),
                classify(r)
            );
        }
        let _ = writeln!(t);
        for s in &g.seqs {
            let refined: fn(&CaseRow) -> f64 = if s.refines_ell {
                ell
            } else {
                |r| r.grid_spacing_um
            };
            let _ = writeln!(
                t,
                "{} ({}):\n",
                s.what,
                s.levels
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" → ")
            );
            let n = s.levels.len();
            let richardson_ok = n >= 3 && halves(&s.levels[n - 3..], refined);
            let _ = writeln!(
                t,
                "| quantity | values, coarse → fine | changes per refinement | last change | \
                 observed order | Richardson limit | converged |\n|---|---|---|---|---|---|---|"
            );
            let dx_fine = s.levels[n - 1].grid_spacing_um;
            let mut open = Vec::new();
            for (name, unit, q, d, length) in QUANTITIES {
                let v: Vec<f64> = s.levels.iter().map(|r| q(r)).collect();
                let changes: Vec<f64> = v.windows(2).map(|w| w[1] - w[0]).collect();
                let last = *changes.last().unwrap();
                let scale = if length {
                    (CONVERGED_RELATIVE * v[n - 1].abs()).max(dx_fine)
                } else {
                    CONVERGED_RELATIVE * v[n - 1].abs()
                };
                let bounded = name == "H";
                let tol = if bounded { 0.05 } else { scale };
                // H lies in [0, 1] and saturates: no power law to extrapolate.
                let rich = if richardson_ok && !bounded {
                    richardson([v[n - 3], v[n - 2], v[n - 1]])
                } else {
                    None
                };
                if last.is_nan() || last.abs() > tol {
                    open.push((name, unit, f(last.abs(), d)));
                }
                let unit = if unit.is_empty() {
                    String::new()
                } else {
                    format!(" ({unit})")
                };
                let _ = writeln!(
                    t,
                    "| {name}{unit} | {} | {} | {} | {} | {} | {} |",
                    v.iter().map(|&x| f(x, d)).collect::<Vec<_>>().join(" → "),
                    changes
                        .iter()
                        .map(|&x| format!("{:+.*}", d, x))
                        .collect::<Vec<_>>()
                        .join(", "),
                    f(last.abs(), d),
                    match rich {
                        Some((p, _)) if p.is_finite() => f(p, 2),
                        Some(_) => "∞".into(),
                        None if richardson_ok && !bounded => "not asymptotic".into(),
                        None => "—".into(),
                    },
                    match rich {
                        Some((_, lim)) =>
                            format!("{} ± {}", f(lim, d), f((lim - v[n - 1]).abs(), d)),
                        None => "—".into(),
                    },
                    if last.abs() <= tol { "yes" } else { "no" }
                );
            }
            let _ = writeln!(t);
            if s.refines_ell {
                finest.push((g.size, s.levels.clone(), open));
            }
        }
    }
    if !unfinished.is_empty() {
        let _ = writeln!(
            t,
            "Left out (the run did not complete): {}.\n",
            unfinished.join(", ")
        );
    }
    let mut head = String::new();
    let _ = writeln!(
        head,
        "The study repeats pore sizes at several interface half-widths ℓ and grid spacings Δx. \
         The interface width is a model parameter without a physical value, so the answer to \
         the pore-size question means something only where it stops changing as ℓ → 0 (at a \
         resolved ℓ/Δx) and as Δx → 0 at fixed ℓ. Per quantity: the values from the coarsest to \
         the finest level, their changes, and, where three levels halve the refined parameter, \
         the observed order p = log₂(d₁/d₂) and the Richardson limit q₃ + d₂/(2^p − 1) with \
         |limit − q₃| as its error (\"not asymptotic\" when the changes do not shrink with one \
         sign). *Converged* means the last change is at most {} % of the value (lengths: or at \
         most the finest Δx; H: at most 0.05). *Class* is the case's answer to the pore-size \
         question by the criteria of the section above (homogeneous, walls, mixed, no fill).\n",
        f(100.0 * CONVERGED_RELATIVE, 0)
    );
    // The answer at the two finest levels of ℓ.
    if !finest.is_empty() {
        let _ = writeln!(t, "### Is the answer converged in ℓ?\n");
        for (size, levels, open) in &finest {
            let n = levels.len();
            let (a, b) = (levels[n - 2], levels[n - 1]);
            let ca = classify(a);
            let cb = classify(b);
            let path = levels
                .iter()
                .map(|r| format!("{} (ℓ = {} µm)", classify(r), f(ell(r), 4)))
                .collect::<Vec<_>>()
                .join(" → ");
            let verdict = if ca != cb {
                "the answer changes at the finest refinement: not converged".to_string()
            } else if open.is_empty() {
                "the same answer at the two finest levels, and every quantity converged".to_string()
            } else {
                format!(
                    "the same answer at the two finest levels, but not converged in {}",
                    open.iter()
                        .map(|(name, unit, last)| if unit.is_empty() {
                            format!("{name} (last change {last})")
                        } else {
                            format!("{name} (last change {last} {unit})")
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let _ = writeln!(t, "- {} µm: {path}; {verdict}.", f(*size, 2));
        }
        let _ = writeln!(t);
    }
    Some(head + &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn richardson_recovers_order_and_limit_of_a_power_law() {
        for p in [1.0, 2.0, 0.5] {
            let q = |h: f64| 3.0 - 0.7 * h.powf(p);
            let (po, lim) = richardson([q(1.0), q(0.5), q(0.25)]).unwrap();
            assert!((po - p).abs() < 1e-12, "order {po} for {p}");
            assert!((lim - 3.0).abs() < 1e-12, "limit {lim}");
        }
    }

    #[test]
    fn richardson_refuses_oscillating_or_growing_changes() {
        assert!(richardson([1.0, 2.0, 1.5]).is_none());
        assert!(richardson([1.0, 1.1, 1.4]).is_none());
        assert!(richardson([1.0, 1.0, 1.0]).is_none());
        assert_eq!(richardson([1.0, 2.0, 2.0]), Some((f64::INFINITY, 2.0)));
    }

    fn row(name: &str, pore: f64, ell_um: f64, dx: f64, centre: f64, wall: f64, h: f64) -> CaseRow {
        CaseRow {
            name: name.into(),
            pore_size_um: pore,
            grid_spacing_um: dx,
            interface_width_um: 4.0 * ell_um,
            channels: 1.0,
            fill_initial: 0.1,
            fill_final: 0.2,
            front_centre_um: centre,
            front_wall_um: wall,
            homogeneity: h,
            final_voltage_v: -0.1,
            end_time_s: 1800.0,
            completed: true,
            ..Default::default()
        }
    }

    #[test]
    fn section_finds_both_sequences_and_extrapolates_the_ell_sequence() {
        // Wall lead 8 − 4ℓ: limit 8 at order 1.
        let rows = vec![
            row("a", 5.0, 1.0, 0.5, 7.0, 11.0, 0.0),
            row("b", 5.0, 0.5, 0.25, 7.0, 13.0, 0.0),
            row("c", 5.0, 0.25, 0.125, 7.0, 14.0, 0.0),
            row("d", 5.0, 0.5, 0.125, 7.0, 13.1, 0.0),
            row("e", 1.5, 0.5, 0.25, 11.0, 11.0, 0.99),
        ];
        let s = section(&rows).unwrap();
        assert!(s.contains("ℓ refined at ℓ/Δx = 2.00 (a → b → c)"), "{s}");
        assert!(s.contains("Δx refined at ℓ = 0.5000 µm (b → d)"), "{s}");
        assert!(
            s.contains("| wall lead (µm) | 4.00 → 6.00 → 7.00 | +2.00, +1.00 | 1.00 | 1.00 | 8.00 ± 1.00 | no |"),
            "{s}"
        );
        assert!(
            s.contains(
                "- 5.00 µm: walls (ℓ = 1.0000 µm) → walls (ℓ = 0.5000 µm) → walls (ℓ = 0.2500 µm); \
                 the same answer at the two finest levels, but not converged in front next to \
                 the walls (last change 1.00 µm), wall lead (last change 1.00 µm)."
            ),
            "{s}"
        );
        let series = ell_series(&rows);
        assert_eq!(series.len(), 1, "{series:?}");
        assert_eq!(series[0].0, "5.00 µm");
        assert_eq!(series[0].1, vec![(1.0, 4.0), (0.5, 6.0), (0.25, 7.0)]);
        // A single case of a size gives no sequence.
        assert!(!s.contains("### 1.50 µm"));
        assert!(section(&rows[4..]).is_none());
    }

    #[test]
    fn a_class_that_changes_at_the_finest_level_is_reported_unconverged() {
        let mut other_end = row("b2", 5.0, 0.25, 0.125, 7.0, 7.0, 1.0);
        other_end.end_time_s = 1000.0;
        let rows = vec![
            other_end,
            row("a", 5.0, 1.0, 0.5, 7.0, 7.1, 0.9),
            row("b", 5.0, 0.5, 0.25, 7.0, 9.0, 0.2),
        ];
        let s = section(&rows).unwrap();
        assert!(
            s.contains(
                "homogeneous (ℓ = 1.0000 µm) → walls (ℓ = 0.5000 µm); the answer changes at the \
                 finest refinement: not converged."
            ),
            "{s}"
        );
        // An unfinished run is left out and named.
        let mut broken = row("b3", 5.0, 0.125, 0.0625, 7.0, 7.0, 1.0);
        broken.completed = false;
        let s = section(&[rows.clone(), vec![broken]].concat()).unwrap();
        assert!(
            s.contains("Left out (the run did not complete): b3."),
            "{s}"
        );
        assert!(!s.contains("| b3 |"), "{s}");
        // The case run to another end time is not a level of the refinement.
        assert!(s.contains("(a → b)"), "{s}");
        assert!(!s.contains("b2 →") && !s.contains("→ b2"), "{s}");
    }
}
