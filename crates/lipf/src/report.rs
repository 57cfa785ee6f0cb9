//! The study report, built from finished runs (`lipf study`, `lipf study collect DIR`).
//!
//! `DIR/report/` receives
//!
//! | file | content |
//! |---|---|
//! | `morphology.png` | Li morphology at the first and last snapshot of every case, side by side (seed 000, Figure 5) |
//! | `voltage.png`, `fill.png`, `homogeneity.png` | cell voltage against time, mean channel fill against time, homogeneity index against plated capacity |
//! | `metrics.csv`, `metrics.md` | one row per case (columns in docs/study.md) |
//! | `convergence_wall_lead.png`, `convergence_voltage.png` | with cases at several ℓ: the wall lead and the voltage against ℓ per pore size (`crate::convergence`) |
//! | `report.md` | the numbers, the figures and what they say about pore size against seed 000's claim |
//!
//! The statements of `report.md` are computed from the numbers with the criteria written in
//! it; nothing is assumed about what the model shows.

use crate::pictures::{self, PhaseMap};
use crate::study::{Study, C_M2_PER_MAH_CM2};
use anyhow::{Context, Result};
use lipf_core::units::{m_to_um, um_to_m};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

/// Criteria of the statements (documented in docs/study.md).
pub const HOMOGENEOUS_H: f64 = 0.8;
pub const WALL_GROWTH_H: f64 = 0.5;

/// One time series as columns by name.
#[derive(Debug, Default)]
pub struct Series {
    pub cols: HashMap<String, Vec<f64>>,
}

impl Series {
    pub fn read(path: &Path) -> Result<Series> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        let mut cols: HashMap<String, Vec<f64>> =
            header.iter().map(|h| (h.clone(), Vec::new())).collect();
        for line in lines {
            for (h, v) in header.iter().zip(line.split(',')) {
                cols.get_mut(h)
                    .unwrap()
                    .push(v.trim().parse().unwrap_or(f64::NAN));
            }
        }
        Ok(Series { cols })
    }

    pub fn col(&self, name: &str) -> Vec<f64> {
        self.cols.get(name).cloned().unwrap_or_default()
    }

    pub fn last(&self, name: &str) -> f64 {
        self.col(name).last().copied().unwrap_or(f64::NAN)
    }

    pub fn first(&self, name: &str) -> f64 {
        self.col(name).first().copied().unwrap_or(f64::NAN)
    }

    /// The last finite value.
    pub fn last_finite(&self, name: &str) -> f64 {
        self.col(name)
            .into_iter()
            .rev()
            .find(|v| v.is_finite())
            .unwrap_or(f64::NAN)
    }
}

/// The numbers of one case that the report uses.
#[derive(Debug, Clone, Default)]
pub struct CaseRow {
    pub name: String,
    pub label: String,
    pub completed: bool,
    pub pore_size_um: f64,
    pub grid_spacing_um: f64,
    pub interface_width_um: f64,
    pub channels: f64,
    pub porosity: f64,
    pub end_time_s: f64,
    pub capacity_mah_cm2: f64,
    pub final_voltage_v: f64,
    pub faraday_error: f64,
    pub fill_initial: f64,
    pub fill_final: f64,
    pub front_centre_um: f64,
    pub front_wall_um: f64,
    pub homogeneity: f64,
    pub contact_initial: f64,
    pub contact_final: f64,
    pub pore_surface_final: f64,
    pub current_mean_a_m2: f64,
    pub current_p99_over_mean: f64,
    pub contact_current_a_m2: f64,
    pub contact_current_estimate_a_m2: f64,
    pub flat_estimate_v: f64,
    /// Electronic current through the counter electrode at the end (A/m²) and its time integral
    /// (C/m²): electrons that leaked through the whole electrolyte.
    pub leakage_final_a_m2: f64,
    pub leakage_charge_c_m2: f64,
    /// Li pressed into the electrolyte at the end, c_s ∫ (ξ + ϕ − 1)₊, mol/m².
    pub li_in_electrolyte_mol_m2: f64,
    /// Li in closed pores (and their walls) at the start and its change to the end, mol/m².
    pub closed_pores_initial_mol_m2: f64,
    pub closed_pores_gain_mol_m2: f64,
    /// The two-potential form without Li creep, whose channel results have no sharp-interface
    /// limit (docs/models/phase-field.md §13.10).
    pub two_potential_without_creep: bool,
}

/// A case *fills homogeneously*: its channel fill increased and H ≥ [`HOMOGENEOUS_H`].
pub fn fills_homogeneously(r: &CaseRow) -> bool {
    r.fill_final - r.fill_initial > 0.0
        && r.homogeneity.is_finite()
        && r.homogeneity >= HOMOGENEOUS_H
}

/// A case shows growth along the walls: its channel fill increased, and H < [`WALL_GROWTH_H`]
/// or the front next to the walls leads the centre by more than two grid spacings. (The
/// statement also asks for H below the smallest pore's.)
pub fn shows_wall_growth(r: &CaseRow) -> bool {
    r.fill_final - r.fill_initial > 0.0
        && ((r.homogeneity.is_finite() && r.homogeneity < WALL_GROWTH_H)
            || r.front_wall_um - r.front_centre_um > 2.0 * r.grid_spacing_um)
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut x = v;
    for p in path {
        x = &x[*p];
    }
    x.as_f64().unwrap_or(f64::NAN)
}

