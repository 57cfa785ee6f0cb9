//! Interrupt and resume: on the CPU backend a resumed run ends bitwise equal to an
//! uninterrupted one, through the checkpoint file and the driver.

use super::cell_checks::smoke;
use lipf_core::{Backend, CpuBackend, StopFlag};

#[test]
fn backend_state_restored_mid_interval_continues_bitwise() {
    let mut cfg = smoke();
    // Several steps within the interval, so that the restore happens mid-interval.
    cfg.time.max_dt_s = Some(0.05);
    let stop = StopFlag::new();
    let mut a = CpuBackend::new(&cfg).unwrap();
    a.advance(cfg.time.end_time_s, &stop).unwrap();
    let end_a = a.state().clone();
    assert!(
        end_a.step > 10,
        "the run must take several steps ({})",
        end_a.step
    );

    let mut b = CpuBackend::new(&cfg).unwrap();
    for _ in 0..7 {
        b.step(cfg.time.end_time_s).unwrap();
    }
    let saved = b.state().clone();
    let mut c = CpuBackend::new(&cfg).unwrap();
    c.set_state(saved).unwrap();
    c.advance(cfg.time.end_time_s, &stop).unwrap();
    assert!(
        c.state() == &end_a,
        "resumed state differs from the uninterrupted one"
    );
}

#[cfg(feature = "hdf5")]
#[test]
fn run_interrupted_and_resumed_from_checkpoint_ends_bitwise_equal() {
    resume_through_checkpoint(smoke(), "plain");
}

/// The same with Li creep: the Li that left through the collector (`li_extruded_m`) is part of
/// the checkpoint and of its checksum.
#[cfg(feature = "hdf5")]
#[test]
fn run_with_creep_interrupted_and_resumed_from_checkpoint_ends_bitwise_equal() {
    let mut cfg = smoke();
    cfg.creep.enabled = true;
    resume_through_checkpoint(cfg, "creep");
}

#[cfg(feature = "hdf5")]
pub(crate) fn resume_through_checkpoint(mut cfg: lipf_core::Config, tag: &str) {
    let dir = std::env::temp_dir().join(format!("lipf-resume-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    cfg.output.images = false;
    let opts =
        |out: &str, resume: Option<std::path::PathBuf>, stop_after: Option<u64>| lipf::RunOptions {
            config: cfg.clone(),
            out_dir: dir.join(out),
            resume,
            overwrite: false,
            quiet: true,
            stop: StopFlag::new(),
            stop_after_steps: stop_after,
        };
    let full = lipf::run(opts("full", None, None)).unwrap();
    assert!(full.completed);
    assert!(
        full.steps > 10,
        "the run must take several steps ({})",
        full.steps
    );
    let part = lipf::run(opts("split", None, Some(7))).unwrap();
    assert!(!part.completed && part.final_time_s < cfg.time.end_time_s);
    let ckpt = dir.join("split").join("checkpoint.h5");
    let resumed = lipf::run(opts("split", Some(ckpt), None)).unwrap();
    assert!(resumed.completed);
    let (a, _) = lipf_io::h5::read_checkpoint(&dir.join("full").join("checkpoint.h5")).unwrap();
    let (b, _) = lipf_io::h5::read_checkpoint(&dir.join("split").join("checkpoint.h5")).unwrap();
    assert_eq!(a.step, b.step);
    assert!(
        a == b,
        "resumed final state differs from the uninterrupted one"
    );
    if cfg.creep.enabled {
        assert!(
            a.li_extruded_m != 0.0,
            "creep moved no Li through the collector"
        );
    }
    // The published files agree too: same snapshots and time series.
    let ta = std::fs::read_to_string(dir.join("full").join("timeseries.csv")).unwrap();
    let tb = std::fs::read_to_string(dir.join("split").join("timeseries.csv")).unwrap();
    assert_eq!(ta, tb);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Snapshots live in their own files behind external links: publishing fields.h5 never copies
/// them, its size does not grow with their number, the working copy is gone when the run ends,
/// and every snapshot reads back through fields.h5.
#[cfg(feature = "hdf5")]
#[test]
fn snapshots_are_linked_files_and_fields_h5_stays_small() {
    let dir = std::env::temp_dir().join(format!("lipf-snapfiles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = smoke();
    cfg.output.images = false;
    let run = |snap: f64, out: &str| {
        let mut c = cfg.clone();
        c.output.snapshot_interval_s = snap;
        lipf::run(lipf::RunOptions {
            config: c,
            out_dir: dir.join(out),
            resume: None,
            overwrite: false,
            quiet: true,
            stop: StopFlag::new(),
            stop_after_steps: None,
        })
        .unwrap()
    };
    run(1.0, "few");
    let last = run(0.1, "many");
    let size = |out: &str| {
        std::fs::metadata(dir.join(out).join("fields.h5"))
            .unwrap()
            .len()
    };
    let count = |out: &str| {
        std::fs::read_dir(dir.join(out).join("snapshots"))
            .unwrap()
            .count()
    };
    assert_eq!(count("few"), 3);
    assert_eq!(count("many"), 21);
    assert!(
        (size("many") as f64) < 1.5 * size("few") as f64,
        "fields.h5 grows with the snapshots: {} vs {} bytes",
        size("many"),
        size("few")
    );
    for out in ["few", "many"] {
        assert!(!dir.join(out).join(".fields.h5.work").exists());
    }
    let fields = dir.join("many").join("fields.h5");
    let (ny, nx, xi) = lipf_io::h5::read_dataset_f32(&fields, "snapshots/000020/xi").unwrap();
    let (state, _) = lipf_io::h5::read_checkpoint(&dir.join("many").join("checkpoint.h5")).unwrap();
    assert_eq!((ny, nx), (state.grid.ny, state.grid.nx));
    assert!(xi.iter().zip(&state.xi).all(|(a, b)| *a == *b as f32));
    assert_eq!(last.final_time_s, state.time_s);
    let _ = std::fs::remove_dir_all(&dir);
}
