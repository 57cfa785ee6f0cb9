//! One simulation run: configuration → backend → outputs in the run directory.
//!
//! Schedule: time-series samples every `output.timeseries_interval_s`, snapshots (HDF5, PNG,
//! XDMF, CSV, checkpoint) every `output.snapshot_interval_s`, a checkpoint every
//! `output.checkpoint_interval_min` of wall time, and a final snapshot at `time.end_time_s`.
//! Event times are integer multiples of their interval, so a resumed run lands on the same
//! times as an uninterrupted one and, on the CPU backend, ends bitwise equal to it.
//!
//! Every file is published atomically (written beside, then renamed). When a field leaves its
//! range the run stops with the message, the outputs up to the last good snapshot stay, and the
//! last checkpoint stays valid.

use crate::backend_select::{make_backend, BackendSelection};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lipf_core::config::ControlMode;
use lipf_core::morphology::{self, Morphology};
use lipf_core::observables::{self, Scalars};
use lipf_core::protocol::{self, SegmentRecord, ShortCircuit, Tracker};
use lipf_core::{AdvanceOutcome, Config, State, StopFlag};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to run and where.
pub struct RunOptions {
    pub config: Config,
    pub out_dir: PathBuf,
    pub resume: Option<PathBuf>,
    /// A fresh run refuses an output folder that holds files unless this is set, which
    /// clears the folder first (a resumed run continues in its folder).
    pub overwrite: bool,
    pub quiet: bool,
    pub stop: StopFlag,
    /// Raise the stop flag after this many steps (tests of interruption and resume).
    pub stop_after_steps: Option<u64>,
}

/// `morphology_initial` of an earlier `summary.json` (none if it is missing or holds none).
fn previous_morphology_initial(path: &Path) -> Option<Morphology> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    serde_json::from_value(value.get("morphology_initial")?.clone()).ok()
}

/// The run's `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub name: String,
    pub lipf_version: String,
    pub backend: String,
    /// The GPU adapter ("NAME (Vulkan, discrete GPU)"; software adapters are labelled
    /// "software (CPU), not a GPU"); null on the CPU backend.
    pub adapter: Option<String>,
    pub completed: bool,
    /// Steps since t = 0 (a resumed run counts the steps before its checkpoint too).
    pub steps: u64,
    /// Steps taken by this process (the basis of the rates below).
    pub steps_this_run: u64,
    pub final_time_s: f64,
    pub wall_time_s: f64,
    pub cells: usize,
    pub cell_updates_per_second: f64,
    pub mean_solver_iterations_per_step: f64,
    /// CG iterations of the implicit Nernst–Planck solve per step (absent with the explicit
    /// sub-steps).
    pub mean_nernst_planck_iterations_per_step: Option<f64>,
    /// Wall time per step in the potential solve and in the rest, ms.
    pub potential_solve_ms_per_step: Option<f64>,
    pub other_ms_per_step: Option<f64>,
    /// |nF Δ(li_amount) − charge| / |charge| since t = 0.
    pub faraday_balance_error: f64,
    pub final_cell_voltage_v: f64,
    pub final_current_density_a_m2: f64,
    pub deposited_li_mol_m2: f64,
    /// Li inside the electrolyte at the end, c_s∫(ξ + ϕ − 1)₊ dA per width, mol/m².
    pub li_in_electrolyte_mol_m2: f64,
    /// Its growth since t = 0 relative to the deposited Li.
    pub li_in_electrolyte_fraction: f64,
    /// Charge of the electrons that leaked through the electrolyte since t = 0, C/m².
    pub leakage_charge_c_m2: f64,
    pub geometry: lipf_core::geometry::GeometryInfo,
    /// Morphology observables (docs/study.md) at t = 0 (absent on resume) and at the end.
    pub morphology_initial: Option<Morphology>,
    pub morphology_final: Morphology,
    /// Why the run ended: "end_time", "protocol_complete" (every cycle of `control.repeat` or
    /// of the ramp ran), "voltage_limit" or "short_circuit" (`control.stop`), "interrupted"
    /// (SIGINT/SIGTERM or a step budget of the caller) or "error".
    pub end_reason: String,
    /// The error that ended the run (with `end_reason` "error"), e.g. a solve that did not
    /// converge.
    pub error: Option<String>,
    /// The stop criterion that ended the run, if one did.
    pub stop: Option<StopEvent>,
    /// Where the protocol stood at the end (with a protocol).
    pub protocol: Option<ProtocolSummary>,
    pub outputs: Vec<String>,
}

/// A stop criterion that fired (`control.stop`).
#[derive(Debug, Clone, Serialize)]
pub struct StopEvent {
    /// "voltage_limit" or "short_circuit".
    pub criterion: String,
    pub time_s: f64,
    pub step: u64,
    pub cell_voltage_v: f64,
    /// The short circuit's Li path: where it reaches the top row.
    pub short_circuit: Option<ShortCircuit>,
}

/// A protocol's state at the end of a run.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolSummary {
    /// Cycles whose every segment ran to its end.
    pub cycles_completed: u64,
    /// Segments that ended (by duration, charge or voltage).
    pub segments_completed: usize,
    /// Cycle and segment index where the run ended.
    pub cycle: u64,
    pub segment: usize,
    /// The protocol ran all its cycles.
    pub finished: bool,
    /// Current of the last segment, A/m².
    pub last_current_density_a_m2: f64,
}

