//! HDF5 output: the run's field file (`fields.h5`) and checkpoints.
//!
//! All field datasets have shape `(ny, nx)` — `(nz, ny, nx)` for a 3D run, whose grid and
//! checkpoint also carry `nz` — row-major, **row 0 = bottom** (y = 0, the current
//! collector), exactly the order of `lipf_core::State` fields; each carries the attribute
//! `row0 = "bottom (y = 0, current collector)"`. Strings are variable-length UTF-8 (h5py reads
//! them as `str`).
//!
//! # `fields.h5` ([`FieldsFile`])
//!
//! ```text
//! /                       attrs: format = "lipf-fields", format_version (u32), lipf_version,
//!                                config_json (the run's configuration), units (JSON object
//!                                name → unit), row0
//! /grid                   attrs: nx, ny (u64), dx_um (f64), width_um, height_um (f64);
//!                         3D: nz (u64), depth_um (f64)
//! /static                 attrs: geometry_json (what the scaffold builder made)
//! /static/phi             (ny, nx) f32   LLZO order parameter ϕ (constant in time)
//! /snapshots/NNNNNN       external link to the root of snapshots/NNNNNN.h5 (beside fields.h5)
//!                         attrs: time_s (f64), step (u64); NNNNNN = 000000, 000001, …
//! /snapshots/NNNNNN/xi        (ny, nx) f32  Li order parameter ξ        attrs: time_s, step, row0
//! /snapshots/NNNNNN/c         (ny, nx) f32  c/c0                        attrs: time_s, step, row0
//! /snapshots/NNNNNN/potential (ny, nx) f32  electric potential, V      attrs: time_s, step, row0
//! /timeseries/{time_s, current_density_a_m2, cell_voltage_v, li_amount_mol_m2, charge_c_m2,
//!              li_in_electrolyte_mol_m2}  1-D f64;  /timeseries/{step, solver_iterations}  1-D u64
//!                         each with attr units
//! ```
//!
//! Snapshot fields are compressed (shuffle + deflate) when the HDF5 library has zlib.
//! `fields.xdmf` ([`crate::xdmf`]) describes the same layout for ParaView.
//!
//! Each snapshot is its own file `snapshots/NNNNNN.h5`, written beside and renamed (complete or
//! absent), reached from `fields.h5` through an external link, which HDF5 (h5py, ParaView)
//! resolves against the folder of `fields.h5`: keep the run folder together. `fields.h5` itself
//! holds only the static field, the time series and the links; it is built in a private working
//! copy `.fields.h5.work` and [`FieldsFile::publish`] copies that small file atomically onto
//! `fields.h5`, so readers (and a crash) only ever see a complete file and no snapshot is
//! copied again. On resume the published file is the reference: it is copied back into the
//! working copy and trimmed to the checkpoint time (later snapshot files are removed). Publish
//! before writing the checkpoint, so that the published file always holds every snapshot up to
//! the checkpoint. The working copy is removed when a run ends.
//!
//! # Checkpoints ([`write_checkpoint`], [`read_checkpoint`])
//!
//! Every field and scalar of `lipf_core::State` at full precision, so that a restored run
//! continues bitwise identically:
//!
//! ```text
//! /   attrs: format = "lipf-checkpoint", format_version (u32), lipf_version, config_json, row0,
//!            nx, ny (u64), dx_m (f64), v_collector, time_s, current_density_a_m2, charge_c_m2,
//!            leakage_current_density_a_m2, leakage_charge_c_m2, ionic_throughput_c_m2 (format
//!            3 on), li_amount0_mol_m2, li_extruded_m (f64; absent before creep: 0), step, solver_iterations, solver_iterations_total
//!            (u64), checksum_fnv1a64
//! /xi /phi /conc /potential /eta /potential0 /potential1 /electronic_potential
//! /electronic_potential0 /electronic_potential1   (ny, nx) f64
//! ```
//!
//! A run's checkpoint also holds `/run_position` (1-D f64, attribute `checksum_fnv1a64`): where a
//! protocol stands and whether a stop criterion ended the run ([`write_checkpoint_with_position`]).
//!
//! It is written to `<name>.tmp` and renamed over `<name>`.

use crate::atomic;
use crate::xdmf::snapshot_group_name;
use anyhow::{anyhow, bail, ensure, Context, Result};
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, Group, H5Type, Location, SimpleExtents};
use lipf_core::observables::Scalars;
use lipf_core::units::{m_to_um, um_to_m};
use lipf_core::{Grid, State};
use ndarray::{ArrayViewD, IxDyn};
use std::path::{Path, PathBuf};

/// File of snapshot `NNNNNN`, relative to the run folder.
pub fn snapshot_file_name(group_name: &str) -> String {
    format!("snapshots/{group_name}.h5")
}

/// `format` attribute of a snapshot file.
pub const SNAPSHOT_FORMAT: &str = "lipf-snapshot";

/// Turns HDF5's advisory file locks off for this process (unless `HDF5_USE_FILE_LOCKING` is
/// set already); called before every file this module opens, and by other crates before theirs.
///
/// lipf needs no lock: each file has one writer and is published by rename. The locks do harm:
/// a child process started while a file is open (a notebook's subprocess, a scheduler's
/// wrapper, a test) inherits the descriptor and keeps the lock after lipf closes the file, so
/// that lipf's next open of it fails with "unable to lock file".
pub fn disable_file_locking() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("HDF5_USE_FILE_LOCKING").is_none() {
            std::env::set_var("HDF5_USE_FILE_LOCKING", "FALSE");
        }
    });
}

