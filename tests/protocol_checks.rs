//! Galvanostatic protocols (`control.protocol`): the run applies each segment's current for
//! exactly its duration, a plating/stripping cycle returns the charge and the Li, and a run
//! resumed in the middle of a protocol continues bitwise.

use super::cell_checks::smoke;
use lipf_core::config::ProtocolSegment;
use lipf_core::{Config, StopFlag};

/// The smoke case cycled: 1 s plating at 2 A/m², 1 s stripping at −2 A/m², twice, samples
/// every 0.25 s.
fn cycled() -> Config {
    let mut cfg = smoke();
    cfg.output.images = false;
    cfg.output.timeseries_interval_s = 0.25;
    cfg.output.snapshot_interval_s = 1.0;
    cfg.control.protocol = vec![
        ProtocolSegment::galvanostatic(2.0, 1.0),
        ProtocolSegment::galvanostatic(-2.0, 1.0),
    ];
    cfg.time.end_time_s = 4.0;
    // No electronic leakage: the whole current is ionic, so nF ΔLi is the charge itself.
    cfg.material.electrolyte_electronic_conductivity_s_m = 0.0;
    cfg.validate().unwrap();
    cfg
}

#[test]
fn protocol_current_follows_its_segments() {
    let c = cycled().control;
    for (t, i) in [
        (0.0, 2.0),
        (0.999, 2.0),
        (1.0, -2.0),
        (1.5, -2.0),
        (2.0, 2.0),
        (3.999_999, -2.0),
        (4.0, 2.0),
    ] {
        assert_eq!(c.current_density_at(t), i, "t = {t} s");
    }
    assert_eq!(c.next_change_after(0.0), Some(1.0));
    assert_eq!(c.next_change_after(1.0), Some(2.0));
    assert_eq!(c.next_change_after(2.5), Some(3.0));
    // A protocol needs galvanostatic control.
    let mut bad = cycled();
    bad.control.mode = lipf_core::config::ControlMode::Potentiostatic;
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("control.protocol"), "{e}");
}

fn run(cfg: &Config, dir: &std::path::Path, stop_after: Option<u64>) -> lipf::RunSummary {
    lipf::run(lipf::RunOptions {
        config: cfg.clone(),
        out_dir: dir.to_path_buf(),
        resume: None,
        overwrite: true,
        quiet: true,
        stop: StopFlag::new(),
        stop_after_steps: stop_after,
    })
    .unwrap()
}

/// Every sample inside a segment carries that segment's current (galvanostatic control holds
/// it to the solver's tolerance); after each full cycle the net charge is 0 and the Li is back
/// to its amount at t = 0 within the Faraday tolerance of the throughput, with nF ΔLi equal to
/// the ionic charge at every sample.
#[cfg(feature = "hdf5")]
#[test]
fn a_plating_stripping_cycle_returns_charge_and_li() {
    let dir = std::env::temp_dir().join(format!("lipf-protocol-{}", std::process::id()));
    let cfg = cycled();
    let summary = run(&cfg, &dir.join("full"), None);
    assert!(summary.completed);
    let text = std::fs::read_to_string(dir.join("full").join("timeseries.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (ct, ci, cq, cl) = (
        col("time_s"),
        col("current_density_a_m2"),
        col("charge_c_m2"),
        col("li_amount_mol_m2"),
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .map(|v| v.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let li0 = rows[0][cl];
    // nF from CODATA (charge number 1), not from the code under test.
    assert_eq!(cfg.material.charge_number, 1.0);
    let nf = 96_485.332_12;
    let throughput = 4.0 * 2.0;
    for r in &rows[1..] {
        let t = r[ct];
        // The current of the step that ended at t: the segment that holds t − 1 µs.
        let expected = cfg.control.current_density_at(t - 1e-6);
        assert!(
            (r[ci] / expected - 1.0).abs() < 1e-6,
            "t = {t} s: current {} A/m², protocol {expected}",
            r[ci]
        );
        let err = (nf * (r[cl] - li0) - r[cq]).abs() / throughput;
        assert!(err < 1e-5, "t = {t} s: Faraday {err:.2e} of the throughput");
    }
    for cycle_end in [2.0, 4.0] {
        let r = rows
            .iter()
            .find(|r| (r[ct] - cycle_end).abs() < 1e-9)
            .expect("a sample at the end of each cycle");
        assert!(
            r[cq].abs() < 1e-9 * throughput,
            "net charge {} C/m² after the cycle ending at {cycle_end} s",
            r[cq]
        );
        assert!(
            (nf * (r[cl] - li0)).abs() < 1e-5 * throughput,
            "Li after the cycle ending at {cycle_end} s differs by {} C/m²",
            nf * (r[cl] - li0)
        );
    }
    eprintln!(
        "cycled smoke case: {} steps, Faraday error {:.2e} of the throughput",
        summary.steps, summary.faraday_balance_error
    );
    assert!(summary.faraday_balance_error < 1e-5);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A cycled run stopped inside a stripping segment and resumed from its checkpoint ends bitwise
/// equal to the uninterrupted run.
#[cfg(feature = "hdf5")]
#[test]
fn a_protocol_resumed_mid_segment_continues_bitwise() {
    let dir = std::env::temp_dir().join(format!("lipf-protocol-resume-{}", std::process::id()));
    let mut cfg = cycled();
    cfg.time.max_dt_s = Some(0.1);
    run(&cfg, &dir.join("full"), None);
    // 14 steps of ≤ 0.1 s: inside the first stripping segment.
    let part = run(&cfg, &dir.join("split"), Some(14));
    assert!(
        part.final_time_s > 1.0 && part.final_time_s < 2.0,
        "{}",
        part.final_time_s
    );
    let resumed = lipf::run(lipf::RunOptions {
        config: cfg.clone(),
        out_dir: dir.join("split"),
        resume: Some(dir.join("split").join("checkpoint.h5")),
        overwrite: false,
        quiet: true,
        stop: StopFlag::new(),
        stop_after_steps: None,
    })
    .unwrap();
    assert!(resumed.completed);
    let (a, _) = lipf_io::h5::read_checkpoint(&dir.join("full").join("checkpoint.h5")).unwrap();
    let (b, _) = lipf_io::h5::read_checkpoint(&dir.join("split").join("checkpoint.h5")).unwrap();
    assert!(
        a == b,
        "resumed final state differs from the uninterrupted one"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
