//! Galvanostatic protocols (`control.protocol`): the run applies each segment's current for
//! exactly its duration, a plating/stripping cycle returns the charge and the Li, and a run
//! resumed in the middle of a protocol continues bitwise.

use super::cell_checks::smoke;
use lipf_core::config::ProtocolSegment;
use lipf_core::{Backend, Config, StopFlag};

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
    let (a, _) = lipf_io::h5::read_checkpoint(&dir.join("full").join("checkpoint.h5")).unwrap();
    // 14 steps of ≤ 0.1 s: inside the first stripping segment.
    assert_resumes_to(&cfg, &dir.join("split"), 14, (1.0, 2.0), &a);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `cfg` into `dir` for `steps` steps (the stop must fall inside `window` s), resumes it
/// from its checkpoint to the end and asserts the final state equals `full`, bitwise.
#[cfg(feature = "hdf5")]
fn assert_resumes_to(
    cfg: &Config,
    dir: &std::path::Path,
    steps: u64,
    window: (f64, f64),
    full: &lipf_core::State,
) {
    let part = run(cfg, dir, Some(steps));
    assert!(
        part.final_time_s > window.0 && part.final_time_s < window.1,
        "stopped at {} s",
        part.final_time_s
    );
    let resumed = lipf::run(lipf::RunOptions {
        config: cfg.clone(),
        out_dir: dir.to_path_buf(),
        resume: Some(dir.join("checkpoint.h5")),
        overwrite: false,
        quiet: true,
        stop: StopFlag::new(),
        stop_after_steps: None,
    })
    .unwrap();
    assert!(resumed.completed);
    let (b, _) = lipf_io::h5::read_checkpoint(&dir.join("checkpoint.h5")).unwrap();
    assert!(
        *full == b,
        "resumed final state differs from the uninterrupted one"
    );
}