/// Layout version of the checkpoint's `run_position` vector:
/// [version, end code (0 running, 1 protocol complete, 2 voltage limit, 3 short circuit),
/// protocol present (0/1), the protocol's `Position` values].
const POSITION_VERSION: f64 = 1.0;

/// Index of the first event strictly after time t for a schedule k·interval.
fn next_event_index(t: f64, interval: f64) -> u64 {
    (t / interval * (1.0 + 1e-12) + 1e-9).floor() as u64 + 1
}

struct Outputs {
    dir: PathBuf,
    config_json: String,
    #[cfg(feature = "hdf5")]
    fields: Option<lipf_io::h5::FieldsFile>,
    snapshots: Vec<(u64, f64)>,
    rows: Vec<Scalars>,
    /// Morphology observables of each row of `rows`.
    morph: Vec<Morphology>,
    images: bool,
    /// The x–y section the pictures of a 3D run show (`metrics::section_with_most_pore`).
    section: usize,
    /// A 3D run's pore columns (`front_map::pore_columns` at the scaffold's middle row), whose
    /// front heights its projection picture shows; empty in 2D.
    pore_columns: Vec<bool>,
    /// Checkpoint `run_position` (see [`POSITION_VERSION`]).
    position: Vec<f64>,
    /// The protocol's segments (ended and current) and its length; empty without a protocol.
    segments: Vec<SegmentRecord>,
    protocol_len: usize,
    nf: f64,
}

