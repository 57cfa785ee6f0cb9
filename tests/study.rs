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
    assert!(md.contains("model agrees") || md.contains("model does not reproduce"));
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