/// Expected |V| of a flat Li/LLZO contact with the scaffold and cap in series:
/// η_ct = (2RT/F) asinh(i/2i0) plus i(L_cap/σ_p + L_scaffold above the Li/(σ_p(1 − φ))).
fn flat_estimate(config: &lipf_core::Config, porosity: f64) -> f64 {
    let c = lipf_core::Coefficients::from_config(config);
    let i = config.control.current_density_a_m2.abs();
    let i0 = config.material.exchange_current_density_a_m2;
    let eta = 2.0 / c.f_over_rt_per_v * (i / (2.0 * i0)).asinh();
    let g = &config.geometry;
    let cap = um_to_m(g.dense_cap_thickness_um);
    let scaffold = um_to_m(
        (config.domain.height_um
            - g.li_foil_thickness_um
            - g.dense_cap_thickness_um
            - g.impregnation_depth_um)
            .max(0.0),
    );
    let sigma = config.material.llzo_conductivity_s_m;
    eta + i * (cap / sigma + scaffold / (sigma * (1.0 - porosity).max(1e-3)))
}

/// ϕ, the first and the last ξ of a case, nx, ny, and the two snapshot times.
type Maps = (Vec<f64>, Vec<f64>, Vec<f64>, usize, usize, f64, f64);

struct Loaded {
    row: CaseRow,
    series: Series,
    maps: Option<Maps>,
    /// A 3D case's front-height projection at its last snapshot (PNG).
    front_height_png: Option<Vec<u8>>,
    protocol: Option<ProtocolRow>,
}

/// How a case with a protocol (`control.protocol`) ran: from `summary.json` and `segments.csv`.
#[derive(Debug, Clone, Default)]
pub struct ProtocolRow {
    pub label: String,
    /// `end_reason` of summary.json: end_time, protocol_complete, voltage_limit, short_circuit,
    /// interrupted or error.
    pub end_reason: String,
    /// The error message, when the run failed.
    pub error: Option<String>,
    pub end_time_s: f64,
    pub cycles_completed: f64,
    /// Current density of the last segment that ran (ended or not), A/m².
    pub last_current_a_m2: f64,
    /// Per cycle: the cycle's largest |current| (A/m²) and the largest |V| at the end of any of
    /// its segments (V), in cycle order.
    pub cycle_peaks: Vec<(f64, f64)>,
}

impl ProtocolRow {
    /// The cycle whose segments ended at the largest |V|: (its |current| in A/m², that |V|).
    pub fn worst(&self) -> (f64, f64) {
        self.cycle_peaks
            .iter()
            .copied()
            .fold((f64::NAN, f64::NAN), |a, b| {
                if a.1.is_nan() || b.1 > a.1 {
                    b
                } else {
                    a
                }
            })
    }

    /// One sentence: how the protocol ended and at which current, from the numbers.
    pub fn statement(&self) -> String {
        let ma = |a: f64| f(a.abs() / 10.0, 3);
        let (i_worst, v_worst) = self.worst();
        let peak = format!(
            "the largest |V| at the end of a half-cycle was {} V (cycle at {} mA/cm²)",
            f(v_worst, 4),
            ma(i_worst)
        );
        match self.end_reason.as_str() {
            "voltage_limit" | "short_circuit" => format!(
                "- {}: stopped by the {} criterion at t = {} s, in cycle {} at {} mA/cm²; {peak}.",
                self.label,
                self.end_reason.replace('_', " "),
                f(self.end_time_s, 1),
                self.cycles_completed as u64 + 1,
                ma(self.last_current_a_m2)
            ),
            "error" => format!(
                "- {}: failed at t = {} s, in cycle {} at {} mA/cm², before any stop criterion \
                 fired ({}); {peak}.",
                self.label,
                f(self.end_time_s, 1),
                self.cycles_completed as u64 + 1,
                ma(self.last_current_a_m2),
                self.error
                    .as_deref()
                    .and_then(|e| e.lines().next())
                    .unwrap_or("no message")
            ),
            "interrupted" => format!(
                "- {}: interrupted at t = {} s after {} cycles (at {} mA/cm²); {peak}.",
                self.label,
                f(self.end_time_s, 1),
                self.cycles_completed,
                ma(self.last_current_a_m2)
            ),
            _ => format!(
                "- {}: no stop criterion fired in {} cycles up to {} mA/cm² (t = {} s); {peak}.",
                self.label,
                self.cycles_completed,
                ma(self.cycle_peaks.iter().map(|c| c.0).fold(0.0, f64::max)),
                f(self.end_time_s, 1)
            ),
        }
    }
}

/// The protocol part of a case, when it ran one (`segments.csv` present).
fn load_protocol(run: &Path, summary: &Value, label: &str) -> Result<Option<ProtocolRow>> {
    if summary["protocol"].is_null() {
        return Ok(None);
    }
    let seg = Series::read(&run.join("segments.csv"))?;
    let mut cycle_peaks: Vec<(f64, f64)> = Vec::new();
    let (cycles, currents, volts) = (
        seg.col("cycle"),
        seg.col("current_density_a_m2"),
        seg.col("end_voltage_v"),
    );
    let mut last_cycle = f64::NAN;
    for ((&k, &i), &v) in cycles.iter().zip(&currents).zip(&volts) {
        if k != last_cycle {
            cycle_peaks.push((0.0, 0.0));
            last_cycle = k;
        }
        let c = cycle_peaks.last_mut().unwrap();
        c.0 = c.0.max(i.abs());
        c.1 = c.1.max(v.abs());
    }
    let p = &summary["protocol"];
    Ok(Some(ProtocolRow {
        label: label.into(),
        end_reason: summary["end_reason"].as_str().unwrap_or("").into(),
        error: summary["error"].as_str().map(String::from),
        end_time_s: num(summary, &["final_time_s"]),
        cycles_completed: num(p, &["cycles_completed"]),
        last_current_a_m2: currents.last().copied().unwrap_or(f64::NAN),
        cycle_peaks,
    }))
}