impl Outputs {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    #[allow(unused_variables)]
    fn open(
        dir: &Path,
        config: &Config,
        state: &State,
        geometry_json: &str,
        resume_time: Option<f64>,
    ) -> Result<Outputs> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create run directory {}", dir.display()))?;
        let config_json = config.to_json_pretty();
        let mut out = Outputs {
            dir: dir.to_path_buf(),
            config_json,
            #[cfg(feature = "hdf5")]
            fields: None,
            snapshots: Vec::new(),
            rows: Vec::new(),
            morph: Vec::new(),
            images: config.output.images,
            section: 0,
            pore_columns: Vec::new(),
            position: Vec::new(),
            segments: Vec::new(),
            protocol_len: config.control.protocol.len(),
            nf: lipf_core::units::FARADAY_C_MOL * config.material.charge_number,
        };
        if let Some(t) = resume_time {
            // The continued outputs must carry everything before the checkpoint: refuse rather
            // than start a partial history.
            let csv = out.path("timeseries.csv");
            out.rows = read_timeseries_csv(&csv, t).with_context(|| {
                format!(
                    "cannot resume into {}: its time series {} cannot be read, so the samples \
                     before t = {t} s would be lost (resume in the run's own folder, or restore \
                     the file)",
                    dir.display(),
                    csv.display()
                )
            })?;
            if out.rows.is_empty() {
                bail!(
                    "cannot resume into {}: {} holds no sample up to t = {t} s, so the time \
                     series before the checkpoint would be lost",
                    dir.display(),
                    csv.display()
                );
            }
            out.morph = crate::morph_series::read_csv(&csv, out.rows.len());
        }
        #[cfg(feature = "hdf5")]
        {
            let p = out.path("fields.h5");
            match resume_time {
                Some(t) => {
                    if !p.is_file() {
                        bail!(
                            "cannot resume into {}: fields.h5 is missing there, so the snapshots \
                             before t = {t} s would be lost (resume in the run's own folder, \
                             without --out, or restore fields.h5)",
                            dir.display()
                        );
                    }
                    let (f, kept) = lipf_io::h5::FieldsFile::open_resume(&p, t)?;
                    let h5_rows = f.read_timeseries()?;
                    if h5_rows.len() != out.rows.len()
                        || h5_rows.iter().zip(&out.rows).any(|(a, b)| a.step != b.step)
                    {
                        bail!(
                            "cannot resume into {}: timeseries.csv ({} samples up to t = {t} s) \
                             and fields.h5 ({} samples) disagree, so one of them lost data; \
                             restore the run folder as the run left it",
                            dir.display(),
                            out.rows.len(),
                            h5_rows.len()
                        );
                    }
                    out.fields = Some(f);
                    out.snapshots = kept;
                    // The configuration the run continues with (it may extend the stored one).
                    if let Some(f) = out.fields.as_mut() {
                        f.set_config_json(&out.config_json)?;
                    }
                }
                None => {
                    out.fields = Some(lipf_io::h5::FieldsFile::create(
                        &p,
                        &out.config_json,
                        state,
                        geometry_json,
                    )?);
                }
            }
        }
        Ok(out)
    }

    fn snapshot(&mut self, state: &State) -> Result<()> {
        #[cfg(feature = "hdf5")]
        if let Some(f) = self.fields.as_mut() {
            f.append_snapshot(state)?;
        }
        self.snapshots.push((state.step, state.time_s));
        if self.images {
            // A 3D run's pictures are of its middle x–y section.
            let section = state.grid.is_3d().then(|| state.section(self.section));
            let shown = section.as_ref().unwrap_or(state);
            let stem = format!("snapshot_{:06}", self.snapshots.len() - 1);
            lipf_io::images::write_snapshot_images(&self.path("images"), &stem, shown)?;
            if state.grid.is_3d() {
                self.write_front_height_png(state, &stem)?;
            }
            lipf_io::animation::append_morphology_frame(&self.path("morphology.gif"), shown)?;
        }
        Ok(())
    }

    /// `images/<stem>_front_height.png` of a 3D run: the height of the Li connected to the
    /// collector over every x–z column (`front_map::front_height_map_m`), electrolyte columns
    /// grey.
    fn write_front_height_png(&self, state: &State, stem: &str) -> Result<()> {
        let g = state.grid;
        let png = lipf_io::images::front_height_png(
            g.nx,
            g.nz,
            lipf_core::units::m_to_um(g.dx_m),
            state.time_s,
            &lipf_core::front_map::front_projection_um(state, &self.pore_columns),
            "Li front above the collector (µm) over x–z; grey: electrolyte",
        )?;
        lipf_io::atomic::write_atomic(
            &self.path("images").join(format!("{stem}_front_height.png")),
            &png,
        )
    }

    /// Adds a row to the time series with its morphology, and the tip's velocity since the
    /// row before.
    fn push_row(&mut self, s: Scalars, mut m: Morphology) {
        if let (Some(prev), Some(pm)) = (self.rows.last(), self.morph.last()) {
            let dt = s.time_s - prev.time_s;
            if dt > 0.0 {
                m.li_tip_velocity_um_s = (m.li_tip_um - pm.li_tip_um) / dt;
            }
        }
        self.rows.push(s);
        self.morph.push(m);
    }

    /// Appends the last time-series row to timeseries.csv and flushes it (`tail -f` follows a
    /// run). The file is rewritten whole, atomically, at every snapshot; a resume reads only
    /// complete lines up to its checkpoint.
    fn append_last_row(&self) -> Result<()> {
        use std::io::Write;
        let k = self.rows.len() - 1;
        let text = crate::morph_series::timeseries_csv(&self.rows[k..], &self.morph[k..]);
        let line = text.lines().nth(1).unwrap_or_default();
        let path = self.path("timeseries.csv");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot append to {}", path.display()))?;
        f.write_all(format!("{line}\n").as_bytes())
            .and_then(|_| f.flush())
            .with_context(|| format!("cannot append to {}", path.display()))
    }

    /// Publishes time series, XDMF and fields.h5; writes the checkpoint when asked.
    fn publish(&mut self, state: &State, checkpoint: bool) -> Result<()> {
        lipf_io::atomic::write_atomic(
            &self.path("timeseries.csv"),
            crate::morph_series::timeseries_csv(&self.rows, &self.morph).as_bytes(),
        )?;
        // Segment boundaries (ends of the recorded segments) are marked on the voltage plot.
        let marks: Vec<f64> = self
            .segments
            .iter()
            .filter(|r| r.end != protocol::SegmentEnd::Incomplete)
            .map(|r| r.end_time_s)
            .collect();
        lipf_io::images::write_run_plot_marked(&self.path("voltage.png"), &self.rows, &marks)?;
        let cycles = protocol::cycles(&self.segments, self.protocol_len, self.nf);
        if self.protocol_len > 0 {
            lipf_io::atomic::write_atomic(
                &self.path("segments.csv"),
                crate::cycles::segments_csv(&self.segments).as_bytes(),
            )?;
            lipf_io::atomic::write_atomic(
                &self.path("cycles.csv"),
                crate::cycles::cycles_csv(&cycles).as_bytes(),
            )?;
        }
        #[cfg(feature = "hdf5")]
        {
            if let Some(f) = self.fields.as_mut() {
                f.write_timeseries(&self.rows)?;
                crate::morph_series::write_h5(f.path(), &self.morph)?;
                if self.protocol_len > 0 {
                    crate::cycles::write_h5(f.path(), &self.segments, &cycles)?;
                }
                f.publish()?;
            }
            let xdmf = lipf_io::xdmf::xdmf(&state.grid, "fields.h5", &self.snapshots);
            lipf_io::atomic::write_atomic(&self.path("fields.xdmf"), xdmf.as_bytes())?;
            if checkpoint {
                lipf_io::h5::write_checkpoint_with_position(
                    &self.path("checkpoint.h5"),
                    state,
                    &self.config_json,
                    &self.position,
                )?;
            }
        }
        #[cfg(not(feature = "hdf5"))]
        let _ = (state, checkpoint);
        Ok(())
    }
}

/// Takes an exclusive advisory lock on the run folder (created when missing) for as long as the
/// returned handle lives, so that a second `lipf run` (or a resume) into the same folder is
/// refused instead of writing the same files at the same time. Where the folder cannot be
/// opened or the file system does not support locks, the run goes on without one.
pub fn lock_run_dir(dir: &Path) -> Result<Option<std::fs::File>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create run directory {}", dir.display()))?;
    let Ok(f) = std::fs::File::open(dir) else {
        return Ok(None);
    };
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another lipf run is writing {} (it holds the folder's lock); wait for it to end, \
             or give another folder with --out",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(_)) => Ok(None),
    }
}