/// Value of the `row0` attribute.
pub const ROW0: &str = "bottom (y = 0, current collector)";
const FIELDS_FORMAT: &str = "lipf-fields";
const CHECKPOINT_FORMAT: &str = "lipf-checkpoint";
/// 2: the electronic potential (two-potential form) and the leakage current and charge.
const FORMAT_VERSION: u32 = 3;

/// Units of every quantity in `fields.h5` (root attribute `units`).
const UNITS: &[(&str, &str)] = &[
    ("xi", "1"),
    ("phi", "1"),
    ("c", "c/c0 (1)"),
    ("potential", "V"),
    ("time_s", "s"),
    ("step", "1"),
    ("dx_um", "µm"),
    ("width_um", "µm"),
    ("height_um", "µm"),
    ("current_density_a_m2", "A/m^2"),
    ("cell_voltage_v", "V"),
    ("li_amount_mol_m2", "mol/m^2"),
    ("charge_c_m2", "C/m^2"),
    ("li_in_electrolyte_mol_m2", "mol/m^2"),
    ("leakage_current_density_a_m2", "A/m^2"),
    ("electronic_potential", "V"),
    ("solver_iterations", "1"),
];

fn unit_of(name: &str) -> &'static str {
    UNITS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, u)| u)
}

// ---------------------------------------------------------------------------------------------
// Attribute and dataset helpers.

fn has_attr(loc: &Location, name: &str) -> Result<bool> {
    Ok(loc.attr_names()?.iter().any(|n| n == name))
}

/// Writes (or replaces) a scalar attribute.
fn set_attr<T: H5Type>(loc: &Location, name: &str, value: T) -> Result<()> {
    if has_attr(loc, name)? {
        loc.delete_attr(name)?;
    }
    loc.new_attr::<T>()
        .create(name)
        .and_then(|a| a.write_scalar(&value))
        .with_context(|| format!("cannot write attribute {name}"))
}

/// Writes (or replaces) a variable-length UTF-8 string attribute.
fn set_attr_str(loc: &Location, name: &str, value: &str) -> Result<()> {
    let v: VarLenUnicode = value
        .parse()
        .map_err(|e| anyhow!("attribute {name} cannot be stored: {e}"))?;
    set_attr(loc, name, v)
}

fn attr<T: H5Type>(loc: &Location, name: &str) -> Result<T> {
    loc.attr(name)
        .and_then(|a| a.read_scalar::<T>())
        .with_context(|| format!("cannot read attribute {name} of {}", loc.name()))
}

fn attr_str(loc: &Location, name: &str) -> Result<String> {
    Ok(attr::<VarLenUnicode>(loc, name)?.as_str().to_owned())
}

fn check_len(grid: &Grid, name: &str, len: usize) -> Result<()> {
    ensure!(
        len == grid.cells(),
        "field {name} has {len} values but the {}×{}×{} grid has {}",
        grid.nx,
        grid.ny,
        grid.nz,
        grid.cells()
    );
    Ok(())
}

/// The shape of a field's dataset: (ny, nx) for a 2D section, (nz, ny, nx) for a volume.
fn field_shape(grid: &Grid) -> Vec<usize> {
    if grid.is_3d() {
        vec![grid.nz, grid.ny, grid.nx]
    } else {
        vec![grid.ny, grid.nx]
    }
}

