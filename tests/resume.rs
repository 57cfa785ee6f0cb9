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
    let dir = std::env::temp_dir().join(format!("lipf-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = smoke();
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
    // The published files agree too: same snapshots and time series.
    let ta = std::fs::read_to_string(dir.join("full").join("timeseries.csv")).unwrap();
    let tb = std::fs::read_to_string(dir.join("split").join("timeseries.csv")).unwrap();
    assert_eq!(ta, tb);
    let _ = std::fs::remove_dir_all(&dir);
}
