//! Extending a finished run and restarting with a changed configuration (`lipf run --resume`
//! with a later end time, more cycles, other output settings; lipf_core::restart): on the CPU
//! backend a run to T1 extended to T2 ends bitwise equal to a run straight to T2 when T1 is an
//! output event of both, and a change that alters the simulation is refused by name.
#![cfg(feature = "hdf5")]

use super::cell_checks::smoke;
use lipf_core::config::{ProtocolSegment, SegmentKind, StopCriteria};
use lipf_core::{Config, StopFlag};
use std::path::{Path, PathBuf};

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lipf-extend-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(cfg: &Config, out: &Path, resume: bool) -> anyhow::Result<lipf::RunSummary> {
    run_with(cfg, out, resume, false)
}

/// [`run`], a fresh one replacing the folder's contents when `overwrite`.
fn run_with(
    cfg: &Config,
    out: &Path,
    resume: bool,
    overwrite: bool,
) -> anyhow::Result<lipf::RunSummary> {
    lipf::run(lipf::RunOptions {
        config: cfg.clone(),
        out_dir: out.to_path_buf(),
        resume: resume.then(|| out.join("checkpoint.h5")),
        overwrite,
        quiet: true,
        stop: StopFlag::new(),
        stop_after_steps: None,
    })
}

/// The smoke case without images, with steps shorter than the sample interval (so that steps
/// are cut to land on the events) and `end` s long.
fn base(end: f64) -> Config {
    let mut cfg = smoke();
    cfg.output.images = false;
    cfg.time.max_dt_s = Some(0.03);
    cfg.time.end_time_s = end;
    cfg
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn snapshot_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("snapshots")).unwrap().count()
}

/// Final checkpoint states are equal (`==` on every field and scalar), and so are the time
/// series, the snapshot count and the step count.
fn assert_same_run(a: &Path, b: &Path) {
    let (sa, _) = lipf_io::h5::read_checkpoint(&a.join("checkpoint.h5")).unwrap();
    let (sb, _) = lipf_io::h5::read_checkpoint(&b.join("checkpoint.h5")).unwrap();
    assert_eq!((sa.step, sa.time_s), (sb.step, sb.time_s));
    assert!(sa == sb, "the extended run's final state differs");
    assert_eq!(
        read(&a.join("timeseries.csv")),
        read(&b.join("timeseries.csv")),
        "time series differ"
    );
    assert_eq!(snapshot_files(a), snapshot_files(b));
}