/// Creates a (ny, nx) or (nz, ny, nx) dataset with `row0`; f32 fields are compressed when zlib
/// is available (chunked by section).
fn write_field<T: H5Type>(
    group: &Group,
    name: &str,
    grid: &Grid,
    data: &[T],
    compress: bool,
) -> Result<Dataset> {
    check_len(grid, name, data.len())?;
    let view = ArrayViewD::from_shape(IxDyn(&field_shape(grid)), data)?;
    let mut builder = group.new_dataset_builder();
    if compress && hdf5::filters::deflate_available() {
        let mut chunk = field_shape(grid);
        chunk[0] = if grid.is_3d() { 1 } else { chunk[0] };
        builder = builder.chunk(chunk).shuffle().deflate(4);
    }
    let ds = builder
        .with_data(view)
        .create(name)
        .with_context(|| format!("cannot write dataset {name}"))?;
    set_attr_str(&ds, "row0", ROW0)?;
    Ok(ds)
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Reads a dataset of `grid.cells()` values (any shape) as a flat vector, bottom row first.
fn read_flat<T: H5Type>(group: &Group, name: &str, grid: &Grid) -> Result<Vec<T>> {
    let ds = group
        .dataset(name)
        .with_context(|| format!("cannot read dataset {name}"))?;
    check_len(grid, name, ds.size())?;
    let v = read_checked::<T>(&ds, name, grid.cells())?;
    check_len(grid, name, v.len())?;
    Ok(v)
}

/// Reads a whole dataset after checking the size its header claims (at most `max_elems`
/// values, and within the available memory): a damaged header is an error, not an abort.
fn read_checked<T: H5Type>(ds: &hdf5::Dataset, name: &str, max_elems: usize) -> Result<Vec<T>> {
    let n = ds.size();
    ensure!(
        n <= max_elems,
        "dataset {name} claims {n} values, more than the {max_elems} it can hold"
    );
    crate::memory::check_fits(
        &format!("dataset {name}"),
        n as f64 * std::mem::size_of::<T>() as f64,
    )?;
    ds.read_raw::<T>()
        .with_context(|| format!("cannot read dataset {name}"))
}

/// Largest grid side a file may claim (the configuration's limit).
const MAX_GRID_SIDE: usize = 65536;
/// Largest number of time-series rows read.
const MAX_ROWS: usize = 1 << 30;

/// The working copy next to the public `fields.h5`: `<dir>/.<name>.work`.
pub fn work_path(public: &Path) -> Result<PathBuf> {
    let name = public
        .file_name()
        .ok_or_else(|| anyhow!("{} has no file name", public.display()))?;
    let mut work = std::ffi::OsString::from(".");
    work.push(name);
    work.push(".work");
    Ok(public.with_file_name(work))
}

// ---------------------------------------------------------------------------------------------
// fields.h5

/// The run's field file: static fields, snapshots and time series (layout in the module docs).
pub struct FieldsFile {
    /// Open handle of the working copy (`None` only transiently inside `publish`).
    file: Option<File>,
    public: PathBuf,
    work: PathBuf,
    grid: Grid,
    snapshots: Vec<(u64, f64)>,
}

impl FieldsFile {
    /// Creates a new field file for a run whose public name is `path` (normally
    /// `<run>/fields.h5`); an existing working copy is overwritten. Writes the root attributes
    /// (`config_json`, `lipf_version`, `units`), `/grid`, `/static/phi` from `state` and
    /// `/static` attribute `geometry_json`. Nothing is visible at `path` until [`publish`].
    ///
    /// [`publish`]: FieldsFile::publish
    pub fn create(
        path: &Path,
        config_json: &str,
        state: &State,
        geometry_json: &str,
    ) -> Result<FieldsFile> {
        let work = work_path(path)?;
        let grid = state.grid;
        disable_file_locking();
        let file =
            File::create(&work).with_context(|| format!("cannot create {}", work.display()))?;
        set_attr_str(&file, "format", FIELDS_FORMAT)?;
        set_attr(&file, "format_version", FORMAT_VERSION)?;
        set_attr_str(&file, "lipf_version", lipf_core::VERSION)?;
        set_attr_str(&file, "config_json", config_json)?;
        let units: serde_json::Map<String, serde_json::Value> = UNITS
            .iter()
            .map(|(n, u)| (n.to_string(), serde_json::Value::from(*u)))
            .collect();
        set_attr_str(
            &file,
            "units",
            &serde_json::Value::Object(units).to_string(),
        )?;
        set_attr_str(&file, "row0", ROW0)?;

        let g = file.create_group("grid")?;
        set_attr(&g, "nx", grid.nx as u64)?;
        set_attr(&g, "ny", grid.ny as u64)?;
        let dx_um = m_to_um(grid.dx_m);
        set_attr(&g, "dx_um", dx_um)?;
        set_attr(&g, "width_um", grid.nx as f64 * dx_um)?;
        set_attr(&g, "height_um", grid.ny as f64 * dx_um)?;
        if grid.is_3d() {
            set_attr(&g, "nz", grid.nz as u64)?;
            set_attr(&g, "depth_um", grid.nz as f64 * dx_um)?;
        }
        set_attr_str(&g, "row0", ROW0)?;

        let s = file.create_group("static")?;
        set_attr_str(&s, "geometry_json", geometry_json)?;
        write_field(&s, "phi", &grid, &to_f32(&state.phi), true)?;
        file.create_group("snapshots")?;
        file.flush()?;
        Ok(FieldsFile {
            file: Some(file),
            public: path.to_path_buf(),
            work,
            grid,
            snapshots: Vec::new(),
        })
    }

    /// Continues the field file published at `path`: copies it into the working copy, removes
    /// the snapshots with `time_s > t_keep_s` (and the time-series samples after `t_keep_s`)
    /// and returns the file with the kept `(step, time_s)` in order. Kept snapshots are
    /// renumbered 000000, 000001, … if a gap was left.
    pub fn open_resume(path: &Path, t_keep_s: f64) -> Result<(FieldsFile, Vec<(u64, f64)>)> {
        ensure!(
            path.is_file(),
            "cannot resume: {} does not exist",
            path.display()
        );
        let work = work_path(path)?;
        std::fs::copy(path, &work)
            .with_context(|| format!("cannot copy {} to {}", path.display(), work.display()))?;
        disable_file_locking();
        let file =
            File::open_rw(&work).with_context(|| format!("cannot open {}", work.display()))?;
        let format = attr_str(&file, "format").unwrap_or_default();
        ensure!(
            format == FIELDS_FORMAT,
            "{} is not a lipf field file (format = {format:?})",
            path.display()
        );
        let g = file.group("grid")?;
        let nx = attr::<u64>(&g, "nx")? as usize;
        let ny = attr::<u64>(&g, "ny")? as usize;
        let nz = if g.attr("nz").is_ok() {
            attr::<u64>(&g, "nz")? as usize
        } else {
            1
        };
        let dx_um = attr::<f64>(&g, "dx_um")?;
        ensure!(
            (1..=MAX_GRID_SIDE).contains(&nx)
                && (1..=MAX_GRID_SIDE).contains(&ny)
                && (1..=MAX_GRID_SIDE).contains(&nz)
                && dx_um > 0.0
                && dx_um.is_finite(),
            "invalid grid {nx}×{ny}×{nz}, dx = {dx_um} µm"
        );
        let grid = Grid::new_3d(nx, ny, nz, um_to_m(dx_um));

        let snaps = file.group("snapshots")?;
        let mut kept: Vec<(usize, String, u64, f64)> = Vec::new();
        for name in snaps.member_names()? {
            let index: usize = name
                .parse()
                .map_err(|_| anyhow!("unexpected member /snapshots/{name}"))?;
            let grp = snaps.group(&name)?;
            let time_s = attr::<f64>(&grp, "time_s")?;
            let step = attr::<u64>(&grp, "step")?;
            drop(grp);
            if time_s > t_keep_s {
                // Only the link goes: the published fields.h5 still refers to the file until
                // the next publish, and the continued run writes the snapshot again (the file
                // is replaced atomically); [`FieldsFile::finish`] removes files left unlinked.
                snaps.unlink(&name)?;
            } else {
                kept.push((index, name, step, time_s));
            }
        }
        kept.sort_by_key(|k| k.0);
        for (new_index, (index, name, _, _)) in kept.iter().enumerate() {
            ensure!(
                *index == new_index,
                "{}: snapshot /snapshots/{name} follows a gap in the numbering",
                path.display()
            );
        }
        drop(snaps);
        let snapshots: Vec<(u64, f64)> = kept.iter().map(|k| (k.2, k.3)).collect();

        let mut ff = FieldsFile {
            file: Some(file),
            public: path.to_path_buf(),
            work,
            grid,
            snapshots: snapshots.clone(),
        };
        let rows: Vec<Scalars> = ff
            .read_timeseries()?
            .into_iter()
            .filter(|r| r.time_s <= t_keep_s)
            .collect();
        ff.write_timeseries(&rows)?;
        Ok((ff, snapshots))
    }

    fn file(&self) -> Result<&File> {
        self.file
            .as_ref()
            .ok_or_else(|| anyhow!("{} is not open", self.work.display()))
    }

    /// Replaces the root attribute `config_json` (a run resumed with a changed configuration,
    /// e.g. a later end time, records the configuration it continued with).
    pub fn set_config_json(&mut self, config_json: &str) -> Result<()> {
        set_attr_str(self.file()?, "config_json", config_json)
    }

    /// The grid of the file.
    pub fn grid(&self) -> Grid {
        self.grid
    }

    /// The public path (`fields.h5`).
    pub fn path(&self) -> &Path {
        &self.public
    }

    /// The run folder (that of `fields.h5`).
    fn dir(&self) -> PathBuf {
        self.public
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default()
    }

    /// Appends the next snapshot `/snapshots/NNNNNN` with ξ, c and the potential of `state`.
    pub fn append_snapshot(&mut self, state: &State) -> Result<()> {
        let g = state.grid;
        ensure!(
            (g.nx, g.ny, g.nz) == (self.grid.nx, self.grid.ny, self.grid.nz),
            "state grid {}×{}×{} differs from the file's {}×{}×{}",
            g.nx,
            g.ny,
            g.nz,
            self.grid.nx,
            self.grid.ny,
            self.grid.nz
        );
        let name = snapshot_group_name(self.snapshots.len());
        // The snapshot's own file, written beside and renamed: complete or absent.
        let rel = snapshot_file_name(&name);
        let target = self.dir().join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let tmp = atomic::tmp_path(&target)?;
        let written = (|| -> Result<()> {
            disable_file_locking();
            let f = File::create(&tmp)?;
            set_attr_str(&f, "format", SNAPSHOT_FORMAT)?;
            set_attr(&f, "format_version", FORMAT_VERSION)?;
            set_attr(&f, "time_s", state.time_s)?;
            set_attr(&f, "step", state.step)?;
            set_attr_str(&f, "row0", ROW0)?;
            for (field, data) in [
                ("xi", &state.xi),
                ("c", &state.conc),
                ("potential", &state.potential),
                ("electronic_potential", &state.electronic_potential),
            ] {
                let ds = write_field(&f, field, &self.grid, &to_f32(data), true)?;
                set_attr(&ds, "time_s", state.time_s)?;
                set_attr(&ds, "step", state.step)?;
                set_attr_str(&ds, "units", unit_of(field))?;
            }
            f.flush()?;
            f.close()?;
            Ok(())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.context(format!("cannot write {}", target.display())));
        }
        atomic::commit(&tmp, &target)?;
        // In fields.h5, /snapshots/NNNNNN is an external link to the snapshot file's root: the
        // published fields.h5 stays small and is never copied whole per snapshot.
        let file = self.file()?;
        file.group("snapshots")?
            .link_external(&rel, "/", &name)
            .with_context(|| format!("cannot link /snapshots/{name}"))?;
        file.flush()?;
        self.snapshots.push((state.step, state.time_s));
        Ok(())
    }

    /// (Re)writes `/timeseries` from `rows`. The datasets are resizable, so rewriting does not
    /// leave dead space in the file.
    pub fn write_timeseries(&mut self, rows: &[Scalars]) -> Result<()> {
        let file = self.file()?;
        let group = if file.link_exists("timeseries") {
            file.group("timeseries")?
        } else {
            file.create_group("timeseries")?
        };
        let col = |f: fn(&Scalars) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
        let float_columns: [(&str, Vec<f64>); 7] = [
            ("time_s", col(|r| r.time_s)),
            ("current_density_a_m2", col(|r| r.current_density_a_m2)),
            ("cell_voltage_v", col(|r| r.cell_voltage_v)),
            ("li_amount_mol_m2", col(|r| r.li_amount_mol_m2)),
            ("charge_c_m2", col(|r| r.charge_c_m2)),
            (
                "li_in_electrolyte_mol_m2",
                col(|r| r.li_in_electrolyte_mol_m2),
            ),
            (
                "leakage_current_density_a_m2",
                col(|r| r.leakage_current_density_a_m2),
            ),
        ];
        for (name, values) in &float_columns {
            write_column(&group, name, values)?;
        }
        write_column(
            &group,
            "step",
            &rows.iter().map(|r| r.step).collect::<Vec<u64>>(),
        )?;
        write_column(
            &group,
            "solver_iterations",
            &rows
                .iter()
                .map(|r| r.solver_iterations)
                .collect::<Vec<u64>>(),
        )?;
        file.flush()?;
        Ok(())
    }

    /// Reads `/timeseries` back (empty if it was never written).
    pub fn read_timeseries(&self) -> Result<Vec<Scalars>> {
        let file = self.file()?;
        if !file.link_exists("timeseries") {
            return Ok(Vec::new());
        }
        let g = file.group("timeseries")?;
        let f = |name: &str| -> Result<Vec<f64>> {
            let ds = g
                .dataset(name)
                .with_context(|| format!("cannot read /timeseries/{name}"))?;
            read_checked::<f64>(&ds, &format!("/timeseries/{name}"), MAX_ROWS)
        };
        let u = |name: &str| -> Result<Vec<u64>> {
            let ds = g
                .dataset(name)
                .with_context(|| format!("cannot read /timeseries/{name}"))?;
            read_checked::<u64>(&ds, &format!("/timeseries/{name}"), MAX_ROWS)
        };
        let time = f("time_s")?;
        let n = time.len();
        let (cd, v, li, q, llzo) = (
            f("current_density_a_m2")?,
            f("cell_voltage_v")?,
            f("li_amount_mol_m2")?,
            f("charge_c_m2")?,
            f("li_in_electrolyte_mol_m2")?,
        );
        let step = u("step")?;
        let iters = if g.link_exists("solver_iterations") {
            u("solver_iterations")?
        } else {
            vec![0; n]
        };
        let leak = if g.link_exists("leakage_current_density_a_m2") {
            f("leakage_current_density_a_m2")?
        } else {
            vec![0.0; n]
        };
        for (name, len) in [
            ("current_density_a_m2", cd.len()),
            ("cell_voltage_v", v.len()),
            ("li_amount_mol_m2", li.len()),
            ("charge_c_m2", q.len()),
            ("li_in_electrolyte_mol_m2", llzo.len()),
            ("step", step.len()),
            ("solver_iterations", iters.len()),
            ("leakage_current_density_a_m2", leak.len()),
        ] {
            ensure!(len == n, "/timeseries/{name} has {len} rows, time_s {n}");
        }
        Ok((0..n)
            .map(|k| Scalars {
                time_s: time[k],
                step: step[k],
                current_density_a_m2: cd[k],
                cell_voltage_v: v[k],
                li_amount_mol_m2: li[k],
                charge_c_m2: q[k],
                li_in_electrolyte_mol_m2: llzo[k],
                solver_iterations: iters[k],
                leakage_current_density_a_m2: leak[k],
            })
            .collect())
    }

    /// `(step, time_s)` of the snapshots in the file, in order.
    pub fn snapshots(&self) -> Vec<(u64, f64)> {
        self.snapshots.clone()
    }

    /// Makes the current content visible at the public path: flushes and closes the working
    /// copy, copies it atomically onto `fields.h5` and reopens it.
    pub fn publish(&mut self) -> Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| anyhow!("{} is not open", self.work.display()))?;
        file.flush()?;
        file.close()
            .with_context(|| format!("cannot close {}", self.work.display()))?;
        let copied = atomic::copy_atomic(&self.work, &self.public);
        disable_file_locking();
        self.file = Some(
            File::open_rw(&self.work)
                .with_context(|| format!("cannot reopen {}", self.work.display()))?,
        );
        copied
    }

    /// Publishes a last time, removes snapshot files that no snapshot links to any more (left
    /// by a resume from an earlier time) and the working copy (end of a run).
    pub fn finish(mut self) -> Result<()> {
        self.publish()?;
        if let Some(file) = self.file.take() {
            file.close()?;
        }
        let linked: std::collections::HashSet<String> = (0..self.snapshots.len())
            .map(|k| snapshot_file_name(&snapshot_group_name(k)))
            .collect();
        let dir = self.dir().join("snapshots");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let is_snapshot = name.len() == 9
                    && name.ends_with(".h5")
                    && name[..6].bytes().all(|b| b.is_ascii_digit());
                if is_snapshot && !linked.contains(&format!("snapshots/{name}")) {
                    std::fs::remove_file(e.path())
                        .with_context(|| format!("cannot remove {}", e.path().display()))?;
                }
            }
        }
        std::fs::remove_file(&self.work)
            .with_context(|| format!("cannot remove {}", self.work.display()))
    }
}