/// The protocol table (Markdown): how each case ended.
fn protocol_table(rows: &[ProtocolRow]) -> String {
    let mut t = String::from(
        "| case | end | t at the end (s) | cycles completed | current at the end (mA/cm²) | \
         largest half-cycle \\|V\\| (V) | at (mA/cm²) |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let (i, v) = r.worst();
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.end_reason,
            f(r.end_time_s, 1),
            r.cycles_completed,
            f(r.last_current_a_m2 / 10.0, 3),
            f(v, 4),
            f(i / 10.0, 3)
        );
    }
    t
}

fn load_case(dir: &Path, name: &str, label: &str) -> Result<Loaded> {
    let run = dir.join("runs").join(name);
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("summary.json"))
            .with_context(|| format!("case `{name}` has no summary.json (not run yet?)"))?,
    )?;
    let config = lipf_core::Config::from_file(&dir.join("configs").join(format!("{name}.json")))?;
    let series = Series::read(&run.join("timeseries.csv"))?;
    let coeffs = lipf_core::Coefficients::from_config(&config);
    let g = &summary["geometry"];
    let porosity = num(g, &["porosity_geometric"]);
    let m0 = &summary["morphology_initial"];
    let m1 = &summary["morphology_final"];
    let protocol = load_protocol(&run, &summary, label)?;
    let row = CaseRow {
        name: name.into(),
        label: label.into(),
        completed: summary["completed"].as_bool().unwrap_or(false),
        pore_size_um: num(g, &["pore_size_um"]),
        grid_spacing_um: config.domain.grid_spacing_um,
        interface_width_um: m_to_um(4.0 * coeffs.ell_m),
        channels: num(g, &["channels"]),
        porosity,
        end_time_s: num(&summary, &["final_time_s"]),
        capacity_mah_cm2: series.last("charge_c_m2") / C_M2_PER_MAH_CM2,
        final_voltage_v: num(&summary, &["final_cell_voltage_v"]),
        faraday_error: num(&summary, &["faraday_balance_error"]),
        fill_initial: num(m0, &["mean_fill"]),
        fill_final: num(m1, &["mean_fill"]),
        front_centre_um: num(m1, &["front_centre_um"]),
        front_wall_um: num(m1, &["front_wall_um"]),
        homogeneity: series.last_finite("homogeneity"),
        contact_initial: num(m0, &["li_llzo_contact_per_width"]),
        contact_final: num(m1, &["li_llzo_contact_per_width"]),
        pore_surface_final: num(m1, &["li_pore_surface_per_width"]),
        current_mean_a_m2: num(m1, &["interface_current_mean_a_m2"]),
        current_p99_over_mean: num(m1, &["interface_current_p99_over_mean"]),
        contact_current_a_m2: num(m1, &["contact_current_mean_a_m2"]),
        contact_current_estimate_a_m2: num(m1, &["contact_current_estimate_a_m2"]),
        flat_estimate_v: flat_estimate(&config, porosity.max(0.0)),
        leakage_final_a_m2: series.last("leakage_current_density_a_m2"),
        leakage_charge_c_m2: num(&summary, &["leakage_charge_c_m2"]),
        li_in_electrolyte_mol_m2: num(&summary, &["li_in_electrolyte_mol_m2"]),
        closed_pores_initial_mol_m2: series.first("li_in_closed_pores_mol_m2"),
        closed_pores_gain_mol_m2: series.last("li_in_closed_pores_mol_m2")
            - series.first("li_in_closed_pores_mol_m2"),
        two_potential_without_creep: !config.creep.enabled
            && config.model.overpotential == lipf_core::config::OverpotentialForm::TwoPotential,
    };
    let (maps, front_height_png) = match load_maps(&run, &config) {
        Some((m, front)) => (Some(m), front),
        None => (None, None),
    };
    Ok(Loaded {
        row,
        series,
        maps,
        front_height_png,
        protocol,
    })
}