#[test]
fn a_finished_run_extended_to_a_later_end_time_ends_bitwise_equal_to_a_straight_run() {
    let dir = temp("end-time");
    let (t1, t2) = (1.0, 2.0); // t1: a multiple of the snapshot (1 s) and sample (0.1 s) intervals
    let first = run(&base(t1), &dir.join("extended"), false).unwrap();
    assert_eq!((first.completed, first.final_time_s), (true, t1));
    let ext = run(&base(t2), &dir.join("extended"), true).unwrap();
    assert!(ext.completed && ext.end_reason == "end_time");
    assert_eq!(ext.steps, first.steps + ext.steps_this_run);
    let straight = run(&base(t2), &dir.join("straight"), false).unwrap();
    assert!(straight.steps > 50, "too few steps ({})", straight.steps);
    assert_eq!(ext.steps, straight.steps);
    assert_same_run(&dir.join("extended"), &dir.join("straight"));
    assert_eq!(snapshot_files(&dir.join("extended")), 3);
    // The summary keeps the t = 0 morphology (a study report compares the final one with it).
    // (Read back from JSON: NaN was written as null, and the last bit may differ.)
    let (e0, s0) = (
        ext.morphology_initial
            .expect("the extended run's t = 0 morphology"),
        straight.morphology_initial.unwrap(),
    );
    for (a, b) in e0.columns().iter().zip(s0.columns()) {
        assert!(
            (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12 * b.abs(),
            "{e0:?} against {s0:?}"
        );
    }
    // fields.h5 carries the configuration the run was extended with.
    let json =
        lipf_io::h5::read_root_attr_str(&dir.join("extended").join("fields.h5"), "config_json")
            .unwrap();
    assert_eq!(Config::from_json_str(&json).unwrap().time.end_time_s, t2);
    // The checkpoint now stores t2: the same configuration again has nothing left to do.
    let e = format!(
        "{:#}",
        run(&base(t2), &dir.join("extended"), true).unwrap_err()
    );
    assert!(
        e.contains("time.end_time_s") && e.contains("later end time"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_extension_that_changes_the_grid_or_the_material_is_refused_by_name() {
    let dir = temp("refused");
    let out = dir.join("run");
    run(&base(0.5), &out, false).unwrap();
    let before = read(&out.join("timeseries.csv"));
    let mut grid = base(1.0);
    grid.domain.grid_spacing_um = 0.5;
    let e = format!("{:#}", run(&grid, &out, true).unwrap_err());
    assert!(
        e.contains("domain.grid_spacing_um: 0.25 in the checkpoint, 0.5 given"),
        "{e}"
    );
    assert!(
        e.contains("time.end_time_s") && e.contains("output.*"),
        "{e}"
    );
    let mut material = base(1.0);
    material.material.llzo_conductivity_s_m *= 2.0;
    material.noise.amplitude += 0.01;
    let e = format!("{:#}", run(&material, &out, true).unwrap_err());
    assert!(e.contains("2 field(s)"), "{e}");
    assert!(e.contains("material.llzo_conductivity_s_m: "), "{e}");
    assert!(e.contains("noise.amplitude: "), "{e}");
    assert!(
        !e.contains("time.end_time_s: "),
        "an admitted change is not listed: {e}"
    );
    // Refused before anything is written.
    assert_eq!(read(&out.join("timeseries.csv")), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_extension_with_another_output_interval_is_accepted_and_numbers_on() {
    let dir = temp("output");
    let out = dir.join("run");
    run(&base(1.0), &out, false).unwrap();
    let mut cfg = base(2.0);
    cfg.output.snapshot_interval_s = 0.25;
    cfg.output.timeseries_interval_s = 0.05;
    cfg.limits.max_steps *= 2.0;
    let ext = run(&cfg, &out, true).unwrap();
    assert!(ext.completed && ext.final_time_s == 2.0);
    // 0, 1 s before; 1.25, 1.5, 1.75, 2 s after.
    assert_eq!(snapshot_files(&out), 6);
    let snaps = lipf_io::h5::read_snapshot_list(&out.join("fields.h5")).unwrap();
    let names: Vec<&str> = snaps.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        ["000000", "000001", "000002", "000003", "000004", "000005"]
    );
    let times: Vec<f64> = snaps.iter().map(|s| s.2).collect();
    assert_eq!(times, [0.0, 1.0, 1.25, 1.5, 1.75, 2.0]);
    assert!(snaps.windows(2).all(|w| w[0].1 < w[1].1), "{snaps:?}");
    // 11 samples to 1 s every 0.1 s, then 20 every 0.05 s.
    let rows = read(&out.join("timeseries.csv")).lines().count() - 1;
    assert_eq!(rows, 31);
    let _ = std::fs::remove_dir_all(&dir);
}

/// +2 A/m² until 1/72000 mAh/cm² (0.5 C/m², 0.25 s), a 0.125 s rest, −2 A/m² for 0.25 s, repeated
/// `cycles` times. The first segment ends by its charge, so a cycle that starts on a resume
/// must compute its expected end from the checkpoint.
fn cycling(cycles: u64) -> Config {
    let mut cfg = base(100.0);
    cfg.control.protocol = vec![
        ProtocolSegment {
            current_density_a_m2: Some(2.0),
            capacity_mah_cm2: Some(1.0 / 72000.0),
            ..Default::default()
        },
        ProtocolSegment {
            kind: SegmentKind::Rest,
            duration_s: Some(0.125),
            ..Default::default()
        },
        ProtocolSegment {
            current_density_a_m2: Some(-2.0),
            duration_s: Some(0.25),
            ..Default::default()
        },
    ];
    cfg.control.repeat = Some(cycles);
    // Samples and snapshots at the cycle ends only: the charge-limited segment ends off them.
    cfg.output.timeseries_interval_s = 0.625;
    cfg.output.snapshot_interval_s = 0.625;
    cfg.validate().unwrap();
    cfg
}

#[test]
fn a_protocol_that_ran_its_cycles_continues_with_more_and_ends_bitwise_equal() {
    let dir = temp("repeat");
    let out = dir.join("extended");
    let first = run(&cycling(2), &out, false).unwrap();
    assert_eq!(first.end_reason, "protocol_complete");
    assert!(
        (first.final_time_s - 1.25).abs() < 1e-9,
        "{}",
        first.final_time_s
    );
    let e = format!("{:#}", run(&cycling(2), &out, true).unwrap_err());
    assert!(e.contains("control.repeat"), "{e}");
    let e = format!("{:#}", run(&cycling(1), &out, true).unwrap_err());
    assert!(e.contains("not remove them"), "{e}");
    let ext = run(&cycling(3), &out, true).unwrap();
    assert_eq!(ext.end_reason, "protocol_complete");
    assert_eq!(ext.protocol.as_ref().unwrap().cycles_completed, 3);
    let straight = run(&cycling(3), &dir.join("straight"), false).unwrap();
    assert_eq!(ext.steps, straight.steps);
    // The charge-limited segment ends at 0.25 s exactly (0.5 C/m² at 2 A/m²), so the first
    // run's end, 1.25 s, is a sample and snapshot time of the straight run too.
    assert_same_run(&out, &dir.join("straight"));
    for f in ["segments.csv", "cycles.csv"] {
        assert_eq!(
            read(&out.join(f)),
            read(&dir.join("straight").join(f)),
            "{f} differs"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_stopped_by_its_voltage_limit_continues_only_past_a_raised_limit() {
    let dir = temp("stop");
    let out = dir.join("run");
    let mut cfg = base(2.0);
    let limit = |v: f64| {
        Some(StopCriteria {
            voltage_limit_v: Some(v),
            short_circuit: false,
        })
    };
    cfg.control.stop = limit(0.006);
    let first = run(&cfg, &out, false).unwrap();
    assert_eq!(first.end_reason, "voltage_limit");
    assert!(first.final_time_s < 1.0, "{}", first.final_time_s);
    let e = format!("{:#}", run(&cfg, &out, true).unwrap_err());
    assert!(e.contains("control.stop.voltage_limit_v"), "{e}");
    cfg.control.stop = limit(0.009);
    let ext = run(&cfg, &out, true).unwrap();
    assert_eq!(ext.end_reason, "end_time");
    assert_eq!(ext.final_time_s, 2.0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run stopped by a short circuit (Li from the foil to the top of a capless scaffold)
/// continues only with the criterion off: resumed as it was it is refused naming
/// `control.stop.short_circuit`; with the criterion off it runs to its end time from the step
/// where it stopped (step counts continue).
#[test]
fn a_run_stopped_by_a_short_circuit_continues_only_with_the_criterion_off() {
    let dir = temp("short");
    let out = dir.join("run");
    let mut cfg = base(0.5);
    cfg.geometry.dense_cap_thickness_um = 0.0;
    cfg.geometry.impregnation_depth_um = cfg.domain.height_um - cfg.geometry.li_foil_thickness_um;
    let criterion = |on: bool| {
        Some(StopCriteria {
            voltage_limit_v: None,
            short_circuit: on,
        })
    };
    cfg.control.stop = criterion(true);
    cfg.validate().unwrap();
    let first = run(&cfg, &out, false).unwrap();
    assert_eq!(first.end_reason, "short_circuit");
    assert!(first.final_time_s < 0.5, "{}", first.final_time_s);
    let e = format!("{:#}", run(&cfg, &out, true).unwrap_err());
    assert!(e.contains("control.stop.short_circuit"), "{e}");
    cfg.control.stop = criterion(false);
    let ext = run(&cfg, &out, true).unwrap();
    assert_eq!(ext.end_reason, "end_time");
    assert_eq!(ext.final_time_s, 0.5);
    assert_eq!(ext.steps, first.steps + ext.steps_this_run);
    assert!(ext.steps_this_run > 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One run per folder: while another process holds the folder's lock (as a running `lipf run`
/// does), a fresh run with --overwrite and a resume into it are refused by name and leave its
/// files alone; once the lock is released the resume proceeds.
#[test]
fn a_run_folder_in_use_by_another_run_is_refused() {
    let dir = temp("locked");
    let out = dir.join("run");
    run(&base(0.5), &out, false).unwrap();
    let before = read(&out.join("timeseries.csv"));
    let holder = lipf::run::lock_run_dir(&out)
        .unwrap()
        .expect("a lock on this file system");
    let e = format!("{:#}", run(&base(1.0), &out, true).unwrap_err());
    assert!(e.contains("another lipf run is writing"), "{e}");
    let e = format!("{:#}", run_with(&base(0.5), &out, false, true).unwrap_err());
    assert!(e.contains("another lipf run is writing"), "{e}");
    assert_eq!(
        read(&out.join("timeseries.csv")),
        before,
        "the folder was touched"
    );
    drop(holder);
    let ext = run(&base(1.0), &out, true).unwrap();
    assert_eq!(ext.final_time_s, 1.0);
    let _ = std::fs::remove_dir_all(&dir);
}
