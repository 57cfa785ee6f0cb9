//! `lipf study` end to end on a tiny case: runs, report, job emission and collection.

use lipf::study::{self, Study};

fn tiny_study(name: &str) -> Study {
    let spec = serde_json::json!({
        "name": name,
        "description": "two tiny channel cases",
        "base": {
            "domain": { "width_um": 6.0, "height_um": 7.0, "grid_spacing_um": 0.25 },
            "geometry": { "kind": "channels", "li_foil_thickness_um": 1.0, "porosity": 0.5,
                          "impregnation_depth_um": 1.0, "dense_cap_thickness_um": 1.0 },
            "control": { "mode": "galvanostatic", "current_density_a_m2": 2.0 },
            "output": { "snapshot_interval_s": 0.2, "timeseries_interval_s": 0.05, "images": false }
        },
        "end_time_s": 0.4,
        "cases": [
            { "name": "wide", "label": "1.5 µm", "set": { "geometry": { "pore_size_um": 1.5 } } },
            { "name": "narrow", "label": "0.5 µm", "set": { "geometry": { "pore_size_um": 0.5 } },
              "until_capacity_mah_cm2": 2e-6 }
        ]
    });
    serde_json::from_value(spec).unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("lipf-study-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn study_end_times_come_from_time_or_capacity() {
    let s = tiny_study("ends");
    let c = s.configs().unwrap();
    assert_eq!(c[0].time.end_time_s, 0.4);
    // 2e-6 mAh/cm² = 0.072 C/m² at 2 A/m²: 0.036 s.
    assert!((c[1].time.end_time_s - 2e-6 * 36e3 / 2.0).abs() < 1e-15);
    assert_eq!(c[1].geometry.pore_size_um, 0.5);
    assert_eq!(c[1].name, "narrow");
    assert_eq!(c[0].domain.width_um, 6.0);
}

#[cfg(feature = "hdf5")]
#[test]
fn study_runs_cases_in_parallel_and_writes_the_report() {
    let dir = temp_dir("run");
    let s = tiny_study("tiny");
    let outcomes = study::run_study(&s, &dir, 2, true, &Default::default(), false).unwrap();
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let report = dir.join("report");
    for f in [
        "report.md",
        "metrics.csv",
        "metrics.md",
        "morphology.png",
        "voltage.png",
        "fill.png",
        "homogeneity.png",
    ] {
        let p = report.join(f);
        assert!(p.is_file() && p.metadata().unwrap().len() > 100, "{f}");
    }
    let csv = std::fs::read_to_string(report.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("wide,1.500,6.0,2,"));
    assert!(lines[2].starts_with("narrow,0.500,2.0,6,"));
    // The case outputs are those of a single run: same columns, morphology appended.
    let ts = std::fs::read_to_string(dir.join("runs/wide/timeseries.csv")).unwrap();
    let header = ts.lines().next().unwrap();
    assert!(header.starts_with(lipf_io::csv::HEADER));
    assert!(header.contains(",homogeneity,") && header.contains("fill_channel_001"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("runs/wide/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["completed"], true);
    assert_eq!(summary["final_time_s"], 0.4);
    assert!(summary["morphology_final"]["mean_fill"].as_f64().unwrap() > 0.0);
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("## What the model shows about pore size"));
    // The verdict follows from the table by the criteria the report states (H ≥ 0.8 and a fill
    // gain for the smallest pores; a fill gain and H < 0.5 or a wall lead above two grid
    // spacings for the largest): recomputed here from metrics.csv, not taken from the report.
    let col = |row: &str, name: &str| -> f64 {
        let i = lines[0].split(',').position(|c| c == name).unwrap();
        row.split(',').nth(i).unwrap().parse().unwrap_or(f64::NAN)
    };
    let (large, small) = (lines[1], lines[2]);
    let gain = |r: &str| col(r, "fill_final") - col(r, "fill_initial");
    let small_ok = col(small, "homogeneity_final") >= 0.8 && gain(small) > 0.0;
    let h_large = col(large, "homogeneity_final");
    let large_ok = gain(large) > 0.0
        && (h_large < 0.5 || col(large, "wall_lead_um") > 2.0 * 0.25)
        // Not homogeneous at least as much as the small pores (a NaN counts as not).
        && !matches!(
            h_large.partial_cmp(&col(small, "homogeneity_final")),
            Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
        );
    let expected = if small_ok && large_ok {
        "**The model agrees with the paper's claim**"
    } else {
        "**The model does not reproduce the paper's claim**"
    };
    assert!(md.contains(expected), "expected {expected:?} in\n{md}");
    assert!(md.contains("![morphology](morphology.png)"));

    // Collecting again from the finished runs gives the same table.
    lipf::cmd_study::collect_command(&dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(report.join("metrics.csv")).unwrap(),
        csv
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn emitted_jobs_hold_one_config_per_case_and_an_array_script() {
    let dir = temp_dir("emit");
    let s = tiny_study("emit");
    let script =
        study::emit_jobs(&s, &dir, lipf::backend_select::BackendChoice::Cpu, false).unwrap();
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("#SBATCH --array=0-1"));
    assert!(text.contains("run \"configs/$CASE.json\" --out \"runs/$CASE\""));
    assert_eq!(
        std::fs::read_to_string(dir.join("cases.txt")).unwrap(),
        "wide\nnarrow\n"
    );
    for (name, pore) in [("wide", 1.5), ("narrow", 0.5)] {
        let c = lipf_core::Config::from_file(&dir.join("configs").join(format!("{name}.json")))
            .unwrap();
        assert_eq!(c.name, name);
        assert_eq!(c.geometry.pore_size_um, pore);
    }
    assert_eq!(Study::from_file(&dir.join("study.json")).unwrap(), s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The emitted job script's body, run as a scheduler would run array task k (without a
/// scheduler; `LIPF` points at a stand-in that records its arguments): the log folder exists
/// before submission, a fresh case starts, a case with a checkpoint resumes, a finished case is
/// skipped, an index past the cases fails.
#[cfg(unix)]
#[test]
fn emitted_job_script_starts_resumes_or_skips_each_case() {
    let dir = temp_dir("script");
    let s = tiny_study("script");
    let script =
        study::emit_jobs(&s, &dir, lipf::backend_select::BackendChoice::Gpu, false).unwrap();
    assert!(
        dir.join("runs").is_dir(),
        "Slurm needs the log folder before the job starts"
    );
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("#SBATCH --gres=gpu:1"));
    assert!(text.contains("#SBATCH --signal=B:TERM@120"));
    let fake = dir.join("fake-lipf.sh");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/calls.txt\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let task = |k: usize| {
        std::process::Command::new("bash")
            .arg(&script)
            .current_dir(&dir)
            .env("SLURM_ARRAY_TASK_ID", k.to_string())
            .env("SLURM_SUBMIT_DIR", &dir)
            .env("LIPF", &fake)
            .output()
            .unwrap()
    };
    let calls = || std::fs::read_to_string(dir.join("calls.txt")).unwrap_or_default();
    assert!(task(0).status.success());
    assert_eq!(
        calls().trim(),
        "run configs/wide.json --out runs/wide --overwrite --quiet --backend gpu"
    );
    std::fs::create_dir_all(dir.join("runs/narrow")).unwrap();
    std::fs::write(dir.join("runs/narrow/checkpoint.h5"), b"").unwrap();
    assert!(task(1).status.success());
    assert!(calls()
        .lines()
        .last()
        .unwrap()
        .starts_with("run --resume runs/narrow/checkpoint.h5 --quiet --backend gpu"));
    std::fs::write(
        dir.join("runs/narrow/summary.json"),
        "{\n  \"completed\": true\n}",
    )
    .unwrap();
    let before = calls();
    let o = task(1);
    assert!(o.status.success());
    assert_eq!(calls(), before, "a finished case must not run again");
    assert!(!task(2).status.success(), "no case for index 2");
    // Emitting again into the same folder is refused unless asked to overwrite.
    assert!(study::emit_jobs(&s, &dir, lipf::backend_select::BackendChoice::Cpu, false).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn collect_fails_loudly_when_cases_are_missing() {
    let dir = temp_dir("collect-missing");
    let s = tiny_study("missing");
    study::emit_jobs(&s, &dir, lipf::backend_select::BackendChoice::Cpu, false).unwrap();
    let e = format!("{:#}", lipf::cmd_study::collect_command(&dir).unwrap_err());
    assert!(e.contains("2 case(s) missing"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn verdict_row(name: &str, pore_um: f64, gain: f64, h: f64, lead_um: f64) -> lipf::report::CaseRow {
    lipf::report::CaseRow {
        name: name.into(),
        label: name.into(),
        completed: true,
        pore_size_um: pore_um,
        grid_spacing_um: 0.25,
        channels: 2.0,
        porosity: 0.5,
        fill_initial: 0.3,
        fill_final: 0.3 + gain,
        front_centre_um: 10.0,
        front_wall_um: 10.0 + lead_um,
        homogeneity: h,
        ..Default::default()
    }
}

/// The pore-size verdict on constructed rows: each side of each criterion (docs/study.md) gives
/// the statement it must, so the report cannot say "agrees" whatever the numbers.
#[test]
fn the_pore_size_verdict_follows_the_stated_criteria() {
    let agrees = "**The model agrees with the paper's claim**";
    let differs = "**The model does not reproduce the paper's claim**";
    let says = |rows: &[lipf::report::CaseRow]| lipf::report::statement(rows);
    // Small pores homogeneous, large pores grow along the walls (low H).
    let t = says(&[
        verdict_row("5", 5.0, 0.1, 0.3, 0.0),
        verdict_row("0.6", 0.6, 0.1, 0.95, 0.0),
    ]);
    assert!(t.contains(agrees), "{t}");
    // Large pores with a homogeneous-looking H but a wall lead of more than two grid spacings.
    let t = says(&[
        verdict_row("5", 5.0, 0.1, 0.7, 0.6),
        verdict_row("0.6", 0.6, 0.1, 0.95, 0.0),
    ]);
    assert!(t.contains(agrees), "{t}");
    // A wall lead of exactly two grid spacings is not enough.
    let t = says(&[
        verdict_row("5", 5.0, 0.1, 0.7, 0.5),
        verdict_row("0.6", 0.6, 0.1, 0.95, 0.0),
    ]);
    assert!(
        t.contains(differs) && t.contains("largest pores do not grow"),
        "{t}"
    );
    // Small pores not homogeneous.
    let t = says(&[
        verdict_row("5", 5.0, 0.1, 0.3, 0.0),
        verdict_row("0.6", 0.6, 0.1, 0.79, 0.0),
    ]);
    assert!(
        t.contains(differs) && t.contains("smallest pores do not fill"),
        "{t}"
    );
    // No Li went into the small pores.
    let t = says(&[
        verdict_row("5", 5.0, 0.1, 0.3, 0.0),
        verdict_row("0.6", 0.6, 0.0, 0.95, 0.0),
    ]);
    assert!(t.contains(differs) && t.contains("did not increase"), "{t}");
    // The large pores more homogeneous than the small ones.
    let t = says(&[
        verdict_row("5", 5.0, 0.1, 0.97, 0.6),
        verdict_row("0.6", 0.6, 0.1, 0.95, 0.0),
    ]);
    assert!(t.contains(differs), "{t}");
}

/// The report's protocol section on a ramp (2 → 6 A/m², one cycle each): a case without a stop
/// runs every cycle and is reported so, with the largest half-cycle |V| recomputed here from
/// its segments.csv; a case whose voltage limit fires at once is reported as stopped in its
/// first cycle at 0.2 mA/cm².
#[cfg(feature = "hdf5")]
#[test]
fn the_report_says_how_each_protocol_case_ended() {
    let dir = temp_dir("protocol");
    let spec = serde_json::json!({
        "name": "ramp",
        "base": {
            "domain": { "width_um": 6.0, "height_um": 7.0, "grid_spacing_um": 0.25 },
            "geometry": { "kind": "channels", "li_foil_thickness_um": 1.0, "porosity": 0.5,
                          "pore_size_um": 1.5, "impregnation_depth_um": 1.0,
                          "dense_cap_thickness_um": 1.0 },
            "control": { "mode": "galvanostatic",
                         "protocol": [ { "current_density_a_m2": 2.0, "duration_s": 0.1 },
                                       { "current_density_a_m2": -2.0, "duration_s": 0.1 } ],
                         "ramp": { "every_cycles": 1, "step_a_m2": 2.0, "max_a_m2": 6.0 } },
            "output": { "snapshot_interval_s": 0.1, "timeseries_interval_s": 0.05, "images": false }
        },
        "end_time_s": 1.0,
        "cases": [
            { "name": "free", "label": "free" },
            { "name": "limited", "label": "limited",
              "set": { "control": { "stop": { "voltage_limit_v": 1e-6 } } } }
        ]
    });
    let s: Study = serde_json::from_value(spec).unwrap();
    let outcomes = study::run_study(&s, &dir, 2, true, &Default::default(), false).unwrap();
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let md = std::fs::read_to_string(dir.join("report/report.md")).unwrap();
    assert!(dir.join("report/cycles.png").is_file());
    assert!(md.contains("## Protocol: how each case ended"), "{md}");
    let seg = std::fs::read_to_string(dir.join("runs/free/segments.csv")).unwrap();
    let header: Vec<&str> = seg.lines().next().unwrap().split(',').collect();
    let iv = header.iter().position(|c| *c == "end_voltage_v").unwrap();
    let worst = seg
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(iv).unwrap().parse::<f64>().unwrap().abs())
        .fold(0.0, f64::max);
    assert_eq!(
        seg.lines().count(),
        7,
        "three cycles of two segments:\n{seg}"
    );
    let free = format!(
        "- free: no stop criterion fired in 3 cycles up to 0.600 mA/cm² (t = 0.6 s); the largest \
         |V| at the end of a half-cycle was {worst:.4} V"
    );
    assert!(md.contains(&free), "expected {free:?} in\n{md}");
    assert!(
        md.contains("- limited: stopped by the voltage limit criterion at t = ")
            && md.contains(" s, in cycle 1 at 0.200 mA/cm²"),
        "{md}"
    );
    assert!(md.contains("| free | protocol_complete |"), "{md}");
    assert!(md.contains("| limited | voltage_limit |"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A study that repeats one pore size at three interface widths (Δx = ℓ/2) gets the
/// convergence section and its plots, computed from the runs.
#[cfg(feature = "hdf5")]
#[test]
fn a_study_over_interface_widths_reports_their_convergence() {
    let dir = temp_dir("ell");
    let case = |ell: f64| {
        serde_json::json!({
            "name": format!("l{ell}"), "label": format!("ℓ {ell}"),
            "set": { "domain": { "grid_spacing_um": ell / 2.0 },
                     "model": { "interface_half_width_um": ell } }
        })
    };
    let spec = serde_json::json!({
        "name": "ell",
        "base": {
            "domain": { "width_um": 3.0, "height_um": 6.0 },
            "geometry": { "kind": "channels", "pore_size_um": 1.5, "li_foil_thickness_um": 1.0,
                          "porosity": 0.5, "impregnation_depth_um": 1.0,
                          "dense_cap_thickness_um": 1.0 },
            "control": { "mode": "galvanostatic", "current_density_a_m2": 2.0 },
            "output": { "snapshot_interval_s": 0.2, "timeseries_interval_s": 0.1, "images": false }
        },
        "end_time_s": 0.2,
        "cases": [case(1.0), case(0.5), case(0.25)]
    });
    let s: Study = serde_json::from_value(spec).unwrap();
    let outcomes = study::run_study(&s, &dir, 2, true, &Default::default(), false).unwrap();
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let md = std::fs::read_to_string(dir.join("report/report.md")).unwrap();
    assert!(
        md.contains("## Convergence in the interface width and the grid"),
        "{md}"
    );
    assert!(
        md.contains("ℓ refined at ℓ/Δx = 2.00 (l1 → l0.5 → l0.25)"),
        "{md}"
    );
    assert!(md.contains("### Is the answer converged in ℓ?"), "{md}");
    for f in ["convergence_wall_lead.png", "convergence_voltage.png"] {
        let p = dir.join("report").join(f);
        assert!(p.is_file() && p.metadata().unwrap().len() > 100, "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A study with a 3D case: the report's morphology panel shows its section (next to the 2D
/// case's), and its Li front over the x–z columns is a picture of its own.
#[cfg(feature = "hdf5")]
#[test]
fn a_study_with_a_3d_case_shows_its_section_and_its_front_over_x_and_z() {
    let dir = temp_dir("3d");
    let spec = serde_json::json!({
        "name": "tiny-3d",
        "description": "slits against cylinders",
        "base": {
            "domain": { "width_um": 3.0, "height_um": 7.0, "grid_spacing_um": 0.25 },
            "geometry": { "kind": "channels", "pore_size_um": 1.5, "li_foil_thickness_um": 1.0,
                          "porosity": 0.5, "impregnation_depth_um": 1.0,
                          "dense_cap_thickness_um": 1.0 },
            "model": { "nernst_planck": "implicit" },
            "control": { "mode": "galvanostatic", "current_density_a_m2": 2.0 },
            "output": { "snapshot_interval_s": 0.2, "timeseries_interval_s": 0.1, "images": false }
        },
        "end_time_s": 0.2,
        "cases": [
            { "name": "slits", "label": "slits", "set": {} },
            { "name": "cylinders", "label": "cylinders",
              "set": { "domain": { "width_um": 2.0, "depth_um": 2.0 },
                       "geometry": { "kind": "cylinders", "lattice": "square" } } }
        ]
    });
    let s: Study = serde_json::from_value(spec).unwrap();
    let outcomes = study::run_study(&s, &dir, 1, true, &Default::default(), false).unwrap();
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let report = dir.join("report");
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(
        md.contains("![front height, cylinders](front_height_cylinders.png)"),
        "{md}"
    );
    assert!(!md.contains("front_height_slits"));
    let png = std::fs::read(report.join("front_height_cylinders.png")).unwrap();
    assert!(png.len() > 1000);
    // The panel holds both cases: not the picture of the 2D case alone.
    let panel = std::fs::read(report.join("morphology.png")).unwrap();
    let metrics = std::fs::read_to_string(report.join("metrics.csv")).unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("cylinders,")),
        "{metrics}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let dir2 = temp_dir("3d-alone");
    let mut only_2d = s.clone();
    only_2d.cases.truncate(1);
    study::run_study(&only_2d, &dir2, 1, true, &Default::default(), false).unwrap();
    let alone = std::fs::read(dir2.join("report/morphology.png")).unwrap();
    assert_ne!(panel, alone, "the 3D case is missing from the panel");
    let _ = std::fs::remove_dir_all(&dir2);
}
