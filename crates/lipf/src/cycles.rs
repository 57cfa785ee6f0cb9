//! Per-segment and per-cycle observables of a protocol run: `segments.csv`, `cycles.csv` and the
//! groups `/segments` and `/cycles` of `fields.h5` (docs/protocols.md).
//!
//! Numbers are written with Rust's shortest round-trip formatting, so that a resumed run reads
//! back the segments before its checkpoint exactly.

use anyhow::{bail, Result};
use lipf_core::protocol::{CycleRecord, SegmentEnd, SegmentRecord, C_M2_PER_MAH_CM2};
use std::path::Path;

/// Columns of `segments.csv`.
pub const SEGMENT_COLUMNS: [&str; 12] = [
    "cycle",
    "segment",
    "current_density_a_m2",
    "start_time_s",
    "end_time_s",
    "duration_s",
    "charge_mah_cm2",
    "mean_voltage_v",
    "end_voltage_v",
    "li_change_mol_m2",
    "end",
    "charge_c_m2",
];

/// Columns of `cycles.csv`.
pub const CYCLE_COLUMNS: [&str; 10] = [
    "cycle",
    "start_time_s",
    "end_time_s",
    "plated_mah_cm2",
    "stripped_mah_cm2",
    "coulombic_efficiency",
    "net_charge_mah_cm2",
    "li_change_mah_cm2",
    "li_balance_error_mah_cm2",
    "complete",
];

/// A number in shortest round-trip form, in exponent notation when very small or large.
fn num(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e15).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

pub fn segments_csv(records: &[SegmentRecord]) -> String {
    let mut s = SEGMENT_COLUMNS.join(",") + "\n";
    for r in records {
        s += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.cycle,
            r.segment,
            num(r.current_density_a_m2),
            num(r.start_time_s),
            num(r.end_time_s),
            num(r.end_time_s - r.start_time_s),
            num(r.charge_c_m2 / C_M2_PER_MAH_CM2),
            num(r.mean_voltage_v),
            num(r.end_voltage_v),
            num(r.li_change_mol_m2),
            r.end.name(),
            num(r.charge_c_m2),
        );
    }
    s
}

pub fn cycles_csv(cycles: &[CycleRecord]) -> String {
    let mut s = CYCLE_COLUMNS.join(",") + "\n";
    for c in cycles {
        s += &format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            c.cycle,
            num(c.start_time_s),
            num(c.end_time_s),
            num(c.plated_mah_cm2),
            num(c.stripped_mah_cm2),
            num(c.coulombic_efficiency),
            num(c.net_charge_mah_cm2),
            num(c.li_change_mah_cm2),
            num(c.li_change_mah_cm2 - c.net_charge_mah_cm2),
            c.complete,
        );
    }
    s
}

/// The ended segments of a `segments.csv` whose end lies at or before `t_max` (resume).
pub fn read_segments_csv(path: &Path, t_max: f64) -> Result<Vec<SegmentRecord>> {
    let text = std::fs::read_to_string(path)?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let v: Vec<&str> = line.split(',').collect();
        if v.len() != SEGMENT_COLUMNS.len() {
            bail!(
                "{} line {}: {} columns, expected {}",
                path.display(),
                n + 1,
                v.len(),
                SEGMENT_COLUMNS.len()
            );
        }
        let f = |i: usize| -> Result<f64> {
            v[i].trim()
                .parse::<f64>()
                .map_err(|e| anyhow::anyhow!("{} line {}: `{}`: {e}", path.display(), n + 1, v[i]))
        };
        let Some(end) = SegmentEnd::from_name(v[10].trim()) else {
            bail!("{} line {}: unknown end `{}`", path.display(), n + 1, v[10]);
        };
        let r = SegmentRecord {
            cycle: v[0].trim().parse()?,
            segment: v[1].trim().parse()?,
            current_density_a_m2: f(2)?,
            start_time_s: f(3)?,
            end_time_s: f(4)?,
            charge_c_m2: f(11)?,
            mean_voltage_v: f(7)?,
            end_voltage_v: f(8)?,
            li_change_mol_m2: f(9)?,
            end,
        };
        if end != SegmentEnd::Incomplete && r.end_time_s <= t_max {
            out.push(r);
        }
    }
    Ok(out)
}