/// ϕ, ξ of the first and of the last snapshot, the grid, and the two snapshot times. For a 3D
/// run, of the x–y section its pictures show (`metrics::section_with_most_pore` of the scaffold
/// `config` builds), with the Li front over the x–z columns at the last snapshot
/// (`lipf_io::images::front_height_png`, electrolyte columns grey) as `lipf run` draws it; the
/// scaffold is built and the last snapshot read once for both.
#[cfg(feature = "hdf5")]
#[allow(clippy::type_complexity)]
fn load_maps(run: &Path, config: &lipf_core::Config) -> Option<(Maps, Option<Vec<u8>>)> {
    let f = run.join("fields.h5");
    let read = |name: &str| lipf_io::h5::read_grid_f32(&f, name).ok();
    let ([nz, ny, nx], phi) = read("static/phi")?;
    let scaffold = if nz > 1 {
        let c = lipf_core::Coefficients::from_config(config);
        if c.grid.shape() != [nx, ny, nz] {
            return None;
        }
        let built = lipf_core::geometry::build(config, &c.grid, c.ell_m);
        let k =
            lipf_core::metrics::section_with_most_pore(&built.info, &c.grid, c.ell_m, &built.phi);
        Some((c.grid, built, k))
    } else {
        None
    };
    let section = scaffold.as_ref().map_or(0, |s| s.2);
    let cells = nx * ny;
    let to64 = |v: &[f32]| {
        v[section * cells..(section + 1) * cells]
            .iter()
            .map(|&x| f64::from(x))
            .collect::<Vec<f64>>()
    };
    let mut last = 0;
    while lipf_io::h5::read_grid_f32(&f, &format!("snapshots/{:06}/xi", last + 1)).is_ok() {
        last += 1;
    }
    let xi0 = to64(&read("snapshots/000000/xi")?.1);
    let xi_last = read(&format!("snapshots/{last:06}/xi"))?.1;
    let xi1 = to64(&xi_last);
    let times = std::fs::read_to_string(run.join("fields.xdmf")).ok();
    let (t0, t1) = times
        .map(|t| {
            let v: Vec<f64> = t
                .split("<Time Value=\"")
                .skip(1)
                .filter_map(|s| s.split('"').next()?.parse().ok())
                .collect();
            (
                v.first().copied().unwrap_or(0.0),
                v.last().copied().unwrap_or(f64::NAN),
            )
        })
        .unwrap_or((0.0, f64::NAN));
    let front = scaffold.and_then(|(g, built, _)| {
        let mut state = lipf_core::State::zeros(g);
        state.xi = xi_last.iter().map(|&x| f64::from(x)).collect();
        state.phi = built.phi;
        let pore = lipf_core::front_map::scaffold_pore_columns(&state, &built.info);
        lipf_io::images::front_height_png(
            nx,
            nz,
            m_to_um(g.dx_m),
            t1,
            &lipf_core::front_map::front_projection_um(&state, &pore),
            &format!("{}: Li front (µm) over x–z; grey: electrolyte", config.name),
        )
        .ok()
    });
    Some(((to64(&phi), xi0, xi1, nx, ny, t0, t1), front))
}

#[cfg(not(feature = "hdf5"))]
#[allow(clippy::type_complexity)]
fn load_maps(_run: &Path, _config: &lipf_core::Config) -> Option<(Maps, Option<Vec<u8>>)> {
    None
}

fn f(v: f64, d: usize) -> String {
    if v.is_finite() {
        format!("{v:.d$}")
    } else {
        MISSING.into()
    }
}

const TABLE: [&str; 22] = [
    "case",
    "pore_size_um",
    "cells_per_pore",
    "channels",
    "porosity",
    "end_time_s",
    "capacity_mah_cm2",
    "completed",
    "final_cell_voltage_v",
    "flat_estimate_v",
    "faraday_balance_error",
    "fill_initial",
    "fill_final",
    "front_centre_um",
    "front_wall_um",
    "wall_lead_um",
    "homogeneity_final",
    "li_llzo_contact_initial",
    "li_llzo_contact_final",
    "li_pore_surface_final",
    "interface_current_p99_over_mean",
    "contact_current_over_estimate",
];

/// The metrics table: `metrics.csv` (missing values as empty fields) and the Markdown table of
/// `metrics.md` and `report.md` (missing values as "—").
pub fn metrics_tables(rows: &[CaseRow]) -> (String, String) {
    let mut csv = TABLE.join(",") + "\n";
    let mut md = format!(
        "| {} |\n|{}\n",
        TABLE.join(" | "),
        "---|".repeat(TABLE.len())
    );
    for r in rows {
        let cells = table_row(r);
        let csv_cells: Vec<String> = cells
            .iter()
            .map(|c| {
                if c == MISSING {
                    String::new()
                } else {
                    csv_field(c)
                }
            })
            .collect();
        csv += &(csv_cells.join(",") + "\n");
        md += &format!("| {} |\n", cells.join(" | "));
    }
    (csv, md)
}

/// How the Markdown table writes a missing value.
const MISSING: &str = "—";

/// A CSV field, quoted where it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn table_row(r: &CaseRow) -> Vec<String> {
    vec![
        r.name.clone(),
        f(r.pore_size_um, 3),
        f(r.pore_size_um / r.grid_spacing_um, 1),
        f(r.channels, 0),
        f(r.porosity, 4),
        f(r.end_time_s, 2),
        f(r.capacity_mah_cm2, 5),
        r.completed.to_string(),
        f(r.final_voltage_v, 5),
        f(-r.flat_estimate_v, 5),
        if r.faraday_error.is_finite() {
            format!("{:.2e}", r.faraday_error)
        } else {
            MISSING.into()
        },
        f(r.fill_initial, 4),
        f(r.fill_final, 4),
        f(r.front_centre_um, 3),
        f(r.front_wall_um, 3),
        f(r.front_wall_um - r.front_centre_um, 3),
        f(r.homogeneity, 3),
        f(r.contact_initial, 3),
        f(r.contact_final, 3),
        f(r.pore_surface_final, 3),
        f(r.current_p99_over_mean, 3),
        f(r.contact_current_a_m2 / r.contact_current_estimate_a_m2, 3),
    ]
}

/// Whether the study has anything to say about Li inside the electrolyte: electrons leaked, or
/// Li sits in closed pores.
fn has_electrolyte_section(rows: &[CaseRow]) -> bool {
    rows.iter().any(|r| {
        r.leakage_charge_c_m2.abs() > 0.0
            || r.closed_pores_initial_mol_m2 > 0.0
            || r.li_in_electrolyte_mol_m2 > 0.0
    })
}