/// Writes a 1-D column into a resizable dataset, creating it if needed.
fn write_column<T: H5Type>(group: &Group, name: &str, values: &[T]) -> Result<()> {
    let ds = if group.link_exists(name) {
        let ds = group.dataset(name)?;
        if ds.is_resizable() {
            ds.resize(values.len())?;
            ds
        } else {
            drop(ds);
            group.unlink(name)?;
            create_column::<T>(group, name, values.len())?
        }
    } else {
        create_column::<T>(group, name, values.len())?
    };
    if !values.is_empty() {
        ds.write_raw(values)
            .with_context(|| format!("cannot write /timeseries/{name}"))?;
    }
    Ok(())
}

fn create_column<T: H5Type>(group: &Group, name: &str, len: usize) -> Result<Dataset> {
    let ds = group
        .new_dataset::<T>()
        .chunk(1024)
        .shape(SimpleExtents::resizable([len]))
        .create(name)
        .with_context(|| format!("cannot create /timeseries/{name}"))?;
    set_attr_str(&ds, "units", unit_of(name))?;
    Ok(ds)
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

/// FNV-1a (64 bit) of a state and its configuration: every field value, scalar and the JSON.
pub fn state_checksum(state: &State, config_json: &str) -> u64 {
    state_checksum_of(state, config_json, true)
}

/// [`state_checksum`], with or without the ionic throughput (format 3 and format 2).
fn state_checksum_of(state: &State, config_json: &str, with_throughput: bool) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    let g = state.grid;
    for v in [
        g.nx as u64,
        g.ny as u64,
        state.step,
        state.solver_iterations,
        state.solver_iterations_total,
    ] {
        eat(&v.to_le_bytes());
    }
    for v in [
        g.dx_m,
        state.v_collector,
        state.time_s,
        state.current_density_a_m2,
        state.charge_c_m2,
        state.li_amount0_mol_m2,
        state.leakage_current_density_a_m2,
        state.leakage_charge_c_m2,
    ] {
        eat(&v.to_bits().to_le_bytes());
    }
    // Format 3 on; a format-2 checkpoint has no throughput and is checked without it.
    if with_throughput {
        eat(&state.ionic_throughput_c_m2.to_bits().to_le_bytes());
    }
    // Creep's extruded Li: only when non-zero, so that checkpoints without creep (and those
    // written before it existed) keep their checksum.
    if state.li_extruded_m != 0.0 {
        eat(&state.li_extruded_m.to_bits().to_le_bytes());
    }
    for f in [
        &state.xi,
        &state.phi,
        &state.conc,
        &state.potential,
        &state.eta,
        &state.potential0,
        &state.potential1,
        &state.electronic_potential,
        &state.electronic_potential0,
        &state.electronic_potential1,
    ] {
        eat(&(f.len() as u64).to_le_bytes());
        for v in f.iter() {
            eat(&v.to_bits().to_le_bytes());
        }
    }
    eat(config_json.as_bytes());
    h
}