/// Writes `/segments` and `/cycles` (one dataset per column; `end` and `complete` as codes,
/// described by the group's attribute `codes`) into the working copy of the field file
/// published at `public`.
#[cfg(feature = "hdf5")]
pub fn write_h5(public: &Path, records: &[SegmentRecord], cycles: &[CycleRecord]) -> Result<()> {
    use anyhow::Context;
    let work = lipf_io::h5::work_path(public)?;
    let write = || -> Result<()> {
        lipf_io::h5::disable_file_locking();
        let file = hdf5::File::open_rw(&work)?;
        let seg_cols: Vec<(&str, Vec<f64>)> = vec![
            ("cycle", records.iter().map(|r| r.cycle as f64).collect()),
            (
                "segment",
                records.iter().map(|r| r.segment as f64).collect(),
            ),
            (
                "current_density_a_m2",
                records.iter().map(|r| r.current_density_a_m2).collect(),
            ),
            (
                "start_time_s",
                records.iter().map(|r| r.start_time_s).collect(),
            ),
            ("end_time_s", records.iter().map(|r| r.end_time_s).collect()),
            (
                "charge_mah_cm2",
                records
                    .iter()
                    .map(|r| r.charge_c_m2 / C_M2_PER_MAH_CM2)
                    .collect(),
            ),
            (
                "mean_voltage_v",
                records.iter().map(|r| r.mean_voltage_v).collect(),
            ),
            (
                "end_voltage_v",
                records.iter().map(|r| r.end_voltage_v).collect(),
            ),
            (
                "li_change_mol_m2",
                records.iter().map(|r| r.li_change_mol_m2).collect(),
            ),
            (
                "end",
                records
                    .iter()
                    .map(|r| match r.end {
                        SegmentEnd::Duration => 0.0,
                        SegmentEnd::Capacity => 1.0,
                        SegmentEnd::VoltageLimit => 2.0,
                        SegmentEnd::Incomplete => 3.0,
                    })
                    .collect(),
            ),
        ];
        let cyc_cols: Vec<(&str, Vec<f64>)> = vec![
            ("cycle", cycles.iter().map(|c| c.cycle as f64).collect()),
            (
                "start_time_s",
                cycles.iter().map(|c| c.start_time_s).collect(),
            ),
            ("end_time_s", cycles.iter().map(|c| c.end_time_s).collect()),
            (
                "plated_mah_cm2",
                cycles.iter().map(|c| c.plated_mah_cm2).collect(),
            ),
            (
                "stripped_mah_cm2",
                cycles.iter().map(|c| c.stripped_mah_cm2).collect(),
            ),
            (
                "coulombic_efficiency",
                cycles.iter().map(|c| c.coulombic_efficiency).collect(),
            ),
            (
                "net_charge_mah_cm2",
                cycles.iter().map(|c| c.net_charge_mah_cm2).collect(),
            ),
            (
                "li_change_mah_cm2",
                cycles.iter().map(|c| c.li_change_mah_cm2).collect(),
            ),
            (
                "complete",
                cycles
                    .iter()
                    .map(|c| if c.complete { 1.0 } else { 0.0 })
                    .collect(),
            ),
        ];
        for (name, cols, codes) in [
            (
                "segments",
                &seg_cols,
                "end: 0 duration, 1 capacity, 2 voltage_limit, 3 incomplete",
            ),
            (
                "cycles",
                &cyc_cols,
                "complete: 1 every segment ran to its end",
            ),
        ] {
            if file.link_exists(name) {
                file.unlink(name)?;
            }
            let g = file.create_group(name)?;
            g.new_attr::<hdf5::types::VarLenUnicode>()
                .create("codes")?
                .write_scalar(&codes.parse::<hdf5::types::VarLenUnicode>().unwrap())?;
            for (col, v) in cols.iter() {
                g.new_dataset_builder()
                    .with_data(v.as_slice())
                    .create(*col)?;
            }
        }
        file.flush()?;
        Ok(())
    };
    write().with_context(|| format!("cannot write the cycle tables into {}", work.display()))
}

#[cfg(not(feature = "hdf5"))]
pub fn write_h5(_public: &Path, _records: &[SegmentRecord], _cycles: &[CycleRecord]) -> Result<()> {
    Ok(())
}