/// The table of Li inside the electrolyte (Markdown).
fn electrolyte_table(rows: &[CaseRow]) -> String {
    let mut t = String::from(
        "| case | leakage at the end (A/m²) | leakage charge (C/m²) | Li in closed pores at t = 0 \
         (mol/m²) | its change (mol/m²) | Li pressed into the electrolyte (mol/m²) |\n\
         |---|---|---|---|---|---|\n",
    );
    let e = |v: f64| {
        if v.is_finite() {
            format!("{v:.3e}")
        } else {
            MISSING.into()
        }
    };
    for r in rows {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} |",
            r.label,
            e(r.leakage_final_a_m2),
            e(r.leakage_charge_c_m2),
            e(r.closed_pores_initial_mol_m2),
            e(r.closed_pores_gain_mol_m2),
            e(r.li_in_electrolyte_mol_m2)
        );
    }
    t
}

/// What the numbers say about Li inside the electrolyte: each case against the first.
pub fn electrolyte_statement(rows: &[CaseRow]) -> String {
    let mut t = String::new();
    let Some(reference) = rows.first() else {
        return t;
    };
    let _ = writeln!(
        t,
        "Electrons that leak through the electrolyte can meet ions away from the anode: on Li \
         particles in closed pores (which the foil does not reach) and wherever Li presses into \
         the electrolyte. Criteria: the leakage charge through the counter electrode, and the \
         change of the Li in closed pores (and their walls, within 4ℓ) since t = 0; every case \
         is compared with the first, {}.\n",
        reference.label
    );
    let verb = |g: f64| if g > 0.0 { "grew" } else { "lost" };
    // No closed pore held Li at any time in either case: nothing to compare.
    let none =
        |r: &CaseRow| r.closed_pores_initial_mol_m2 == 0.0 && r.closed_pores_gain_mol_m2 == 0.0;
    if none(reference) {
        let _ = writeln!(
            t,
            "- {}: leakage charge {:.3e} C/m²; no closed pore holds Li.",
            reference.label, reference.leakage_charge_c_m2,
        );
    } else {
        let _ = writeln!(
            t,
            "- {}: leakage charge {:.3e} C/m²; the Li in closed pores {} {:.3e} mol/m² ({:+.3e} \
             of what it held).",
            reference.label,
            reference.leakage_charge_c_m2,
            verb(reference.closed_pores_gain_mol_m2),
            reference.closed_pores_gain_mol_m2.abs(),
            reference.closed_pores_gain_mol_m2 / reference.closed_pores_initial_mol_m2
        );
    }
    for r in &rows[1..] {
        let leak = reference.leakage_charge_c_m2 / r.leakage_charge_c_m2;
        let mut line = format!(
            "- {}: leakage charge {:.3e} C/m² ({})",
            r.label,
            r.leakage_charge_c_m2,
            if leak.is_finite() && leak >= 1.0 {
                format!("{leak:.3}× less than {}", reference.label)
            } else if leak.is_finite() && leak > 0.0 {
                format!("{:.3}× more than {}", 1.0 / leak, reference.label)
            } else {
                format!("opposite in sign to {}", reference.label)
            },
        );
        if none(r) {
            let _ = writeln!(t, "{line}; no closed pore holds Li.");
            continue;
        }
        line += &format!(
            "; the Li in closed pores {} {:.3e} mol/m²",
            verb(r.closed_pores_gain_mol_m2),
            r.closed_pores_gain_mol_m2.abs()
        );
        let (g0, g1) = (
            reference.closed_pores_gain_mol_m2,
            r.closed_pores_gain_mol_m2,
        );
        if g0 > 0.0 && g1 <= 0.0 {
            line += &format!(
                ": where {} deposits Li inside the electrolyte, this case does not (the particle \
                 dissolves instead).",
                reference.label
            );
        } else if g0 > 0.0 && g1 > 0.0 {
            line += &format!(
                ": internal deposition {:.3}× that of {}.",
                g1 / g0,
                reference.label
            );
        } else if g0 != 0.0 && g1 != 0.0 {
            line += &format!(
                ": it changed {:.3}× as much as in {}.",
                (g1 / g0).abs(),
                reference.label
            );
        } else {
            line += ".";
        }
        let _ = writeln!(t, "{line}");
    }
    t
}