/// A fresh run's folder: created when missing; one that holds files is refused unless
/// `overwrite`, which empties it first (stale images of an earlier run must not sit beside new
/// fields).
pub fn prepare_fresh_dir(dir: &Path, overwrite: bool) -> Result<()> {
    let non_empty = match std::fs::read_dir(dir) {
        Ok(mut it) => it.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read output folder {}", dir.display()))
        }
    };
    if non_empty {
        if !overwrite {
            bail!(
                "output folder {} is not empty (an earlier run?); give --overwrite to replace \
                 its contents, or another folder with --out",
                dir.display()
            );
        }
        for entry in std::fs::read_dir(dir)? {
            let p = entry?.path();
            let r = if p.is_dir() && !p.is_symlink() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            r.with_context(|| format!("--overwrite: cannot remove {}", p.display()))?;
        }
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create run directory {}", dir.display()))
}

/// Refuses a run whose fields would not fit in the available memory (before allocating them,
/// so that the answer is an error and not an abort).
pub fn check_available_memory(needed_bytes: f64) -> Result<()> {
    if let Some(avail) = lipf_io::memory::available_bytes() {
        if needed_bytes > avail {
            bail!(
                "the run needs about {:.2} GiB of memory but {:.2} GiB are available; use a \
                 coarser domain.grid_spacing_um or a smaller domain",
                needed_bytes / lipf_core::estimate::GIB,
                avail / lipf_core::estimate::GIB
            );
        }
    }
    Ok(())
}

/// Reads the rows of a time-series CSV written by this program with time ≤ t_max (resume).
fn read_timeseries_csv(path: &Path, t_max: f64) -> Result<Vec<Scalars>> {
    let text = std::fs::read_to_string(path)?;
    // A line without its newline was cut by a crash while being appended: not a sample.
    let complete = match text.rfind('\n') {
        Some(k) => &text[..=k],
        None => "",
    };
    let mut rows = Vec::new();
    for (n, line) in complete.lines().enumerate().skip(1) {
        let v: Vec<&str> = line.split(',').collect();
        if v.len() < 8 {
            bail!(
                "{} line {}: {} columns, expected at least 8",
                path.display(),
                n + 1,
                v.len()
            );
        }
        let f = |i: usize| v[i].trim().parse::<f64>().unwrap_or(f64::NAN);
        let row = Scalars {
            time_s: f(0),
            step: v[1].trim().parse().unwrap_or(0),
            current_density_a_m2: f(2),
            cell_voltage_v: f(3),
            li_amount_mol_m2: f(4),
            charge_c_m2: f(5),
            li_in_electrolyte_mol_m2: f(6),
            solver_iterations: v[7].trim().parse().unwrap_or(0),
            leakage_current_density_a_m2: if v.len() > 8 { f(8) } else { 0.0 },
        };
        if row.time_s <= t_max * (1.0 + 1e-12) {
            rows.push(row);
        }
    }
    Ok(rows)
}