fn csv_rows(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<f64> {
    let k = header.iter().position(|h| h == name).unwrap();
    rows.iter().map(|r| r[k].parse().unwrap()).collect()
}

/// The smoke case cycled symmetrically by charge: +2 A/m² until `q` mAh/cm², a 0.25 s rest,
/// −2 A/m² until `q`, `cycles` times; no electronic leakage (the whole current plates).
fn capacity_cycled(q: f64, cycles: u64) -> Config {
    let mut cfg = cycled();
    cfg.control.protocol = vec![
        ProtocolSegment {
            current_density_a_m2: Some(2.0),
            capacity_mah_cm2: Some(q),
            ..Default::default()
        },
        ProtocolSegment {
            kind: lipf_core::config::SegmentKind::Rest,
            duration_s: Some(0.25),
            ..Default::default()
        },
        ProtocolSegment {
            current_density_a_m2: Some(-2.0),
            capacity_mah_cm2: Some(q),
            ..Default::default()
        },
    ];
    cfg.control.repeat = Some(cycles);
    cfg.time.end_time_s = 100.0;
    cfg.validate().unwrap();
    cfg
}

/// Symmetric cycling by charge ends every charge-limited segment at its capacity (to 1e-9 of
/// it, far inside one step's charge), runs the rest at zero current, ends the run when the
/// cycles are done, and returns the Li in the fields to its start: per cycle nF ΔLi is within
/// 1e-4 of the plated charge (measured 1.06e-5 and 1.08e-5: the model's Faraday balance; the
/// per-segment Li follows the charge to the same order).
#[cfg(feature = "hdf5")]
#[test]
fn symmetric_cycling_by_charge_returns_the_li_and_ends_at_the_capacity() {
    let dir = std::env::temp_dir().join(format!("lipf-protocol-cap-{}", std::process::id()));
    let q = 3e-5; // mAh/cm² = 1.08 C/m², 0.54 s at 2 A/m²
    let mut cfg = capacity_cycled(q, 2);
    cfg.time.max_dt_s = Some(0.1);
    let summary = run(&cfg, &dir, None);
    assert!(summary.completed);
    assert_eq!(summary.end_reason, "protocol_complete");
    let (h, rows) = csv_rows(&dir.join("segments.csv"));
    assert_eq!(rows.len(), 6, "two cycles of three segments");
    let charge = column(&h, &rows, "charge_mah_cm2");
    let current = column(&h, &rows, "current_density_a_m2");
    let duration = column(&h, &rows, "duration_s");
    let li = column(&h, &rows, "li_change_mol_m2");
    let ends: Vec<&str> = rows.iter().map(|r| r[10].as_str()).collect();
    let nf = 96_485.332_12;
    for k in 0..6 {
        if k % 3 == 1 {
            assert_eq!(current[k], 0.0);
            assert!(
                charge[k].abs() < 1e-12 * q,
                "rest passed {} mAh/cm²",
                charge[k]
            );
            assert_eq!(ends[k], "duration");
            continue;
        }
        assert_eq!(ends[k], "capacity");
        // One step's charge at the step limit: 2 A/m² × 0.1 s = 0.2 C/m² = 5.6e-6 mAh/cm².
        let step_charge = 2.0 * 0.1 / 3.6e4;
        let err = (charge[k].abs() - q).abs();
        assert!(
            err < 1e-9 * q && err < step_charge,
            "segment {k}: {} mAh/cm²",
            charge[k]
        );
        assert!((duration[k] - 0.54).abs() < 1e-9, "{}", duration[k]);
        // The Li follows the charge (nF ΔLi against the segment's charge).
        let dq = nf * li[k] / 3.6e4;
        assert!(
            (dq - charge[k]).abs() < 1e-4 * q,
            "segment {k}: {dq} vs {}",
            charge[k]
        );
    }
    let (hc, cyc) = csv_rows(&dir.join("cycles.csv"));
    assert_eq!(cyc.len(), 2);
    let plated = column(&hc, &cyc, "plated_mah_cm2");
    let ce = column(&hc, &cyc, "coulombic_efficiency");
    let dli = column(&hc, &cyc, "li_change_mah_cm2");
    for c in 0..2 {
        assert!((plated[c] - q).abs() < 1e-9 * q);
        assert!((ce[c] - 1.0).abs() < 1e-8, "Coulombic efficiency {}", ce[c]);
        let rel = dli[c].abs() / plated[c];
        eprintln!("cycle {c}: Li after the cycle differs by {rel:.2e} of the plated charge");
        assert!(
            rel < 1e-4,
            "cycle {c}: Li changed by {rel:.2e} of the plated charge"
        );
    }
    let p = summary.protocol.as_ref().unwrap();
    assert!(p.finished && p.cycles_completed == 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A protocol with charge-limited segments, a rest and a voltage-limited stripping segment,
/// stopped mid-protocol and resumed, ends bitwise equal to the uninterrupted run, with the same
/// segment and cycle tables.
#[cfg(feature = "hdf5")]
#[test]
fn a_protocol_with_charge_and_voltage_ends_resumes_bitwise() {
    let dir = std::env::temp_dir().join(format!("lipf-protocol-resume2-{}", std::process::id()));
    let mut cfg = capacity_cycled(3e-5, 2);
    cfg.control.protocol[2].capacity_mah_cm2 = None;
    cfg.control.protocol[2].duration_s = Some(1.5);
    cfg.control.protocol[2].voltage_limit_v = Some(0.0016);
    cfg.time.max_dt_s = Some(0.1);
    let full = run(&cfg, &dir.join("full"), None);
    assert_eq!(full.end_reason, "protocol_complete");
    let (h, rows) = csv_rows(&dir.join("full").join("segments.csv"));
    let ends: Vec<&str> = rows.iter().map(|r| r[10].as_str()).collect();
    assert!(ends.contains(&"voltage_limit"), "{ends:?}");
    let v_end = column(&h, &rows, "end_voltage_v");
    for (k, e) in ends.iter().enumerate() {
        if *e == "voltage_limit" {
            assert!(v_end[k] >= 0.0016, "{}", v_end[k]);
        }
    }
    // Stop inside the second cycle's stripping segment (after the first voltage-limited end).
    let split = dir.join("split");
    let part = run(&cfg, &split, Some(full.steps * 3 / 4));
    assert!(!part.completed && part.final_time_s < full.final_time_s);
    let resumed = lipf::run(lipf::RunOptions {
        config: cfg.clone(),
        out_dir: split.clone(),
        resume: Some(split.join("checkpoint.h5")),
        overwrite: false,
        quiet: true,
        stop: StopFlag::new(),
        stop_after_steps: None,
    })
    .unwrap();
    assert_eq!(resumed.end_reason, "protocol_complete");
    let (a, _) = lipf_io::h5::read_checkpoint(&dir.join("full").join("checkpoint.h5")).unwrap();
    let (b, _) = lipf_io::h5::read_checkpoint(&split.join("checkpoint.h5")).unwrap();
    assert!(
        a == b,
        "resumed final state differs from the uninterrupted one"
    );
    for f in ["segments.csv", "cycles.csv"] {
        let x = std::fs::read_to_string(dir.join("full").join(f)).unwrap();
        let y = std::fs::read_to_string(split.join(f)).unwrap();
        assert_eq!(x, y, "{f} differs after the resume");
    }
    // The run ended by its protocol: it continues only with more cycles (tests/extend.rs).
    let again = lipf::run(lipf::RunOptions {
        config: cfg.clone(),
        out_dir: split.clone(),
        resume: Some(split.join("checkpoint.h5")),
        overwrite: false,
        quiet: true,
        stop: StopFlag::new(),
        stop_after_steps: None,
    });
    let e = format!("{:#}", again.unwrap_err());
    assert!(
        e.contains("ran all its cycles") && e.contains("control.repeat"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The short-circuit test on hand-built ξ fields: a straight column of Li, a staircase joined
/// only through edges, a path that crosses the periodic x boundary; and none when one cell of
/// the column is cut, when the path is joined only at corners, or without foil contact.
#[test]
fn short_circuit_needs_a_4_connected_li_path_from_bottom_to_top() {
    use lipf_core::protocol::short_circuit;
    let mut cfg = smoke();
    cfg.model.equilibration_time_s = 0.0;
    let mut st = lipf_core::initial::initial_state(&cfg).unwrap().state;
    let g = st.grid;
    let (nx, ny) = (g.nx, g.ny);
    let dx_um = g.dx_m * 1e6;
    let clear = |st: &mut lipf_core::State| st.xi.iter_mut().for_each(|x| *x = 0.0);
    // The built state (foil, channels filled 2 µm, 3 µm cap) has no path.
    assert_eq!(short_circuit(&st), None);
    clear(&mut st);
    for j in 0..ny {
        st.xi[j * nx + 7] = 0.9;
    }
    let sc = short_circuit(&st).expect("a column of Li");
    assert_eq!(sc.top_cells, 1);
    assert!((sc.x_um - 7.5 * dx_um).abs() < 1e-9, "{}", sc.x_um);
    // ξ = 0.5 exactly is not Li (ξ > ½).
    st.xi[(ny / 2) * nx + 7] = 0.5;
    assert_eq!(short_circuit(&st), None);
    // A staircase: each row's cell touches the next row's by an edge.
    clear(&mut st);
    for j in 0..ny {
        st.xi[j * nx + (j / 2) % nx] = 1.0;
        st.xi[j * nx + j.div_ceil(2) % nx] = 1.0;
    }
    assert!(short_circuit(&st).is_some());
    // A diagonal joined only at corners is not 4-connected.
    clear(&mut st);
    for j in 0..ny {
        st.xi[j * nx + j % nx] = 1.0;
    }
    assert_eq!(short_circuit(&st), None);
    // Across the periodic boundary: column 0 below, column nx − 1 above, joined through x.
    clear(&mut st);
    for j in 0..ny {
        st.xi[j * nx + if j < ny / 2 { 0 } else { nx - 1 }] = 1.0;
    }
    assert_eq!(short_circuit(&st), None, "joined only at a corner");
    st.xi[(ny / 2) * nx] = 1.0;
    let sc = short_circuit(&st).expect("joined across x = 0");
    assert!((sc.x_um - (nx as f64 - 0.5) * dx_um).abs() < 1e-9);
    // Li in the top rows only, not reaching the collector row.
    clear(&mut st);
    for j in 1..ny {
        st.xi[j * nx + 3] = 1.0;
    }
    assert_eq!(short_circuit(&st), None);
}

/// In a run, the short circuit fires when the channels hold Li from the foil to the top of the
/// domain (no cap), at the first sample, at a channel's x; the smoke case with its cap does not.
#[cfg(feature = "hdf5")]
#[test]
fn a_run_stops_on_a_short_circuit_only_when_li_joins_the_electrodes() {
    let dir = std::env::temp_dir().join(format!("lipf-protocol-short-{}", std::process::id()));
    let mut cfg = smoke();
    cfg.output.images = false;
    cfg.time.end_time_s = 0.5;
    cfg.control.stop = Some(lipf_core::config::StopCriteria {
        voltage_limit_v: None,
        short_circuit: true,
    });
    let ok = run(&cfg, &dir.join("capped"), None);
    assert_eq!(ok.end_reason, "end_time");
    assert!(ok.stop.is_none() && ok.final_time_s == 0.5);
    // No cap, Li impregnated through the whole scaffold: channels of Li from foil to top.
    cfg.geometry.dense_cap_thickness_um = 0.0;
    cfg.geometry.impregnation_depth_um = cfg.domain.height_um - cfg.geometry.li_foil_thickness_um;
    cfg.validate().unwrap();
    let short = run(&cfg, &dir.join("short"), None);
    assert!(short.completed);
    assert_eq!(short.end_reason, "short_circuit");
    let e = short.stop.as_ref().unwrap();
    assert_eq!(e.criterion, "short_circuit");
    assert!(
        (e.time_s - cfg.output.timeseries_interval_s).abs() < 1e-12,
        "{}",
        e.time_s
    );
    let sc = e.short_circuit.unwrap();
    // A cell inside a channel: the channels are 1.5 µm wide, centred in periods of 10/3 µm.
    let period = 10.0 / 3.0;
    let off = (sc.x_um % period - period / 2.0).abs();
    assert!(off < 0.75, "x = {} µm is not in a channel", sc.x_um);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("short").join("summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["stop"]["criterion"], "short_circuit");
    assert!(summary["stop"]["short_circuit"]["x_um"].as_f64().is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The cell-voltage stop ends the run after the first step whose |V| exceeds the limit.
#[cfg(feature = "hdf5")]
#[test]
fn a_run_stops_at_the_first_step_beyond_the_voltage_limit() {
    let dir = std::env::temp_dir().join(format!("lipf-protocol-vstop-{}", std::process::id()));
    let mut cfg = cycled();
    cfg.time.max_dt_s = Some(0.05);
    let limit = 0.0045;
    cfg.control.stop = Some(lipf_core::config::StopCriteria {
        voltage_limit_v: Some(limit),
        short_circuit: false,
    });
    let s = run(&cfg, &dir, None);
    assert!(s.completed);
    assert_eq!(s.end_reason, "voltage_limit");
    let e = s.stop.as_ref().unwrap();
    assert!(e.cell_voltage_v.abs() > limit);
    assert!(s.final_time_s < 1.0, "{}", s.final_time_s);
    // Every earlier sample stayed within the limit.
    let (h, rows) = csv_rows(&dir.join("timeseries.csv"));
    let v = column(&h, &rows, "cell_voltage_v");
    let t = column(&h, &rows, "time_s");
    for (tk, vk) in t.iter().zip(&v) {
        if *tk < s.final_time_s {
            assert!(vk.abs() <= limit, "t = {tk}: V = {vk}");
        }
    }
    assert_eq!(*t.last().unwrap(), s.final_time_s, "the end is a sample");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bad segments, ramps, repeats and stops are refused with the field's path.
#[test]
fn bad_protocol_fields_are_named() {
    let cases: [(&str, &str); 15] = [
        (r#"[{"current_density_a_m2": 1.0}]"#, "control.protocol[0]"),
        (
            r#"[{"duration_s": 1.0}]"#,
            "control.protocol[0].current_density_a_m2",
        ),
        (
            r#"[{"current_density_a_m2": 1.0, "duration_s": -1.0}]"#,
            "control.protocol[0].duration_s",
        ),
        (
            r#"[{"current_density_a_m2": 1.0, "duration_s": 1}, {"current_density_a_m2": -1.0, "capacity_mah_cm2": 0}]"#,
            "control.protocol[1].capacity_mah_cm2",
        ),
        (
            r#"[{"current_density_a_m2": 1.0, "voltage_limit_v": 0.1}]"#,
            "control.protocol[0].voltage_limit_v",
        ),
        (
            r#"[{"current_density_a_m2": -1.0, "voltage_limit_v": -0.1}]"#,
            "control.protocol[0].voltage_limit_v",
        ),
        (
            r#"[{"kind": "rest", "current_density_a_m2": 1.0, "duration_s": 1}]"#,
            "control.protocol[0].current_density_a_m2",
        ),
        (
            r#"[{"kind": "rest", "capacity_mah_cm2": 0.1}]"#,
            "control.protocol[0].capacity_mah_cm2",
        ),
        (
            r#"[{"kind": "potentiostatic", "duration_s": 1}]"#,
            "control.protocol[0].cell_voltage_v",
        ),
        (
            r#"[{"kind": "potentiostatic", "cell_voltage_v": -0.01, "current_density_a_m2": 1.0, "duration_s": 1}]"#,
            "control.protocol[0].current_density_a_m2",
        ),
        (
            r#"[{"kind": "potentiostatic", "cell_voltage_v": -0.01, "voltage_limit_v": -0.02}]"#,
            "control.protocol[0].voltage_limit_v",
        ),
        (
            r#"[{"current_density_a_m2": 1.0, "cell_voltage_v": -0.01, "duration_s": 1}]"#,
            "control.protocol[0].cell_voltage_v",
        ),
        (
            r#"[{"current_density_a_m2": 1.0, "duration_s": 1}], "repeat": 0"#,
            "control.repeat",
        ),
        (
            r#"[{"current_density_a_m2": 1.0, "duration_s": 1}], "ramp": {"every_cycles": 1, "step_a_m2": 0.2, "max_a_m2": 0.5}"#,
            "control.ramp.max_a_m2",
        ),
        (
            r#"[{"current_density_a_m2": 1.0, "duration_s": 1}], "stop": {"voltage_limit_v": -1}"#,
            "control.stop.voltage_limit_v",
        ),
    ];
    for (protocol, path) in cases {
        let json = format!(r#"{{"control": {{"protocol": {protocol}}}}}"#);
        let e = match Config::from_json_str(&json) {
            Ok(_) => panic!("accepted: {json}"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(&format!("`{path}`")), "{json}\n→ {e}");
    }
    // What old configurations wrote still means the same.
    let old = Config::from_json_str(
        r#"{"control": {"protocol": [{"current_density_a_m2": 2.0, "duration_s": 300.0}, {"current_density_a_m2": -2.0, "duration_s": 300.0}]}}"#,
    )
    .unwrap();
    assert_eq!(old.control.protocol_period_s(), Some(600.0));
    assert_eq!(old.control.current_density_at(450.0), -2.0);
    // A zero-current segment is a rest.
    Config::from_json_str(
        r#"{"control": {"protocol": [{"current_density_a_m2": 0.0, "duration_s": 1.0}]}}"#,
    )
    .unwrap();
}

/// The ramp adds its step to the magnitude of every current each `every_cycles` cycles, keeps
/// the sign, and the protocol ends before the first cycle beyond `max_a_m2`; `repeat` ends it
/// after its cycles.
#[test]
fn the_ramp_steps_the_currents_and_ends_at_its_maximum() {
    use lipf_core::observables::Scalars;
    use lipf_core::protocol::Tracker;
    let mut c = Config::default().control;
    c.protocol = vec![
        ProtocolSegment::galvanostatic(0.2, 1.0),
        ProtocolSegment::galvanostatic(-0.2, 1.0),
    ];
    c.ramp = Some(lipf_core::config::Ramp {
        every_cycles: 2,
        step_a_m2: 0.2,
        max_a_m2: Some(0.6),
    });
    let mut s = Scalars::default();
    let mut tr = Tracker::start(&c, &s).unwrap();
    let mut seen = Vec::new();
    for k in 1..=20 {
        seen.push(tr.current());
        assert_eq!(tr.end_time_s(), k as f64 - 1.0 + 1.0);
        s.charge_c_m2 += tr.current();
        s.time_s = k as f64;
        tr.poll(&s);
        if tr.finished() {
            break;
        }
    }
    let want = [
        0.2, -0.2, 0.2, -0.2, 0.4, -0.4, 0.4, -0.4, 0.6, -0.6, 0.6, -0.6,
    ];
    assert_eq!(seen.len(), want.len(), "{seen:?}");
    for (a, b) in seen.iter().zip(want) {
        assert!((a - b).abs() < 1e-12, "{seen:?}");
    }
    assert!(tr.finished() && tr.current() == 0.0);
    assert_eq!(tr.records.len(), 12);
    // repeat = 1 ends after one cycle.
    c.ramp = None;
    c.repeat = Some(1);
    let mut s = Scalars::default();
    let mut tr = Tracker::start(&c, &s).unwrap();
    for k in 1..=2 {
        s.time_s = k as f64;
        tr.poll(&s);
    }
    assert!(tr.finished());
}

/// A potentiostatic segment inside a galvanostatic protocol (plate at 2 A/m² for 1 s, then hold
/// the cell at the voltage it reached for 1 s, then hold it at 0 V until 2e-6 mAh/cm² have passed
/// back): during a hold every sample's cell voltage is the held one exactly, the current follows
/// from it (it starts at the plating current the voltage came from and decays, and it reverses
/// at 0 V), the charge-ended hold ends at the first step whose charge reaches its capacity, and nF
/// times the Li gained equals the charge within 5e-5 of the throughput (measured 1.5e-5: the
/// solves' relative tolerance is 1e-5 per step, and a held voltage does not pin the current to a
/// target as a galvanostatic step does). A run resumed inside the hold ends bitwise equal to the
/// uninterrupted one.
#[cfg(feature = "hdf5")]
#[test]
fn a_potentiostatic_segment_holds_the_voltage_and_lets_the_current_follow() {
    use lipf_core::protocol::SegmentKind;
    let dir = std::env::temp_dir().join(format!("lipf-protocol-hold-{}", std::process::id()));
    let mut cfg = cycled();
    cfg.time.max_dt_s = Some(0.05);
    cfg.output.timeseries_interval_s = 0.05;
    // The voltage the plating segment ends at (the same steps as in the protocol run).
    let mut plate = cfg.clone();
    plate.control.protocol.clear();
    plate.control.current_density_a_m2 = 2.0;
    plate.time.end_time_s = 1.0;
    let v_hold = {
        let mut b = lipf_core::CpuBackend::new(&plate).unwrap();
        b.advance(1.0, &StopFlag::new()).unwrap();
        b.state().v_collector
    };
    let hold = |v: f64| ProtocolSegment {
        kind: SegmentKind::Potentiostatic,
        cell_voltage_v: Some(v),
        ..Default::default()
    };
    cfg.control.protocol = vec![
        ProtocolSegment::galvanostatic(2.0, 1.0),
        ProtocolSegment {
            duration_s: Some(1.0),
            ..hold(v_hold)
        },
        ProtocolSegment {
            capacity_mah_cm2: Some(2e-6),
            ..hold(0.0)
        },
    ];
    cfg.control.repeat = Some(1);
    cfg.time.end_time_s = 10.0;
    cfg.validate().unwrap();
    let s = run(&cfg, &dir.join("full"), None);
    assert_eq!(s.end_reason, "protocol_complete", "{s:?}");
    let (h, rows) = csv_rows(&dir.join("full").join("timeseries.csv"));
    let (t, v, i) = (
        column(&h, &rows, "time_s"),
        column(&h, &rows, "cell_voltage_v"),
        column(&h, &rows, "current_density_a_m2"),
    );
    let mut held = Vec::new();
    for k in 0..t.len() {
        if t[k] > 1.0 + 1e-9 && t[k] <= 2.0 + 1e-9 {
            assert_eq!(
                v[k], v_hold,
                "t = {}: V = {} V, held {v_hold} V",
                t[k], v[k]
            );
            held.push(i[k]);
        } else if t[k] > 2.0 + 1e-9 {
            assert_eq!(v[k], 0.0, "t = {}: V = {} V, held 0 V", t[k], v[k]);
            assert!(
                i[k] < 0.0,
                "t = {}: at 0 V the cell must strip, i = {}",
                t[k],
                i[k]
            );
        }
    }
    eprintln!(
        "held at {v_hold} V: current {:.4} → {:.4} A/m²",
        held[0],
        held[held.len() - 1]
    );
    assert!(held.len() >= 19, "{} samples in the hold", held.len());
    assert!(
        (held[0] - 2.0).abs() < 0.1 && held.windows(2).all(|w| w[1] < w[0]),
        "the current under the held plating voltage: {held:?}"
    );
    let (sh, srows) = csv_rows(&dir.join("full").join("segments.csv"));
    assert_eq!(srows.len(), 3);
    let ends: Vec<&str> = srows
        .iter()
        .map(|r| r[sh.iter().position(|c| c == "end").unwrap()].as_str())
        .collect();
    assert_eq!(ends, ["duration", "duration", "capacity"]);
    let q = column(&sh, &srows, "charge_mah_cm2");
    assert!(
        q[2] <= -2e-6 * (1.0 - 1e-9) && q[2] > -4e-6,
        "last hold passed {} mAh/cm²",
        q[2]
    );
    let (state, _) = lipf_io::h5::read_checkpoint(&dir.join("full").join("checkpoint.h5")).unwrap();
    let c = lipf_core::Coefficients::from_config(&cfg);
    let li = lipf_core::observables::li_amount_mol_m2(&c, &state) - state.li_amount0_mol_m2;
    let err = (c.nf_c_mol * li - state.charge_c_m2).abs() / state.ionic_throughput_c_m2;
    eprintln!("Faraday balance {err:.2e} of the throughput");
    assert!(err < 5e-5, "Faraday balance {err} of the throughput");
    // Stopped after 30 steps of ≤ 0.05 s: inside the first hold, then resumed.
    assert_resumes_to(&cfg, &dir.join("split"), 30, (1.0, 2.0), &state);
    let _ = std::fs::remove_dir_all(&dir);
}