/// What the numbers say about pore size, against seed 000's claim, with the criteria.
pub fn statement(rows: &[CaseRow]) -> String {
    let mut t = String::new();
    let ch: Vec<&CaseRow> = rows
        .iter()
        .filter(|r| r.channels > 0.0 && r.pore_size_um > 0.0)
        .collect();
    if ch.len() < 2 {
        let _ = writeln!(
            t,
            "The study has fewer than two channel cases, so it cannot compare pore sizes."
        );
        return t;
    }
    // Of several cases of one pore size (a refinement study), the finest: smallest ℓ, then
    // smallest Δx.
    let finest_first = |a: &&&CaseRow, b: &&&CaseRow| {
        a.interface_width_um
            .total_cmp(&b.interface_width_um)
            .then(a.grid_spacing_um.total_cmp(&b.grid_spacing_um))
    };
    let small = ch
        .iter()
        .min_by(|a, b| {
            a.pore_size_um
                .total_cmp(&b.pore_size_um)
                .then_with(|| finest_first(a, b))
        })
        .unwrap();
    let large = ch
        .iter()
        .min_by(|a, b| {
            b.pore_size_um
                .total_cmp(&a.pore_size_um)
                .then_with(|| finest_first(a, b))
        })
        .unwrap();
    let gain = |r: &CaseRow| r.fill_final - r.fill_initial;
    let lead = |r: &CaseRow| r.front_wall_um - r.front_centre_um;
    let small_homogeneous = fills_homogeneously(small);
    let large_walls = shows_wall_growth(large)
        && (!small.homogeneity.is_finite()
            || !large.homogeneity.is_finite()
            || large.homogeneity < small.homogeneity);
    let _ = writeln!(
        t,
        "The source paper (Figure 5) reports that Li fills 0.6 µm channels homogeneously and grows \
         along the walls of 5 µm channels. Criteria used here: a case *fills homogeneously* \
         when its homogeneity index H ≥ {HOMOGENEOUS_H} and its channel fill increased; it \
         *grows along the walls* when its fill increased and H < {WALL_GROWTH_H} or the Li \
         front next to the walls leads the front at the centre by more than two grid spacings, \
         with H below the smallest pore's.\n"
    );
    let describe = |r: &CaseRow| {
        format!(
            "{} µm channels ({}): fill {} → {} (Δ = {}), H = {}, front at the centre {} µm and next \
             to the walls {} µm (wall lead {} µm), Li/LLZO contact per width {} → {}",
            f(r.pore_size_um, 2),
            r.name,
            f(r.fill_initial, 4),
            f(r.fill_final, 4),
            f(gain(r), 4),
            f(r.homogeneity, 3),
            f(r.front_centre_um, 2),
            f(r.front_wall_um, 2),
            f(lead(r), 2),
            f(r.contact_initial, 3),
            f(r.contact_final, 3)
        )
    };
    let _ = writeln!(t, "- Smallest pores: {}.", describe(small));
    let _ = writeln!(t, "- Largest pores: {}.\n", describe(large));
    if small_homogeneous && large_walls {
        let _ = writeln!(
            t,
            "**The model agrees with the paper's claim**: the {} µm channels fill homogeneously \
             (H = {}) while Li in the {} µm channels grows along the walls (H = {}, wall lead {} µm).",
            f(small.pore_size_um, 2),
            f(small.homogeneity, 3),
            f(large.pore_size_um, 2),
            f(large.homogeneity, 3),
            f(lead(large), 2)
        );
    } else {
        let _ = writeln!(
            t,
            "**The model does not reproduce the paper's claim** with these runs: the smallest \
             pores {} fill homogeneously by the criterion above, and the largest pores {} grow \
             along the walls.",
            if small_homogeneous { "do" } else { "do not" },
            if large_walls { "do" } else { "do not" }
        );
        let _ = writeln!(t, "\nWhy, from the numbers:\n");
        for r in &ch {
            if gain(r) <= 0.0 {
                let _ = writeln!(
                    t,
                    "- {}: the Li in the channels did not increase (fill Δ = {}): plating did not \
                     go into the pores.",
                    r.name,
                    f(gain(r), 4)
                );
            }
            if r.contact_final < 0.9 * r.contact_initial {
                let _ = writeln!(
                    t,
                    "- {}: the Li/LLZO contact per width fell from {} to {}: the Li retreats from \
                     (dewets) the LLZO walls instead of wetting them.",
                    r.name,
                    f(r.contact_initial, 3),
                    f(r.contact_final, 3)
                );
            }
            if r.final_voltage_v.abs() > 5.0 * r.flat_estimate_v {
                let _ = writeln!(
                    t,
                    "- {}: the cell voltage is {} V, {}× the estimate of a Li/LLZO cell with this \
                     scaffold ({} V: charge transfer plus ohmic drop): the deposition runs far \
                     from the expected kinetic regime.",
                    r.name,
                    f(r.final_voltage_v, 4),
                    f(r.final_voltage_v.abs() / r.flat_estimate_v, 0),
                    f(-r.flat_estimate_v, 4)
                );
            }
            if !r.completed {
                let _ = writeln!(t, "- {}: the run did not complete.", r.name);
            }
        }
        for r in [small, large] {
            if r.homogeneity.is_nan() {
                let _ = writeln!(
                    t,
                    "- {}: H is undefined: less than a quarter of a grid cell of Li was gained \
                     above the initial Li on average (run longer or to a larger capacity).",
                    r.name
                );
            }
        }
    }
    if ch.iter().any(|r| r.two_potential_without_creep) {
        let _ = writeln!(
            t,
            "\nInterface width: without Li creep, Li plated at the Li/LLZO contact can grow only \
             where the contact meets the pore, a zone as wide as the diffuse interface, so these \
             results hold at the configured ℓ only: as ℓ → 0 the wall films thin and the voltage \
             grows without a limit. `configs/studies/thin-interface.json` measures it, and \
             `thin-interface-creep.json` gives the converged answer with creep (docs/study.md, \
             \"Convergence in the interface width\")."
        );
    }
    let cells = small.pore_size_um / small.grid_spacing_um;
    if small.interface_width_um > 0.5 * small.pore_size_um {
        let _ = writeln!(
            t,
            "\nResolution: the {} µm channel is {} grid cells wide at Δx = {} µm and the diffuse \
             interface (4ℓ = {} µm) is {} the channel, so the model cannot tell growth along its \
             walls from filling its centre; a homogeneous fill there is partly an artefact of \
             resolution. `configs/studies/pore-size-resolved.json` (Δx = 0.05 µm) resolves it.",
            f(small.pore_size_um, 2),
            f(cells, 1),
            small.grid_spacing_um,
            f(small.interface_width_um, 2),
            if small.interface_width_um >= small.pore_size_um {
                "wider than"
            } else {
                "comparable to"
            }
        );
    }
    t
}