fn progress_bar(quiet: bool, end_time_s: f64) -> ProgressBar {
    let pb = ProgressBar::new((end_time_s * 1000.0).round() as u64);
    if quiet {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        pb.set_style(
            ProgressStyle::with_template(
                "{bar:32.cyan/blue} {msg}  [{elapsed_precise} < {eta_precise}]",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
    }
    pb
}

/// Runs a simulation to its end time (or until stopped) on the CPU backend. See the module
/// documentation.
pub fn run(opts: RunOptions) -> Result<RunSummary> {
    run_on(opts, &BackendSelection::default())
}

/// [`run`] on the backend `sel` chooses (`--backend`, `--adapter`); a checkpoint resumes on
/// either backend.
pub fn run_on(opts: RunOptions, sel: &BackendSelection) -> Result<RunSummary> {
    let config = &opts.config;
    let say = |s: &str| {
        if !opts.quiet {
            eprintln!("{s}");
        }
    };
    config.require_runnable()?;
    // Budgets and memory before anything is allocated or written.
    let estimate = lipf_core::estimate::check_config(config)?;
    check_available_memory(estimate.memory_bytes)?;
    // One run per folder: held until this function returns.
    let _lock = lock_run_dir(&opts.out_dir)?;
    #[cfg(feature = "hdf5")]
    let (resumed_state, resumed_position) = match &opts.resume {
        Some(path) => {
            let (state, stored_json) = lipf_io::h5::read_checkpoint(path)
                .with_context(|| format!("cannot read checkpoint {}", path.display()))?;
            let ctx = || format!("cannot resume from {}", path.display());
            // The given configuration may differ from the stored one only where the run up to
            // the checkpoint stays a run of the new one (lipf_core::restart).
            let stored = Config::from_json_str(&stored_json)
                .with_context(|| format!("configuration stored in {}", path.display()))?;
            let changes = lipf_core::restart::check(&stored, config, state.time_s)
                .map_err(anyhow::Error::msg)
                .with_context(ctx)?;
            for c in &changes {
                say(&format!(
                    "resume: {} changed from {} to {}",
                    c.path,
                    c.stored
                        .as_ref()
                        .map_or("(absent)".into(), |v| v.to_string()),
                    c.given
                        .as_ref()
                        .map_or("(absent)".into(), |v| v.to_string())
                ));
            }
            state.validate_resume(config).with_context(ctx)?;
            let position = lipf_io::h5::read_checkpoint_position(path)?;
            check_position_resumable(position.as_deref(), &state, config).with_context(ctx)?;
            (Some(state), position)
        }
        None => (None, None),
    };
    #[cfg(not(feature = "hdf5"))]
    let resumed_position: Option<Vec<f64>> = None;
    if opts.resume.is_none() {
        prepare_fresh_dir(&opts.out_dir, opts.overwrite)
            .context("to continue a stopped run instead, use --resume CHECKPOINT")?;
    }
    let coeffs = lipf_core::Coefficients::from_config(config);
    let built = lipf_core::geometry::build(config, &coeffs.grid, coeffs.ell_m);
    // The x–y section whose pictures and morphology a 3D run reports: the one with the most pore
    // (a section between the pores of a lattice would show none).
    let section_k = lipf_core::metrics::section_with_most_pore(
        &built.info,
        &coeffs.grid,
        coeffs.ell_m,
        &built.phi,
    );
    let (geometry, xi_built) = (built.info, built.xi);
    let chosen = match &opts.resume {
        None => make_backend(sel, config, None)?,
        Some(path) => {
            #[cfg(feature = "hdf5")]
            {
                let _ = path;
                let state = resumed_state.expect("read above");
                make_backend(sel, config, Some((state, geometry.clone())))?
            }
            #[cfg(not(feature = "hdf5"))]
            bail!(
                "resuming from {} needs lipf built with the `hdf5` feature",
                path.display()
            );
        }
    };
    let (mut backend, adapter) = (chosen.backend, chosen.adapter);
    say(&format!(
        "lipf {} — run `{}` on backend {}",
        lipf_core::VERSION,
        config.name,
        backend.name()
    ));
    if chosen.adapter_is_software {
        say("warning: the adapter is a software rasteriser (WGSL run on the CPU, not a GPU); it is much slower than --backend cpu and meant for testing the shaders");
    }
    say(&format!(
        "derived model coefficients:\n{}",
        coeffs.describe()
    ));
    say(&format!(
        "geometry: {} channel(s) of {:.3} µm, period {:.3} µm, porosity {:.4} (measured {:.4})",
        geometry.channels,
        geometry.pore_size_um,
        geometry.channel_period_um,
        geometry.porosity_geometric,
        geometry.porosity_measured
    ));
    let geometry_json = serde_json::to_string(&geometry)?;
    // The applied current of the last step (a protocol's current, 0 in a rest).
    // The morphology of a 3D run: the fronts, homogeneity and fill of the volume, the rest that
    // of that section, measured with the section's coefficients (docs/study.md).
    let section_coeffs = lipf_core::Coefficients::from_config(&config.section());
    let morphology_of = |st: &State| {
        let j = match config.control.mode {
            ControlMode::Galvanostatic => st.current_density_a_m2,
            ControlMode::Potentiostatic => config.control.current_density_at(st.time_s),
        };
        if st.grid.is_3d() {
            morphology::measure_volume(&section_coeffs, &geometry, &xi_built, st, section_k, j)
        } else {
            morphology::measure(&coeffs, &geometry, &xi_built, st, j)
        }
    };
    let resume_time = opts.resume.as_ref().map(|_| backend.state().time_s);
    let state0 = backend.state().clone();
    let scalars0 = backend.scalars();
    // The protocol before the outputs: a resume it refuses leaves the run folder untouched.
    let mut tracker = match (resume_time, &resumed_position) {
        (None, _) => Tracker::start(&config.control, &scalars0),
        (Some(t), position) => {
            resume_tracker(config, position.as_deref(), &scalars0, &opts.out_dir, t)?
        }
    };
    if let Some(p) = tracker.as_mut().filter(|p| p.finished()) {
        // A run whose protocol ran all its cycles continues only with more of them.
        if !p.reopen(&scalars0) {
            bail!(
                "cannot resume from {}: the run ended at t = {} s because its protocol ran all \
                 its cycles; to extend it, raise control.repeat (or control.ramp.max_a_m2)",
                opts.resume
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string()),
                state0.time_s
            );
        }
        say(&format!(
            "resume: the protocol continues with cycle {}",
            p.pos.cycle
        ));
    }
    let mut out = Outputs::open(&opts.out_dir, config, &state0, &geometry_json, resume_time)?;
    out.section = section_k;
    if state0.grid.is_3d() {
        out.pore_columns = lipf_core::front_map::scaffold_pore_columns(&state0, &geometry);
    }
    let stop_cfg = config.control.stop.clone().unwrap_or_default();
    let mut stop_event: Option<StopEvent> = None;
    sync_protocol(&mut out, &tracker, &scalars0, 0.0);
    if resume_time.is_none() {
        out.push_row(scalars0, morphology_of(&state0));
        out.snapshot(&state0)?;
        out.publish(&state0, true)?;
    } else {
        say(&format!(
            "resumed at t = {} s, step {}",
            state0.time_s, state0.step
        ));
    }

    let end = config.time.end_time_s;
    let (ts_dt, snap_dt) = (
        config.output.timeseries_interval_s,
        config.output.snapshot_interval_s,
    );
    let mut ts_k = next_event_index(state0.time_s, ts_dt);
    let mut snap_k = next_event_index(state0.time_s, snap_dt);
    let pb = progress_bar(opts.quiet, end);
    // Without a terminal (a batch log) the bar is hidden: plain lines instead.
    let plain_progress = !opts.quiet && !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let line_every = std::env::var("LIPF_PROGRESS_INTERVAL_S")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .and_then(|v| std::time::Duration::try_from_secs_f64(v).ok())
        .unwrap_or(std::time::Duration::from_secs(10));
    let mut last_line = Instant::now();
    let start = Instant::now();
    let (step0, iters0) = (state0.step, state0.solver_iterations_total);
    let mut last_checkpoint = Instant::now();
    let ckpt_every =
        std::time::Duration::try_from_secs_f64(config.output.checkpoint_interval_min * 60.0)
            .unwrap_or(std::time::Duration::MAX);
    let mut completed = false;
    let mut failure: Option<String> = None;
    let mut end_reason = "end_time";
    loop {
        let t = backend.state().time_s;
        if t >= end {
            completed = true;
            break;
        }
        // The protocol's current for the coming steps (a resumed run starts mid-protocol), and
        // the end of its segment by duration or charge, where the run stops to switch.
        if config.control.mode == ControlMode::Galvanostatic {
            let i = tracker
                .as_ref()
                .map_or(config.control.current_density_a_m2, |p| p.current());
            backend.set_current_density(i);
            backend.hold_cell_voltage(tracker.as_ref().and_then(|p| p.held_voltage()));
        }
        let t_change = tracker.as_ref().map_or(end, |p| p.end_time_s().min(end));
        let t_ts = (ts_k as f64 * ts_dt).min(end);
        let t_snap = (snap_k as f64 * snap_dt).min(end);
        let target = t_ts.min(t_snap).min(t_change);
        // A voltage limit (of the segment or of the run) is checked after every step.
        let every_step = stop_cfg.voltage_limit_v.is_some()
            || tracker.as_ref().is_some_and(|p| p.needs_every_step());
        let advanced = if every_step {
            backend.advance_steps(target, 1, &opts.stop)
        } else {
            backend.advance(target, &opts.stop)
        };
        let outcome = match advanced {
            Ok(o) => o,
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        };
        let s = backend.scalars();
        let steps_done = s.step - step0;
        let rate = steps_done as f64 / start.elapsed().as_secs_f64().max(1e-9);
        pb.set_position((s.time_s * 1000.0).round() as u64);
        pb.set_message(format!(
            "t = {:.2}/{} s  {:.0} steps/s  V = {:.4} V  i = {:.3} A/m²",
            s.time_s, end, rate, s.cell_voltage_v, s.current_density_a_m2
        ));
        if plain_progress && last_line.elapsed() >= line_every {
            // Logs: one line every few seconds; the ETA extrapolates the simulated time covered
            // since this process started (correct after a resume).
            let covered = s.time_s - state0.time_s;
            let eta = if covered > 0.0 {
                format!(
                    "{:.0} s",
                    start.elapsed().as_secs_f64() * (end - s.time_s) / covered
                )
            } else {
                "unknown".into()
            };
            eprintln!(
                "progress: t = {:.4}/{} s ({:.1} %), step {}, {:.1} steps/s, V = {:.6} V, i = {:.4} A/m², ETA {eta}",
                s.time_s,
                end,
                100.0 * s.time_s / end,
                s.step,
                rate,
                s.cell_voltage_v,
                s.current_density_a_m2
            );
            last_line = Instant::now();
        }
        if outcome == AdvanceOutcome::Stopped {
            break;
        }
        let is_ts = (s.time_s - t_ts).abs() <= 1e-12 * end.max(1.0);
        let is_snap = (s.time_s - t_snap).abs() <= 1e-12 * end.max(1.0);
        if let Some(p) = tracker.as_mut() {
            if p.poll(&s) && !opts.quiet && plain_progress {
                eprintln!(
                    "protocol: cycle {}, segment {} from t = {} s",
                    p.pos.cycle, p.pos.segment, s.time_s
                );
            }
            if p.finished() {
                end_reason = "protocol_complete";
            }
        }
        if let Some(limit) = stop_cfg.voltage_limit_v {
            if s.cell_voltage_v.abs() > limit {
                stop_event = Some(StopEvent {
                    criterion: "voltage_limit".into(),
                    time_s: s.time_s,
                    step: s.step,
                    cell_voltage_v: s.cell_voltage_v,
                    short_circuit: None,
                });
            }
        }
        if is_ts && stop_cfg.short_circuit && stop_event.is_none() {
            if let Some(sc) = protocol::short_circuit(backend.state()) {
                stop_event = Some(StopEvent {
                    criterion: "short_circuit".into(),
                    time_s: s.time_s,
                    step: s.step,
                    cell_voltage_v: s.cell_voltage_v,
                    short_circuit: Some(sc),
                });
            }
        }
        if let Some(e) = &stop_event {
            end_reason = if e.criterion == "voltage_limit" {
                "voltage_limit"
            } else {
                "short_circuit"
            };
        }
        let ends_here = s.time_s >= end || end_reason != "end_time";
        if is_snap || ends_here || last_checkpoint.elapsed() >= ckpt_every {
            sync_protocol(&mut out, &tracker, &s, end_code(end_reason));
        }
        if is_ts {
            out.push_row(s, morphology_of(backend.state()));
            out.append_last_row()?;
            ts_k += 1;
        }
        if is_snap || ends_here {
            if !is_ts {
                out.push_row(s, morphology_of(backend.state()));
            }
            let st = backend.state().clone();
            out.snapshot(&st)?;
            out.publish(&st, true)?;
            last_checkpoint = Instant::now();
            snap_k += 1;
        } else if last_checkpoint.elapsed() >= ckpt_every {
            let st = backend.state().clone();
            out.publish(&st, true)?;
            last_checkpoint = Instant::now();
        }
        if ends_here && s.time_s < end {
            completed = true;
            say(&format!(
                "run ended at t = {} s: {}",
                s.time_s,
                match &stop_event {
                    Some(e) => match e.short_circuit {
                        Some(sc) => format!(
                            "short circuit, Li reaches the top row at x = {:.3} µm",
                            sc.x_um
                        ),
                        None => format!(
                            "|V| = {:.6} V beyond control.stop.voltage_limit_v",
                            e.cell_voltage_v.abs()
                        ),
                    },
                    None => "the protocol ran all its cycles".into(),
                }
            ));
            break;
        }
        if let Some(n) = opts.stop_after_steps {
            if s.step >= n {
                opts.stop.stop();
            }
        }
    }
    pb.finish_and_clear();
    let wall = start.elapsed().as_secs_f64();
    let state = backend.state().clone();
    if failure.is_some() {
        end_reason = "error";
    } else if !completed {
        end_reason = "interrupted";
    }
    let last = backend.scalars();
    sync_protocol(&mut out, &tracker, &last, end_code(end_reason));
    if failure.is_none() && !completed {
        // Interrupted: checkpoint exactly here so that resume continues from this step.
        out.publish(&state, true)?;
        say(&format!(
            "interrupted at t = {:.4} s (step {}); checkpoint written: resume with\n  lipf run --resume {}",
            state.time_s,
            state.step,
            out.path("checkpoint.h5").display()
        ));
    } else if failure.is_some() {
        // Keep the last good checkpoint; publish what was recorded up to the failure.
        out.publish(&state, false)?;
    }
    let steps = state.step - step0;
    let mut morphology_final = morphology_of(&state);
    // The tip's velocity of the last row, where that row is the final state.
    if let (Some(r), Some(m)) = (out.rows.last(), out.morph.last()) {
        if r.time_s == state.time_s {
            morphology_final.li_tip_velocity_um_s = m.li_tip_velocity_um_s;
        }
    }
    let morphology_initial = if resume_time.is_none() {
        out.morph.first().cloned()
    } else {
        // A resumed run keeps the t = 0 morphology its folder's summary recorded.
        previous_morphology_initial(&out.path("summary.json"))
    };
    let deposited = observables::li_amount_mol_m2(&coeffs, &state) - state.li_amount0_mol_m2;
    let li_in_electrolyte = observables::li_in_electrolyte_mol_m2(&coeffs, &state);
    // The time series starts at t = 0 (also on resume, where it is read back).
    let li_in_electrolyte0 = out
        .rows
        .first()
        .map_or(li_in_electrolyte, |r| r.li_in_electrolyte_mol_m2);
    let summary = RunSummary {
        name: config.name.clone(),
        lipf_version: lipf_core::VERSION.into(),
        backend: backend.name(),
        adapter,
        completed,
        steps: state.step,
        steps_this_run: steps,
        final_time_s: state.time_s,
        wall_time_s: wall,
        cells: state.cells(),
        cell_updates_per_second: state.cells() as f64 * steps as f64 / wall.max(1e-9),
        mean_solver_iterations_per_step: (state.solver_iterations_total - iters0) as f64
            / (steps.max(1)) as f64,
        mean_nernst_planck_iterations_per_step: backend
            .nernst_planck_iterations()
            .map(|n| n as f64 / steps.max(1) as f64),
        potential_solve_ms_per_step: backend
            .timings()
            .map(|t| 1e3 * t.potential_s / steps.max(1) as f64),
        other_ms_per_step: backend
            .timings()
            .map(|t| 1e3 * t.other_s / steps.max(1) as f64),
        faraday_balance_error: observables::faraday_error(&coeffs, &state),
        final_cell_voltage_v: state.v_collector,
        final_current_density_a_m2: state.current_density_a_m2,
        deposited_li_mol_m2: deposited,
        li_in_electrolyte_mol_m2: li_in_electrolyte,
        li_in_electrolyte_fraction: if deposited.abs() > 0.0 {
            (li_in_electrolyte - li_in_electrolyte0) / deposited.abs()
        } else {
            0.0
        },
        leakage_charge_c_m2: state.leakage_charge_c_m2,
        geometry,
        morphology_initial,
        morphology_final,
        end_reason: end_reason.into(),
        error: failure.clone(),
        stop: stop_event,
        protocol: tracker.as_ref().map(|p| ProtocolSummary {
            cycles_completed: protocol::cycles(&p.records, config.control.protocol.len(), 1.0)
                .iter()
                .filter(|c| c.complete)
                .count() as u64,
            segments_completed: p.records.len(),
            cycle: p.pos.cycle,
            segment: p.pos.segment,
            finished: p.finished(),
            last_current_density_a_m2: p.current_of(p.pos.cycle, p.pos.segment),
        }),
        outputs: [
            "fields.h5",
            "snapshots/",
            "fields.xdmf",
            "timeseries.csv",
            "voltage.png",
            "segments.csv",
            "cycles.csv",
            "checkpoint.h5",
            "images/",
            "morphology.gif",
            "summary.json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    };
    lipf_io::atomic::write_atomic(
        &out.path("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    // The working copy of fields.h5 is only needed while the run writes; a resume makes a new
    // one from the published file.
    #[cfg(feature = "hdf5")]
    if let Some(f) = out.fields.take() {
        f.finish()?;
    }
    if let Some(msg) = failure {
        bail!(
            "simulation stopped: {msg}\nThe outputs up to the last snapshot are in {}; the last good checkpoint is {}",
            out.dir.display(),
            out.path("checkpoint.h5").display()
        );
    }
    say(&format!(
        "{} {} steps in {:.1} s ({:.3e} cell updates/s); Faraday balance error {:.2e}; final cell voltage {:.5} V\noutput: {}",
        if completed { "done:" } else { "stopped:" },
        steps,
        wall,
        summary.cell_updates_per_second,
        summary.faraday_balance_error,
        summary.final_cell_voltage_v,
        out.dir.display()
    ));
    Ok(summary)
}

/// The end code of the checkpoint's `run_position` for an end reason.
fn end_code(reason: &str) -> f64 {
    match reason {
        "protocol_complete" => 1.0,
        "voltage_limit" => 2.0,
        "short_circuit" => 3.0,
        _ => 0.0,
    }
}

/// Copies the protocol's records and position (and the end code) into the outputs, for the
/// next publish; `s` is the sample the current segment's record runs to.
fn sync_protocol(out: &mut Outputs, tracker: &Option<Tracker>, s: &Scalars, code: f64) {
    out.position = vec![POSITION_VERSION, code, 0.0];
    if let Some(p) = tracker {
        out.position[2] = 1.0;
        out.position.extend(p.pos.to_vec());
        out.segments = p.records_with_current(s);
    }
}

/// Refuses a checkpoint whose run ended by a stop criterion that `config` still sets so that
/// it holds at the checkpoint (the run would stop again at once), or whose position this lipf
/// cannot read. A run ended by its protocol is checked where its protocol is resumed (it
/// continues when `config` allows more cycles).
fn check_position_resumable(
    position: Option<&[f64]>,
    state: &State,
    config: &Config,
) -> Result<()> {
    let Some(p) = position else {
        return Ok(());
    };
    if p.len() < 3 || p[0] != POSITION_VERSION {
        bail!(
            "its run_position (layout {:?}) is not one this lipf reads",
            p.first()
        );
    }
    let stop = config.control.stop.clone().unwrap_or_default();
    let v = state.v_collector;
    let why = match p[1] {
        0.0 | 1.0 => return Ok(()),
        2.0 => match stop.voltage_limit_v {
            Some(limit) if v.abs() > limit => format!(
                "|V| = {} V exceeded control.stop.voltage_limit_v = {limit} V; to continue, \
                 raise the limit above {} V or remove it",
                v.abs(),
                v.abs()
            ),
            _ => return Ok(()),
        },
        3.0 if stop.short_circuit => "Li connected the electrodes (control.stop.short_circuit); \
            to continue past the short circuit, set control.stop.short_circuit to false"
            .to_string(),
        3.0 => return Ok(()),
        _ => bail!("its run_position holds an unknown end code {}", p[1]),
    };
    bail!("the run ended at t = {} s: {why}", state.time_s)
}

/// The protocol of a resumed run: its position from the checkpoint and its ended segments
/// from `segments.csv`; a checkpoint without a position (written before positions were
/// stored) continues a protocol of fixed durations from its time alone.
fn resume_tracker(
    config: &Config,
    position: Option<&[f64]>,
    s: &Scalars,
    dir: &Path,
    t: f64,
) -> Result<Option<Tracker>> {
    if config.control.protocol.is_empty() {
        return Ok(None);
    }
    let Some(p) = position.filter(|p| p.len() > 3 && p[2] == 1.0) else {
        return match Tracker::derive(&config.control, s) {
            Some(tr) => Ok(Some(tr)),
            None => bail!(
                "the checkpoint holds no protocol position (written by an earlier lipf), and                  this protocol (ends by charge or voltage, repeat or ramp) cannot be derived                  from the time alone; start the run again"
            ),
        };
    };
    let pos = protocol::Position::from_slice(&p[3..])
        .context("the checkpoint's protocol position is malformed")?;
    let csv = dir.join("segments.csv");
    let records = if csv.is_file() {
        crate::cycles::read_segments_csv(&csv, t)?
    } else {
        Vec::new()
    };
    Tracker::resume(&config.control, pos, records)
        .context("the checkpoint's protocol position does not fit control.protocol")
        .map(Some)
}
