//! The `lipf` binary as a scheduler and a shell see it: signals, exit statuses, kill -9 at
//! random points followed by resume (bitwise equal to an uninterrupted run), closed pipes.

#![cfg(all(unix, feature = "hdf5"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIPF: &str = env!("CARGO_BIN_EXE_lipf");

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lipf-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The smoke case with 1000 short steps (about a second on two cores) and no images.
fn write_config(dir: &Path, end_time_s: f64) -> PathBuf {
    write_config_snap(dir, end_time_s, 0.5)
}

fn write_config_snap(dir: &Path, end_time_s: f64, snapshot_interval_s: f64) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("configs/smoke.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["name"] = "cli".into();
    v["time"]["end_time_s"] = end_time_s.into();
    v["time"]["max_dt_s"] = 0.004.into();
    v["output"]["images"] = false.into();
    v["output"]["snapshot_interval_s"] = snapshot_interval_s.into();
    let p = dir.join(format!("cli-{end_time_s}-{snapshot_interval_s}.json"));
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

fn lipf() -> Command {
    let mut c = Command::new(LIPF);
    c.env("RAYON_NUM_THREADS", "2");
    c
}

fn rows(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("timeseries.csv"))
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

fn wait_for_rows(dir: &Path, n: usize) {
    let t0 = Instant::now();
    while rows(dir) < n {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no progress in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn sigterm_and_sigint_checkpoint_write_a_summary_and_exit_143_and_130() {
    let dir = temp("signals");
    let cfg = write_config(&dir, 40.0);
    for (sig, code) in [("TERM", 143), ("INT", 130)] {
        let out = dir.join(sig);
        let mut child = lipf()
            .args(["run", cfg.to_str().unwrap(), "--quiet", "--out"])
            .arg(&out)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_rows(&out, 3);
        let ok = Command::new("kill")
            .args([format!("-{sig}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "SIG{sig}");
        let s = summary(&out);
        assert_eq!(s["completed"], false, "SIG{sig}");
        let t = s["final_time_s"].as_f64().unwrap();
        assert!(t > 0.0 && t < 40.0, "SIG{sig}: {t}");
        // The checkpoint is the state where the run stopped, not the last snapshot.
        let (state, _) = lipf_io::h5::read_checkpoint(&out.join("checkpoint.h5")).unwrap();
        // (summary.json's number is parsed back within an ulp.)
        assert!(
            (state.time_s - t).abs() <= 1e-12 * t,
            "SIG{sig}: {} vs {t}",
            state.time_s
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A deterministic generator of kill times (SplitMix64).
fn next(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// kill -9 at random points, then resume (or start again when no checkpoint exists yet) until
/// the run completes: the final state is bitwise the uninterrupted one and the time series is
/// the same file.
#[test]
fn kill_9_at_random_points_then_resume_ends_bitwise_equal() {
    let dir = temp("kill9");
    let cfg = write_config(&dir, 4.0);
    let reference = dir.join("reference");
    let st = lipf()
        .args(["run", cfg.to_str().unwrap(), "--quiet", "--out"])
        .arg(&reference)
        .status()
        .unwrap();
    assert!(st.success());
    let (want, _) = lipf_io::h5::read_checkpoint(&reference.join("checkpoint.h5")).unwrap();
    let want_csv = std::fs::read_to_string(reference.join("timeseries.csv")).unwrap();

    let mut seed = 0x0DDBA11u64;
    let mut total_kills = 0;
    for trial in 0..3 {
        let out = dir.join(format!("trial{trial}"));
        let mut kills = 0;
        loop {
            let ckpt = out.join("checkpoint.h5");
            let mut cmd = lipf();
            cmd.args(["run", "--quiet"]);
            if ckpt.is_file() {
                cmd.arg("--resume").arg(&ckpt);
            } else {
                cmd.arg(&cfg).arg("--overwrite").arg("--out").arg(&out);
            }
            let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
            // Up to two kills per trial, 20 to 900 ms after the start.
            if kills < 2 {
                let wait = Duration::from_millis(20 + next(&mut seed) % 880);
                let t0 = Instant::now();
                while t0.elapsed() < wait && child.try_wait().unwrap().is_none() {
                    std::thread::sleep(Duration::from_millis(2));
                }
                if child.try_wait().unwrap().is_none() {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    kills += 1;
                    continue;
                }
            }
            let out_put = child.wait_with_output().unwrap();
            assert!(
                out_put.status.success(),
                "trial {trial}: {}",
                String::from_utf8_lossy(&out_put.stderr)
            );
            break;
        }
        let (got, _) = lipf_io::h5::read_checkpoint(&out.join("checkpoint.h5")).unwrap();
        assert!(
            got == want,
            "trial {trial} ({kills} kills): final state differs"
        );
        let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
        assert_eq!(
            csv, want_csv,
            "trial {trial} ({kills} kills): time series differs"
        );
        // The summary counts every step since t = 0, across the resumes.
        assert_eq!(
            summary(&out)["steps"],
            summary(&reference)["steps"],
            "trial {trial}"
        );
        total_kills += kills;
    }
    assert!(
        total_kills >= 3,
        "the trials must really kill runs ({total_kills} kills)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_pipe_ends_lipf_check_quietly() {
    let dir = temp("pipe");
    let cfg = write_config(&dir, 1.0);
    let mut child = lipf()
        .args(["check", cfg.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_refuses_sizes_and_times_it_cannot_run() {
    for args in [
        vec!["bench", "--size", "0", "--no-run"],
        vec!["bench", "--size", "100000", "--no-run"],
        vec!["bench", "--size", "8", "--end-time", "nan"],
    ] {
        let out = lipf().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_run_into_a_folder_with_files_is_refused_without_overwrite() {
    let dir = temp("refuse");
    let cfg = write_config(&dir, 0.1);
    let out = dir.join("run");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let o = lipf()
        .args(["run", cfg.to_str().unwrap(), "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--overwrite"));
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );
    let o = lipf()
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--quiet",
            "--overwrite",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(!out.join("keep.txt").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Between snapshots the time series grows sample by sample (a log can be followed), and
/// without a terminal plain progress lines go to stderr.
#[test]
fn the_time_series_streams_and_logs_get_progress_lines() {
    let dir = temp("stream");
    let cfg = write_config_snap(&dir, 40.0, 20.0);
    let out = dir.join("run");
    let child = lipf()
        .args(["run", cfg.to_str().unwrap(), "--out"])
        .arg(&out)
        .env("LIPF_PROGRESS_INTERVAL_S", "0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&out, 4);
    let f = hdf5::File::open(out.join("fields.h5")).unwrap();
    let snaps = f.group("snapshots").unwrap().member_names().unwrap();
    assert_eq!(snaps.len(), 1, "only the t = 0 snapshot exists yet");
    drop(f);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("progress: t = "), "{err}");
    assert!(err.contains("ETA"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A relative image path names a file beside the configuration, from any working directory.
#[test]
fn a_relative_image_path_is_read_beside_the_configuration() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cfg = root.join("configs/geometry/image-wavy-channels.json");
    let elsewhere = temp("image-cwd");
    let o = lipf()
        .args(["check"])
        .arg(std::fs::canonicalize(&cfg).unwrap())
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&elsewhere);
}

/// A finished run is extended by resuming it with a later end time; it ends bitwise equal to a
/// run that went there at once. Other changes on resume are refused.
#[test]
fn a_finished_run_is_extended_by_raising_its_end_time() {
    let dir = temp("extend");
    let short = write_config(&dir, 0.4);
    let long = write_config_snap(&dir, 0.8, 0.5);
    let ok = |c: &mut Command| {
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let (a, b) = (dir.join("straight"), dir.join("extended"));
    ok(lipf()
        .args(["run", long.to_str().unwrap(), "--quiet", "--out"])
        .arg(&a));
    ok(lipf()
        .args(["run", short.to_str().unwrap(), "--quiet", "--out"])
        .arg(&b));
    let ckpt = b.join("checkpoint.h5");
    // Resuming a complete run without a later end has nothing to do: refused with the reason.
    let o = lipf()
        .args(["run", "--quiet", "--resume"])
        .arg(&ckpt)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("complete"));
    // A change of the model on resume is refused.
    let o = lipf()
        .args([
            "run",
            "--quiet",
            "--set",
            "control.current_density_a_m2=3",
            "--resume",
        ])
        .arg(&ckpt)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("time.end_time_s"));
    ok(lipf()
        .args(["run", "--quiet", "--set", "time.end_time_s=0.8", "--resume"])
        .arg(&ckpt));
    let (x, _) = lipf_io::h5::read_checkpoint(&a.join("checkpoint.h5")).unwrap();
    let (y, _) = lipf_io::h5::read_checkpoint(&ckpt).unwrap();
    assert_eq!(y.time_s, 0.8);
    assert!(x == y, "the extended run differs from the straight one");
    assert_eq!(
        std::fs::read_to_string(a.join("timeseries.csv")).unwrap(),
        std::fs::read_to_string(b.join("timeseries.csv")).unwrap()
    );
    assert_eq!(summary(&b)["steps"], summary(&a)["steps"]);
    assert_eq!(summary(&b)["completed"], true);
    // The snapshots continue their numbering: t = 0, 0.4 (the first end), 0.5, 0.8, against
    // 0, 0.5, 0.8 for the straight run.
    let listing = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d.join("snapshots"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(listing(&a), ["000000.h5", "000001.h5", "000002.h5"]);
    assert_eq!(
        listing(&b),
        ["000000.h5", "000001.h5", "000002.h5", "000003.h5"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Configuration files may carry comments; --set overrides a field from the command line.
#[test]
fn comments_in_configurations_and_set_overrides() {
    let dir = temp("comments");
    let p = dir.join("c.json");
    std::fs::write(
        &p,
        "{\n  // a line comment\n  \"name\": \"with-comments\", /* a block\n comment */\n  \
         \"output\": { \"images\": false } // \"url\": \"http://x\"\n}\n",
    )
    .unwrap();
    let c = lipf_core::Config::from_file(&p).unwrap();
    assert_eq!(c.name, "with-comments");
    assert!(!c.output.images);
    let c = lipf_core::Config::from_file_with(
        &p,
        &[
            "control.current_density_a_m2=5".into(),
            "name=run-5".into(),
            "time.max_dt_s=0.5".into(),
        ],
    )
    .unwrap();
    assert_eq!(c.control.current_density_a_m2, 5.0);
    assert_eq!(c.name, "run-5");
    assert_eq!(c.time.max_dt_s, Some(0.5));
    // A string keeps its slashes; a misspelt override is named like a misspelt field.
    std::fs::write(dir.join("s.json"), "{\"name\": \"a//b\"}").unwrap();
    let e = lipf_core::Config::from_file(&dir.join("s.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("a//b"), "{e}");
    let e = lipf_core::Config::from_file_with(&p, &["control.curent=5".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("curent"), "{e}");
    assert!(lipf_core::Config::from_file_with(&p, &["nonsense".into()]).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `lipf check` and `lipf geometry` take --set as `lipf run` does: the check prints the time
/// step of the overridden configuration, and a misspelt override fails naming the field.
#[test]
fn check_and_geometry_take_set_overrides() {
    let dir = temp("check-set");
    let cfg = write_config(&dir, 100.0);
    let step_line = |extra: &[&str]| {
        let out = lipf().arg("check").arg(&cfg).args(extra).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with("time step"))
            .unwrap()
            .to_string()
    };
    let plain = step_line(&[]);
    let set = step_line(&["--set", "output.timeseries_interval_s=0.001"]);
    assert!(
        set.contains("1.0000e-3 s"),
        "{set} (without --set: {plain})"
    );
    assert_ne!(plain, set);
    let out = lipf()
        .args(["check", cfg.to_str().unwrap(), "--set", "time.end_tme_s=5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("end_tme_s"));
    let geo = dir.join("geometry");
    let out = lipf()
        .arg("geometry")
        .arg(&cfg)
        .args(["--out", geo.to_str().unwrap(), "--set", "name=renamed"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_dir(&geo).unwrap().next().is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 3D domain: `lipf check` names it and its memory per cell, `lipf geometry` measures it in 3D
/// and writes the volume for ParaView, `lipf run` refuses the explicit Nernst–Planck sub-steps
/// naming the field and runs it with the implicit step, writing volume fields.
#[test]
fn a_3d_scaffold_is_measured_and_run() {
    let dir = temp("geometry-3d");
    let cfg = dir.join("cyl.json");
    std::fs::write(
        &cfg,
        r#"{"name": "cyl", "domain": {"width_um": 6.5, "height_um": 10.0, "depth_um": 6.5,
            "grid_spacing_um": 0.25},
            "geometry": {"kind": "cylinders", "lattice": "square", "pore_size_um": 2.0,
            "porosity": 0.3, "li_foil_thickness_um": 2.0, "impregnation_depth_um": 1.0,
            "dense_cap_thickness_um": 2.0}}"#,
    )
    .unwrap();
    let out = lipf().arg("check").arg(&cfg).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("grid: 26 × 40 × 26 cells"), "{text}");
    assert!(text.contains("bytes per cell"), "{text}");
    let geo = dir.join("geometry");
    let out = lipf()
        .arg("geometry")
        .arg(&cfg)
        .args(["--out", geo.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xdmf = std::fs::read_to_string(geo.join("scaffold.xdmf")).unwrap();
    assert!(xdmf.contains(r#"Dimensions="26 40 26""#), "{xdmf}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(geo.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["metrics"]["dimensions"], 3);
    // One cylinder of 2 µm in a 6.5 µm square cell: S = 4φ/δ within 1 %.
    let phi = m["geometry"]["porosity_geometric"].as_f64().unwrap();
    let s = m["metrics"]["specific_surface"]["measured_per_um"]
        .as_f64()
        .unwrap();
    assert!((s / (4.0 * phi / 2.0) - 1.0).abs() < 0.01, "{s} {phi}");
    let out = lipf()
        .arg("run")
        .arg(&cfg)
        .args(["--out", dir.join("run").to_str().unwrap()])
        .output()
        .unwrap();
    // The explicit Nernst–Planck sub-steps (the default) are 2D-only: refused, naming the field.
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("model.nernst_planck") && err.contains("implicit"),
        "{err}"
    );
    // With the implicit step the volume runs; its fields are (nz, ny, nx) and the XDMF a volume.
    let run = dir.join("run3d");
    let out = lipf()
        .arg("run")
        .arg(&cfg)
        .args(["--out", run.to_str().unwrap()])
        .args(["--set", "model.nernst_planck=implicit"])
        .args(["--set", "time.end_time_s=0.2"])
        .args(["--set", "output.snapshot_interval_s=0.2"])
        .args(["--set", "output.timeseries_interval_s=0.1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xdmf = std::fs::read_to_string(run.join("fields.xdmf")).unwrap();
    assert!(xdmf.contains(r#"Dimensions="26 40 26""#), "{xdmf}");
    assert!(xdmf.contains(r#"Dimensions="27 41 27""#), "{xdmf}");
    assert!(run.join("images/snapshot_000001_phases.png").exists());
    // The projection of the Li front over the x–z columns.
    assert!(run.join("images/snapshot_000001_front_height.png").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `lipf impedance --fields` reads a 3D run's snapshot as a volume: a channel scaffold extruded
/// over two sections (Li, LLZO and pore the same in both) is two copies of its 2D section in
/// parallel, so its spectrum is the 2D run's Z/2 at every frequency.
#[test]
fn a_3d_run_snapshot_has_the_impedance_of_its_section() {
    let dir = temp("impedance-3d");
    let cfg = dir.join("ch.json");
    std::fs::write(
        &cfg,
        r#"{"name": "ch", "domain": {"width_um": 3.0, "height_um": 8.0, "grid_spacing_um": 0.25},
            "geometry": {"kind": "channels", "pore_size_um": 1.5, "porosity": 0.5,
            "li_foil_thickness_um": 2.0, "impregnation_depth_um": 1.0,
            "dense_cap_thickness_um": 2.0},
            "model": {"nernst_planck": "implicit"},
            "time": {"end_time_s": 0.2},
            "output": {"snapshot_interval_s": 0.2, "timeseries_interval_s": 0.2, "images": false}}"#,
    )
    .unwrap();
    let spectrum = |depth: Option<&str>, name: &str| -> Vec<Vec<f64>> {
        let run = dir.join(name);
        let mut c = lipf();
        c.arg("run")
            .arg(&cfg)
            .args(["--out", run.to_str().unwrap()]);
        if let Some(d) = depth {
            c.args(["--set", &format!("domain.depth_um={d}")]);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let imp = dir.join(format!("{name}-impedance"));
        let out = lipf()
            .arg("impedance")
            .arg("--fields")
            .arg(run.join("fields.h5"))
            .args([
                "--f-min-hz",
                "1",
                "--f-max-hz",
                "1e7",
                "--points-per-decade",
                "2",
            ])
            .args(["--fit-elements", "0", "--out", imp.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(imp.join("impedance.csv")).unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.split(',').take(3).map(|v| v.parse().unwrap()).collect())
            .collect()
    };
    let section = spectrum(None, "section");
    let volume = spectrum(Some("0.5"), "volume");
    assert_eq!(section.len(), volume.len());
    assert!(section.len() >= 13);
    for (s, v) in section.iter().zip(&volume) {
        assert_eq!(s[0], v[0]);
        let scale = s[1].hypot(s[2]);
        for c in 1..3 {
            assert!(
                (v[c] * 2.0 - s[c]).abs() < 1e-6 * scale,
                "f = {} Hz: 3D {:?} × 2 against 2D {:?}",
                s[0],
                &v[1..],
                &s[1..]
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