/// Writes the full `state` and `config_json` to `path` (atomically; see the module docs).
pub fn write_checkpoint(path: &Path, state: &State, config_json: &str) -> Result<()> {
    write_checkpoint_with_position(path, state, config_json, &[])
}

/// Name of the checkpoint's optional 1-D f64 dataset of the driver's position (protocol and
/// stop criteria), with its own FNV-1a checksum in the attribute `checksum_fnv1a64`.
const POSITION: &str = "run_position";

fn position_checksum(v: &[f64]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for x in v {
        for b in x.to_bits().to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// [`write_checkpoint`] with the driver's position `position` (exact f64 values; none when
/// empty), read back by [`read_checkpoint_position`].
pub fn write_checkpoint_with_position(
    path: &Path,
    state: &State,
    config_json: &str,
    position: &[f64],
) -> Result<()> {
    let tmp = atomic::tmp_path(path)?;
    let written = write_checkpoint_to(&tmp, state, config_json).and_then(|_| {
        if position.is_empty() {
            return Ok(());
        }
        let file = File::open_rw(&tmp)?;
        let ds = file
            .new_dataset_builder()
            .with_data(position)
            .create(POSITION)
            .with_context(|| format!("cannot write dataset {POSITION}"))?;
        set_attr(&ds, "checksum_fnv1a64", position_checksum(position))?;
        file.flush()?;
        file.close()?;
        Ok(())
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("cannot write checkpoint {}", path.display())));
    }
    atomic::commit(&tmp, path)
}

fn write_checkpoint_to(path: &Path, state: &State, config_json: &str) -> Result<()> {
    // Destructured without `..`: a new State field fails to compile here until it is stored.
    let State {
        grid,
        xi,
        phi,
        conc,
        potential,
        eta,
        potential0,
        potential1,
        electronic_potential,
        electronic_potential0,
        electronic_potential1,
        v_collector,
        time_s,
        step,
        current_density_a_m2,
        charge_c_m2,
        leakage_current_density_a_m2,
        leakage_charge_c_m2,
        ionic_throughput_c_m2,
        li_amount0_mol_m2,
        li_extruded_m,
        solver_iterations,
        solver_iterations_total,
    } = state;
    disable_file_locking();
    let file = File::create(path)?;
    // FNV-1a over everything restored: read_checkpoint refuses a file whose bytes changed.
    set_attr(
        &file,
        "checksum_fnv1a64",
        state_checksum(state, config_json),
    )?;
    set_attr_str(&file, "format", CHECKPOINT_FORMAT)?;
    set_attr(&file, "format_version", FORMAT_VERSION)?;
    set_attr_str(&file, "lipf_version", lipf_core::VERSION)?;
    set_attr_str(&file, "config_json", config_json)?;
    set_attr_str(&file, "row0", ROW0)?;
    set_attr(&file, "nx", grid.nx as u64)?;
    set_attr(&file, "ny", grid.ny as u64)?;
    if grid.is_3d() {
        set_attr(&file, "nz", grid.nz as u64)?;
    }
    set_attr(&file, "dx_m", grid.dx_m)?;
    for (name, v) in [
        ("v_collector", *v_collector),
        ("time_s", *time_s),
        ("current_density_a_m2", *current_density_a_m2),
        ("charge_c_m2", *charge_c_m2),
        (
            "leakage_current_density_a_m2",
            *leakage_current_density_a_m2,
        ),
        ("leakage_charge_c_m2", *leakage_charge_c_m2),
        ("ionic_throughput_c_m2", *ionic_throughput_c_m2),
        ("li_amount0_mol_m2", *li_amount0_mol_m2),
        ("li_extruded_m", *li_extruded_m),
    ] {
        set_attr(&file, name, v)?;
    }
    for (name, v) in [
        ("step", *step),
        ("solver_iterations", *solver_iterations),
        ("solver_iterations_total", *solver_iterations_total),
    ] {
        set_attr(&file, name, v)?;
    }
    for (name, data) in [
        ("xi", xi),
        ("phi", phi),
        ("conc", conc),
        ("potential", potential),
        ("eta", eta),
        ("potential0", potential0),
        ("potential1", potential1),
        ("electronic_potential", electronic_potential),
        ("electronic_potential0", electronic_potential0),
        ("electronic_potential1", electronic_potential1),
    ] {
        write_field(&file, name, grid, data, false)?;
    }
    file.flush()?;
    file.close()?;
    Ok(())
}

/// Reads a checkpoint written by [`write_checkpoint`]: the state and the configuration JSON.
pub fn read_checkpoint(path: &Path) -> Result<(State, String)> {
    let read = || -> Result<(State, String)> {
        disable_file_locking();
        let file = File::open(path)?;
        let format = attr_str(&file, "format").unwrap_or_default();
        ensure!(
            format == CHECKPOINT_FORMAT,
            "not a lipf checkpoint (format = {format:?})"
        );
        let version = attr::<u32>(&file, "format_version")?;
        if version > FORMAT_VERSION {
            bail!("checkpoint format version {version} is newer than this lipf ({FORMAT_VERSION})");
        }
        if version < 2 {
            bail!(
                "checkpoint format version {version} was written by an earlier lipf without the \
                 electronic potential (format 2 and later); start the run again"
            );
        }
        let nx = attr::<u64>(&file, "nx")? as usize;
        let ny = attr::<u64>(&file, "ny")? as usize;
        // A 2D checkpoint has no nz.
        let nz = if file.attr("nz").is_ok() {
            attr::<u64>(&file, "nz")? as usize
        } else {
            1
        };
        let dx_m = attr::<f64>(&file, "dx_m")?;
        ensure!(
            (1..=MAX_GRID_SIDE).contains(&nx)
                && (1..=MAX_GRID_SIDE).contains(&ny)
                && (1..=MAX_GRID_SIDE).contains(&nz)
                && dx_m > 0.0
                && dx_m.is_finite(),
            "invalid grid {nx}×{ny}×{nz}, dx = {dx_m} m"
        );
        let grid = Grid::new_3d(nx, ny, nz, dx_m);
        let field = |name: &str| read_flat::<f64>(&file, name, &grid);
        let state = State {
            grid,
            xi: field("xi")?,
            phi: field("phi")?,
            conc: field("conc")?,
            potential: field("potential")?,
            eta: field("eta")?,
            potential0: field("potential0")?,
            potential1: field("potential1")?,
            electronic_potential: field("electronic_potential")?,
            electronic_potential0: field("electronic_potential0")?,
            electronic_potential1: field("electronic_potential1")?,
            v_collector: attr(&file, "v_collector")?,
            time_s: attr(&file, "time_s")?,
            step: attr(&file, "step")?,
            current_density_a_m2: attr(&file, "current_density_a_m2")?,
            charge_c_m2: attr(&file, "charge_c_m2")?,
            leakage_current_density_a_m2: attr(&file, "leakage_current_density_a_m2")?,
            leakage_charge_c_m2: attr(&file, "leakage_charge_c_m2")?,
            // Format 2 has no throughput: the net ionic charge (exact for a current of one
            // sign, the only control format 2 had).
            ionic_throughput_c_m2: if version >= 3 {
                attr(&file, "ionic_throughput_c_m2")?
            } else {
                (attr::<f64>(&file, "charge_c_m2")? - attr::<f64>(&file, "leakage_charge_c_m2")?)
                    .abs()
            },
            li_amount0_mol_m2: attr(&file, "li_amount0_mol_m2")?,
            // Written since creep exists; earlier checkpoints had none (no creep).
            li_extruded_m: if has_attr(&file, "li_extruded_m")? {
                attr(&file, "li_extruded_m")?
            } else {
                0.0
            },
            solver_iterations: attr(&file, "solver_iterations")?,
            solver_iterations_total: attr(&file, "solver_iterations_total")?,
        };
        let config_json = attr_str(&file, "config_json")?;
        // Checkpoints written before the checksum existed have none; every newer one must match.
        if has_attr(&file, "checksum_fnv1a64")? {
            let stored = attr::<u64>(&file, "checksum_fnv1a64")?;
            ensure!(
                stored == state_checksum_of(&state, &config_json, version >= 3),
                "the checkpoint is damaged: its content does not match its checksum"
            );
        }
        Ok((state, config_json))
    };
    read().with_context(|| format!("cannot read checkpoint {}", path.display()))
}

/// The driver's position stored by [`write_checkpoint_with_position`] (`None` in a checkpoint
/// without one).
pub fn read_checkpoint_position(path: &Path) -> Result<Option<Vec<f64>>> {
    let read = || -> Result<Option<Vec<f64>>> {
        disable_file_locking();
        let file = File::open(path)?;
        let Ok(ds) = file.dataset(POSITION) else {
            return Ok(None);
        };
        let v = read_checked::<f64>(&ds, POSITION, 1 << 16)?;
        ensure!(
            attr::<u64>(&ds, "checksum_fnv1a64")? == position_checksum(&v),
            "the checkpoint is damaged: its {POSITION} does not match its checksum"
        );
        Ok(Some(v))
    };
    read().with_context(|| format!("cannot read checkpoint {}", path.display()))
}

/// Reads a 2-D dataset (e.g. `/snapshots/000001/xi`) as f32: `(ny, nx, data)` with data
/// row-major, bottom row first.
pub fn read_dataset_f32(path: &Path, name: &str) -> Result<(usize, usize, Vec<f32>)> {
    let read = || -> Result<(usize, usize, Vec<f32>)> {
        disable_file_locking();
        let file = File::open(path)?;
        let ds = file.dataset(name)?;
        let shape = ds.shape();
        ensure!(shape.len() == 2, "{name} has shape {shape:?}, not 2-D");
        ensure!(
            shape[0] <= MAX_GRID_SIDE && shape[1] <= MAX_GRID_SIDE,
            "{name} has shape {shape:?}, beyond {MAX_GRID_SIDE} per side"
        );
        let data = read_checked::<f32>(&ds, name, shape[0] * shape[1])?;
        Ok((shape[0], shape[1], data))
    };
    read().with_context(|| format!("cannot read {name} from {}", path.display()))
}

/// A 2-D (ny, nx) or 3-D (nz, ny, nx) f32 dataset: its shape as [nz, ny, nx] (nz = 1 for 2-D)
/// and its values.
pub fn read_grid_f32(path: &Path, name: &str) -> Result<([usize; 3], Vec<f32>)> {
    let read = || -> Result<([usize; 3], Vec<f32>)> {
        disable_file_locking();
        let file = File::open(path)?;
        let ds = file.dataset(name)?;
        let shape = ds.shape();
        let dims = match shape.as_slice() {
            [ny, nx] => [1, *ny, *nx],
            [nz, ny, nx] => [*nz, *ny, *nx],
            _ => anyhow::bail!("{name} has shape {shape:?}; expected (ny, nx) or (nz, ny, nx)"),
        };
        ensure!(
            dims.iter().all(|&d| d <= MAX_GRID_SIDE),
            "{name} has shape {shape:?}, beyond {MAX_GRID_SIDE} per side"
        );
        let data = read_checked::<f32>(&ds, name, dims.iter().product())?;
        Ok((dims, data))
    };
    read().with_context(|| format!("cannot read {name} from {}", path.display()))
}

/// A string attribute of the root group (e.g. `config_json` of `fields.h5` or of a
/// checkpoint).
pub fn read_root_attr_str(path: &Path, name: &str) -> Result<String> {
    let read = || -> Result<String> {
        disable_file_locking();
        let file = File::open(path)?;
        attr_str(&file, name)
    };
    read().with_context(|| format!("cannot read attribute {name} of {}", path.display()))
}

/// `(name, step, time_s)` of every snapshot of a `fields.h5`, in the order of their names.
pub fn read_snapshot_list(path: &Path) -> Result<Vec<(String, u64, f64)>> {
    let read = || -> Result<Vec<(String, u64, f64)>> {
        disable_file_locking();
        let file = File::open(path)?;
        let snaps = file.group("snapshots")?;
        let mut names = snaps.member_names()?;
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let g = snaps.group(&n)?;
                Ok((n, attr::<u64>(&g, "step")?, attr::<f64>(&g, "time_s")?))
            })
            .collect()
    };
    read().with_context(|| format!("cannot read the snapshots of {}", path.display()))
}