/// Builds `dir/report/` from the runs in `dir` (see the module documentation).
/// Writes the report of the cases that finished; returns the cases that are missing or failed
/// (name: reason).
pub fn write_report(dir: &Path) -> Result<Vec<String>> {
    let study = Study::from_file(&dir.join("study.json"))?;
    let out = dir.join("report");
    std::fs::create_dir_all(&out)?;
    let mut loaded = Vec::new();
    let mut missing = Vec::new();
    for c in &study.cases {
        match load_case(dir, &c.name, &c.label()) {
            Ok(l) => loaded.push(l),
            Err(e) => missing.push(format!("{}: {e:#}", c.name)),
        }
    }
    let rows: Vec<CaseRow> = loaded.iter().map(|l| l.row.clone()).collect();

    // Table.
    let (csv, md) = metrics_tables(&rows);
    lipf_io::atomic::write_atomic(&out.join("metrics.csv"), csv.as_bytes())?;
    lipf_io::atomic::write_atomic(&out.join("metrics.md"), md.as_bytes())?;

    // Plots.
    // y against x·xs per case; `relative`: y minus its first value.
    let series = |x: &str, y: &str, xs: f64, relative: bool| -> Vec<(String, Vec<(f64, f64)>)> {
        loaded
            .iter()
            .map(|l| {
                let (a, b) = (l.series.col(x), l.series.col(y));
                let b0 = if relative { l.series.first(y) } else { 0.0 };
                (
                    l.row.label.clone(),
                    a.iter().zip(&b).map(|(&u, &v)| (u * xs, v - b0)).collect(),
                )
            })
            .collect()
    };
    let mut plots = vec![
        (
            "voltage.png",
            "Cell voltage",
            "time (s)",
            "cell voltage (V)",
            "time_s",
            "cell_voltage_v",
            1.0,
            "no case recorded a cell voltage",
            false,
        ),
        (
            "fill.png",
            "Li fill of the scaffold pores",
            "time (s)",
            "mean fill fraction",
            "time_s",
            "mean_fill",
            1.0,
            "no case has scaffold pores whose fill is defined",
            false,
        ),
        (
            "homogeneity.png",
            "Homogeneity of the fill",
            "plated capacity (mAh/cm²)",
            "homogeneity index H",
            "charge_c_m2",
            "homogeneity",
            1.0 / C_M2_PER_MAH_CM2,
            "H is undefined in every case: less than a quarter of a grid cell of Li was gained \
             above the initial Li on average (run longer or to a larger capacity)",
            false,
        ),
    ];
    if has_electrolyte_section(&rows) {
        plots.push((
            "leakage.png",
            "Electronic leakage through the counter electrode",
            "time (s)",
            "leakage current density (A/m²)",
            "time_s",
            "leakage_current_density_a_m2",
            1.0,
            "no case recorded a leakage current",
            false,
        ));
        plots.push((
            "closed_pores.png",
            "Li gained in closed pores since t = 0",
            "time (s)",
            "Li gained (mol/m²)",
            "time_s",
            "li_in_closed_pores_mol_m2",
            1.0,
            "no case recorded Li in closed pores",
            true,
        ));
    }
    let mut plot_notes: Vec<String> = Vec::new();
    let protocols: Vec<ProtocolRow> = loaded.iter().filter_map(|l| l.protocol.clone()).collect();
    if !protocols.is_empty() {
        let s: Vec<(&str, Vec<(f64, f64)>)> = protocols
            .iter()
            .map(|p| {
                (
                    p.label.as_str(),
                    p.cycle_peaks.iter().map(|&(i, v)| (i / 10.0, v)).collect(),
                )
            })
            .collect();
        lipf_io::images::line_plot_png_with_note(
            &out.join("cycles.png"),
            "Largest |V| at the end of a half-cycle, per cycle",
            "current density of the cycle (mA/cm²)",
            "|V| (V)",
            &s,
            Some("no case recorded a segment"),
        )?;
    }
    for (file, title, xl, yl, x, y, xs, why, relative) in plots {
        let s = series(x, y, xs, relative);
        let s_ref: Vec<(&str, Vec<(f64, f64)>)> =
            s.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        let has_data = s_ref
            .iter()
            .flat_map(|(_, v)| v.iter())
            .any(|p| p.0.is_finite() && p.1.is_finite());
        if !has_data {
            plot_notes.push(format!("`{file}` holds no curve: {why}."));
        }
        lipf_io::images::line_plot_png_with_note(
            &out.join(file),
            title,
            xl,
            yl,
            &s_ref,
            Some(why),
        )?;
    }

    // Morphology panel.
    let panel_rows: Vec<(String, Vec<PhaseMap>)> = loaded
        .iter()
        .filter_map(|l| {
            let (phi, xi0, xi1, nx, ny, t0, t1) = l.maps.as_ref()?;
            Some((
                l.row.label.clone(),
                vec![
                    PhaseMap {
                        nx: *nx,
                        ny: *ny,
                        xi: xi0,
                        phi,
                        title: format!("t = {} s", f(*t0, 0)),
                    },
                    PhaseMap {
                        nx: *nx,
                        ny: *ny,
                        xi: xi1,
                        phi,
                        title: format!("t = {} s", f(*t1, 1)),
                    },
                ],
            ))
        })
        .collect();
    let panel_dx: Vec<f64> = loaded
        .iter()
        .filter(|l| l.maps.is_some())
        .map(|l| l.row.grid_spacing_um)
        .collect();
    let has_panel = !panel_rows.is_empty();
    if has_panel {
        let png = pictures::panel_png_with_scale_bars(
            &format!("Li morphology at start and end: {}", study.name),
            &panel_rows,
            420.0,
            &panel_dx,
        )?;
        lipf_io::atomic::write_atomic(&out.join("morphology.png"), &png)?;
    }

    // report.md
    let mut r = String::new();
    let _ = writeln!(r, "# Study `{}`\n", study.name);
    if !study.description.is_empty() {
        let _ = writeln!(r, "{}\n", study.description);
    }
    let _ = writeln!(
        r,
        "{} case(s); lipf {}. Each case is a `lipf run` in `runs/<case>/` with the configuration \
         in `configs/<case>.json`. Definitions of the columns: docs/study.md.\n",
        study.cases.len(),
        lipf_core::VERSION
    );
    if !missing.is_empty() {
        let _ = writeln!(r, "Missing or unreadable runs (left out):\n");
        for m in &missing {
            let _ = writeln!(r, "- {m}");
        }
        let _ = writeln!(r);
    }
    let channel_cases = rows.iter().filter(|r| r.channels > 0.0).count();
    if channel_cases > 0 {
        let _ = writeln!(r, "## What the model shows about pore size\n");
        r += &statement(&rows);
    }
    if let Some(conv) = crate::convergence::section(&rows) {
        let _ = writeln!(r, "\n## Convergence in the interface width and the grid\n");
        r += &conv;
        let series = crate::convergence::ell_series(&rows);
        if !series.is_empty() {
            for (k, file, what, y_label) in [
                (
                    0,
                    "convergence_wall_lead.png",
                    "Wall lead",
                    "wall lead at the end (µm)",
                ),
                (
                    1,
                    "convergence_voltage.png",
                    "Cell voltage",
                    "cell voltage at the end (mV)",
                ),
            ] {
                let s: Vec<(&str, Vec<(f64, f64)>)> = series
                    .iter()
                    .map(|(l, lead, volt)| (l.as_str(), [lead, volt][k].clone()))
                    .collect();
                lipf_io::images::line_plot_png_with_note(
                    &out.join(file),
                    &format!("{what} against the interface half-width ℓ (at fixed ℓ/Δx)"),
                    "interface half-width ℓ (µm)",
                    y_label,
                    &s,
                    None,
                )?;
            }
            let _ = writeln!(
                r,
                "A converged quantity levels off towards ℓ = 0:\n\n\
                 ![wall lead against ℓ](convergence_wall_lead.png)\n\n\
                 ![cell voltage against ℓ](convergence_voltage.png)\n"
            );
        }
    }
    let electrolyte = has_electrolyte_section(&rows);
    if electrolyte {
        let _ = writeln!(r, "\n## Li inside the electrolyte\n");
        r += &electrolyte_statement(&rows);
        let _ = writeln!(r);
        r += &electrolyte_table(&rows);
    }
    if !protocols.is_empty() {
        let _ = writeln!(r, "\n## Protocol: how each case ended\n");
        let _ = writeln!(
            r,
            "From `summary.json` (`end_reason`, `protocol`, `error`) and `segments.csv` (the \
             voltage at the end of each half-cycle); `cycles.png` plots each cycle's largest \
             |V| against its current.\n"
        );
        for p in &protocols {
            let _ = writeln!(r, "{}", p.statement());
        }
        let _ = writeln!(r);
        r += &protocol_table(&protocols);
    }
    let _ = writeln!(r, "\n## Metrics\n");
    r += &md;
    let _ = writeln!(r, "\n## Figures\n");
    if has_panel {
        let _ = writeln!(
            r,
            "Li morphology at the first and last snapshot of every case (blue Li where ξ > ½, tan \
             LLZO, black pore; Li with 0.01 < ξ ≤ ½ tints the LLZO or the pore towards blue, so \
             that Li below the threshold, in the diffuse interface or pressed into the \
             electrolyte, stays visible; as in the source paper's Figure 5):\n\n![morphology](morphology.png)\n"
        );
    }
    let fronts: Vec<(&str, &Vec<u8>)> = loaded
        .iter()
        .filter_map(|l| Some((l.row.name.as_str(), l.front_height_png.as_ref()?)))
        .collect();
    if !fronts.is_empty() {
        let _ = writeln!(
            r,
            "The Li front over the x–z columns of each 3D case at its last snapshot (the height \
             of the Li connected to the collector, µm; electrolyte columns grey; docs/study.md, \
             \"Morphology of a 3D run\"):\n"
        );
        for (name, png) in fronts {
            let file = format!("front_height_{name}.png");
            lipf_io::atomic::write_atomic(&out.join(&file), png)?;
            let _ = writeln!(r, "![front height, {name}]({file})\n");
        }
    }
    let _ = writeln!(r, "![cell voltage](voltage.png)\n");
    let _ = writeln!(r, "![fill](fill.png)\n");
    let _ = writeln!(r, "![homogeneity](homogeneity.png)");
    if !protocols.is_empty() {
        let _ = writeln!(r, "\n![largest |V| per cycle](cycles.png)");
    }
    if electrolyte {
        let _ = writeln!(r, "\n![leakage](leakage.png)\n");
        let _ = writeln!(r, "![Li in closed pores](closed_pores.png)");
    }
    for note in &plot_notes {
        let _ = writeln!(r, "\n{note}");
    }
    lipf_io::atomic::write_atomic(&out.join("report.md"), r.as_bytes())?;
    Ok(missing)
}
