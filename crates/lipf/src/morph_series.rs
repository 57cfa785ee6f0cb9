//! The morphology observables in a run's time series (docs/study.md).
//!
//! `timeseries.csv` keeps lipf-io's columns first, unchanged, and appends the columns of
//! [`lipf_core::morphology::COLUMNS`] and one `fill_channel_NNN` column per channel.
//! `fields.h5` gets the same names under `/timeseries` (1-D f64) and `/timeseries/channel_fill`
//! (samples × channels, f64). They are written into the working copy of `fields.h5` just
//! before it is published, with a second handle that is closed again before the publication.

use anyhow::Result;
use lipf_core::morphology::{Morphology, COLUMNS};
use lipf_core::observables::Scalars;
use std::fmt::Write as _;
use std::path::Path;

/// Shortest round-trip text of a number (as lipf-io writes them), `nan` for NaN.
fn num(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

fn channels(morph: &[Morphology]) -> usize {
    morph
        .iter()
        .map(|m| m.channel_fill.len())
        .max()
        .unwrap_or(0)
}

/// The CSV text: lipf-io's columns for `rows`, then the morphology columns of `morph`.
pub fn timeseries_csv(rows: &[Scalars], morph: &[Morphology]) -> String {
    let base = lipf_io::csv::timeseries_csv(rows);
    let nch = channels(morph);
    let mut out = String::with_capacity(base.len() * 3);
    for (k, line) in base.lines().enumerate() {
        out.push_str(line);
        if k == 0 {
            for c in COLUMNS {
                let _ = write!(out, ",{c}");
            }
            for ch in 0..nch {
                let _ = write!(out, ",fill_channel_{ch:03}");
            }
        } else {
            let m = morph.get(k - 1);
            let cols = m.map_or([f64::NAN; COLUMNS.len()], |m| m.columns());
            for v in cols {
                let _ = write!(out, ",{}", num(v));
            }
            for ch in 0..nch {
                let v = m.and_then(|m| m.channel_fill.get(ch)).copied();
                let _ = write!(out, ",{}", num(v.unwrap_or(f64::NAN)));
            }
        }
        out.push('\n');
    }
    out
}

/// Reads the morphology columns of the first `n` data rows of a CSV written by
/// [`timeseries_csv`] (resume). Missing columns or rows read as NaN.
pub fn read_csv(path: &Path, n: usize) -> Vec<Morphology> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let idx: Vec<Option<usize>> = COLUMNS.iter().map(|c| col(c)).collect();
    let ch_idx: Vec<usize> = (0..)
        .map_while(|ch| col(&format!("fill_channel_{ch:03}")))
        .collect();
    let mut out: Vec<Morphology> = lines
        .take(n)
        .map(|line| {
            let v: Vec<&str> = line.split(',').collect();
            let get = |k: Option<usize>| {
                k.and_then(|k| v.get(k))
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .unwrap_or(f64::NAN)
            };
            let cols: Vec<f64> = idx.iter().map(|&k| get(k)).collect();
            let fills = ch_idx.iter().map(|&k| get(Some(k))).collect();
            Morphology::from_columns(&cols, fills)
        })
        .collect();
    while out.len() < n {
        out.push(Morphology::from_columns(&[], Vec::new()));
    }
    out
}

/// Writes the morphology series into the working copy of the field file published at
/// `public` (see the module documentation).
#[cfg(feature = "hdf5")]
pub fn write_h5(public: &Path, morph: &[Morphology]) -> Result<()> {
    use anyhow::Context;
    use hdf5::SimpleExtents;
    let work = lipf_io::h5::work_path(public)?;
    let write = || -> Result<()> {
        lipf_io::h5::disable_file_locking();
        let file = hdf5::File::open_rw(&work)?;
        let group = file.group("timeseries")?;
        let n = morph.len();
        for (k, name) in COLUMNS.iter().enumerate() {
            let v: Vec<f64> = morph.iter().map(|m| m.columns()[k]).collect();
            let ds = if group.link_exists(name) {
                let ds = group.dataset(name)?;
                ds.resize(n)?;
                ds
            } else {
                group
                    .new_dataset::<f64>()
                    .chunk(1024)
                    .shape(SimpleExtents::resizable([n]))
                    .create(*name)?
            };
            if n > 0 {
                ds.write_raw(&v)?;
            }
        }
        let nch = channels(morph);
        if nch > 0 {
            let mut v = Vec::with_capacity(n * nch);
            for m in morph {
                for ch in 0..nch {
                    v.push(m.channel_fill.get(ch).copied().unwrap_or(f64::NAN));
                }
            }
            let ds = if group.link_exists("channel_fill") {
                let ds = group.dataset("channel_fill")?;
                ds.resize((n, nch))?;
                ds
            } else {
                group
                    .new_dataset::<f64>()
                    .chunk((64, nch))
                    .shape(SimpleExtents::resizable([n, nch]))
                    .create("channel_fill")?
            };
            if n > 0 {
                ds.write_raw(&v)?;
            }
        }
        file.flush()?;
        Ok(())
    };
    write().with_context(|| format!("cannot write the morphology series into {}", work.display()))
}

#[cfg(not(feature = "hdf5"))]
pub fn write_h5(_public: &Path, _morph: &[Morphology]) -> Result<()> {
    Ok(())
}
