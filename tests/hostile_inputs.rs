//! Hostile inputs and damaged files: every one is refused with a typed error that names what and
//! where, before anything is allocated or a file is changed; no panic, no hang, no path escape,
//! no resume that drops or rewrites earlier outputs.

use super::cell_checks::smoke;
use lipf_core::config::Config;
use lipf_core::estimate::{check_config, Estimate};
use lipf_core::state::StateError;
use lipf_core::{Backend, CpuBackend, SimulationError, StopFlag};

fn err_of(json: &str) -> String {
    match Config::from_json_str(json) {
        Ok(c) => panic!("accepted {json}: {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn non_object_documents_and_sections_are_refused() {
    for (json, path) in [
        ("[]", "`.`"),
        ("5", "`.`"),
        ("null", "`.`"),
        ("\"x\"", "`.`"),
        (r#"{"domain": [10.0, 12.0, 0.25]}"#, "`domain`"),
        (r#"{"time": 5}"#, "`time`"),
        (r#"{"geometry": null}"#, "`geometry`"),
    ] {
        let e = err_of(json);
        assert!(e.contains(path) && e.contains("object"), "{json}: {e}");
    }
}

#[test]
fn text_after_the_document_is_refused() {
    let e = err_of(r#"{"name": "a"} {"nmae": "b"}"#);
    assert!(e.contains("trailing"), "{e}");
}

#[test]
fn run_names_are_file_names_not_paths() {
    for bad in [
        "..", ".", ".hidden", "../x", "../../x", "/abs", "a/b", "a\\b", "a\nb", "a b", "",
    ] {
        let json = serde_json::json!({ "name": bad }).to_string();
        let e = err_of(&json);
        assert!(e.contains("`name`"), "{bad:?}: {e}");
    }
    let long = "x".repeat(lipf_core::config::NAME_MAX_CHARS + 1);
    err_of(&serde_json::json!({ "name": long }).to_string());
    for good in ["pore-1.5um", "a_b.c", "X9"] {
        Config::from_json_str(&serde_json::json!({ "name": good }).to_string()).unwrap();
    }
}

#[test]
fn a_file_name_that_is_not_a_run_name_is_refused_when_the_config_has_no_name() {
    let dir = std::env::temp_dir().join(format!("lipf-hostile-name-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bad name.json");
    std::fs::write(&p, "{}").unwrap();
    let e = Config::from_file(&p).unwrap_err().to_string();
    assert!(e.contains("`name`") && e.contains("give a `name`"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each configuration that could never finish or never fit names the budget it exceeds.
#[test]
fn configurations_beyond_the_budgets_name_the_budget() {
    let cases: [(&str, serde_json::Value); 7] = [
        (
            "max_steps",
            serde_json::json!({ "material": { "surface_energy_j_m2": 1e300 } }),
        ),
        (
            "max_substeps_per_step",
            serde_json::json!({ "material": { "electrode_diffusivity_m2_s": 1e300 } }),
        ),
        (
            "max_steps",
            serde_json::json!({ "time": { "max_dt_s": 1e-300 } }),
        ),
        (
            "max_steps",
            serde_json::json!({ "output": { "timeseries_interval_s": 1e-300 } }),
        ),
        (
            "max_snapshots",
            serde_json::json!({ "output": { "snapshot_interval_s": 1e-300, "timeseries_interval_s": 1e-300 }, "limits": { "max_steps": 1e308 } }),
        ),
        (
            "max_memory_gib",
            serde_json::json!({ "domain": { "width_um": 16384.0, "height_um": 16384.0 } }),
        ),
        (
            "max_memory_gib",
            serde_json::json!({ "domain": { "width_um": 10000.0, "height_um": 12000.0 } }),
        ),
    ];
    for (budget, json) in cases {
        let c = match Config::from_json_str(&json.to_string()) {
            Ok(c) => c,
            Err(e) => {
                // Refused by validation already: also fine, as long as it names a field.
                assert!(e.to_string().contains('`'), "{json}: {e}");
                continue;
            }
        };
        let e = check_config(&c).unwrap_err().to_string();
        assert!(e.contains(&format!("limits.{budget}")), "{json}: {e}");
        assert!(e.contains("raise"), "{json}: {e}");
    }
    // The documented maximum grid is checked without allocating it.
    let mut c = Config::default();
    c.domain.width_um = 65536.0 * 0.25;
    c.domain.height_um = 65536.0 * 0.25;
    c.validate().unwrap();
    let e = check_config(&c).unwrap_err().to_string();
    assert!(e.contains("limits.max_memory_gib"), "{e}");
    // The default case fits every budget.
    check_config(&Config::default()).unwrap();
}

#[test]
fn a_checkpoint_interval_beyond_any_duration_is_refused() {
    let e = err_of(r#"{"output": {"checkpoint_interval_min": 1e20}}"#);
    assert!(e.contains("output.checkpoint_interval_min"), "{e}");
}

fn resumable_state() -> (Config, lipf_core::State) {
    let mut cfg = smoke();
    cfg.time.max_dt_s = Some(0.05);
    let mut b = CpuBackend::new(&cfg).unwrap();
    b.step(cfg.time.end_time_s).unwrap();
    let s = b.state().clone();
    (cfg, s)
}

#[test]
fn damaged_checkpoint_states_are_refused_naming_field_and_cell() {
    let (cfg, good) = resumable_state();
    good.validate_resume(&cfg).unwrap();
    let nx = good.grid.nx;
    let k = 3 * nx + 5;
    type Damage = fn(&mut lipf_core::State, usize);
    let damages: [(&str, Damage); 8] = [
        ("`xi`", |s, k| s.xi[k] = f64::NAN),
        ("`xi`", |s, k| s.xi[k] = 7.0),
        ("`eta`", |s, k| s.eta[k] = f64::INFINITY),
        ("`potential`", |s, k| s.potential[k] = f64::NAN),
        ("`potential1`", |s, k| s.potential1[k] = f64::NEG_INFINITY),
        ("`c`", |s, k| s.conc[k] = f64::NAN),
        ("`c`", |s, k| s.conc[k] = -1.0),
        ("`phi`", |s, k| s.phi[k] = 2.0),
    ];
    for (field, damage) in damages {
        let mut s = good.clone();
        damage(&mut s, k);
        let e = s.validate_resume(&cfg).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(field) && text.contains("i = 5, j = 3"),
            "{field}: {text}"
        );
        // A backend refuses it too, with the same error instead of a panic.
        let mut b = CpuBackend::new(&cfg).unwrap();
        assert!(matches!(b.set_state(s), Err(SimulationError::State(_))));
    }
    for (t, what) in [
        (f64::NAN, "not a finite number"),
        (-5.0, "not a time"),
        (cfg.time.end_time_s, "complete"),
        (1e300, "complete"),
    ] {
        let mut s = good.clone();
        s.time_s = t;
        let e = s.validate_resume(&cfg).unwrap_err().to_string();
        assert!(e.contains("time_s") && e.contains(what), "t = {t}: {e}");
    }
    let mut s = good.clone();
    s.v_collector = f64::NAN;
    assert!(s.validate_resume(&cfg).is_err());
    let mut s = good.clone();
    s.xi.pop();
    assert!(matches!(
        s.validate_resume(&cfg),
        Err(StateError::Length { field: "xi", .. })
    ));
}

#[test]
fn a_checkpoint_of_another_grid_is_a_typed_error_not_a_panic() {
    let (cfg, good) = resumable_state();
    let mut other = cfg.clone();
    other.domain.width_um = 12.0;
    let e = good.validate_resume(&other).unwrap_err();
    assert!(
        matches!(
            e,
            StateError::GridMismatch {
                nx: 40,
                cnx: 48,
                ..
            }
        ),
        "{e}"
    );
    let mut b = CpuBackend::new(&other).unwrap();
    assert!(matches!(
        b.set_state(good),
        Err(SimulationError::State(StateError::GridMismatch { .. }))
    ));
}

/// A deterministic generator for the fuzz harness (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn hostile_value(r: &mut Rng) -> serde_json::Value {
    use serde_json::json;
    match r.below(16) {
        0 => json!(0),
        1 => json!(-1.0),
        2 => json!(1e300),
        3 => json!(-1e300),
        4 => json!(1e-300),
        5 => json!(null),
        6 => json!([1, 2]),
        7 => json!({}),
        8 => json!("../x"),
        9 => json!(true),
        10 => json!(u64::MAX),
        11 => json!(0.5),
        12 => json!(65536.0),
        13 => json!(-0.0),
        14 => json!(2.5e-7),
        _ => json!((r.next() % 2000) as f64 / 7.0),
    }
}

/// Replaces a random leaf (or section) of `v` with a hostile value.
fn mutate(v: &mut serde_json::Value, r: &mut Rng) {
    if let serde_json::Value::Object(m) = v {
        if m.is_empty() || r.below(4) == 0 {
            let key = ["bogus", "name", "domain", "limits"][r.below(4)];
            m.insert(key.into(), hostile_value(r));
            return;
        }
        let keys: Vec<String> = m.keys().cloned().collect();
        let k = &keys[r.below(keys.len())];
        let child = m.get_mut(k).unwrap();
        if child.is_object() && r.below(3) != 0 {
            mutate(child, r);
        } else {
            *child = hostile_value(r);
        }
    }
}

/// Fuzz harness over the configuration reader and the budget check: thousands of mutated
/// configurations, each accepted with finite estimates within budget or refused with a path;
/// none may panic.
#[test]
fn fuzzed_configurations_never_panic_and_accepted_ones_fit_their_budgets() {
    let base = serde_json::to_value(Config::default()).unwrap();
    let smoke_v = serde_json::to_value(smoke()).unwrap();
    let mut r = Rng(0x5EED);
    let (mut accepted, mut refused) = (0, 0);
    for n in 0..3000 {
        let mut v = if n % 2 == 0 {
            base.clone()
        } else {
            smoke_v.clone()
        };
        for _ in 0..1 + r.below(3) {
            mutate(&mut v, &mut r);
        }
        let text = v.to_string();
        let outcome = std::panic::catch_unwind(|| match Config::from_json_str(&text) {
            Ok(c) => match check_config(&c) {
                Ok(e) => {
                    assert!(e.steps.is_finite() && e.steps <= c.limits.max_steps);
                    assert!(e.memory_bytes.is_finite());
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        });
        match outcome {
            Ok(Ok(())) => accepted += 1,
            Ok(Err(msg)) => {
                assert!(
                    msg.contains('`'),
                    "refused without naming a field: {msg}\n{text}"
                );
                refused += 1;
            }
            Err(_) => panic!("panic on configuration {text}"),
        }
    }
    assert!(accepted > 50 && refused > 100, "{accepted} / {refused}");
}

#[test]
fn estimates_of_the_default_case_are_plausible() {
    let e = Estimate::of(&Config::default());
    assert_eq!(e.cells, 200.0 * 200.0);
    assert!(
        e.steps >= 1000.0,
        "at least one step per time-series sample: {}",
        e.steps
    );
    assert_eq!(e.snapshots, 11.0);
    // The implicit Nernst–Planck update has no sub-steps, and costs less at a fine grid.
    let mut c = Config::default();
    c.domain.grid_spacing_um = 0.0625;
    let explicit = Estimate::of(&c);
    c.model.nernst_planck = lipf_core::config::NernstPlanck::Implicit;
    let implicit = Estimate::of(&c);
    assert!(explicit.substeps_per_step > 100.0, "{explicit:?}");
    assert_eq!(implicit.substeps_per_step, 0.0);
    assert!(
        implicit.wall_time_s < explicit.wall_time_s,
        "{implicit:?} {explicit:?}"
    );
}

#[test]
fn study_bases_and_sets_must_be_objects_and_names_safe() {
    let dir = std::env::temp_dir().join(format!("lipf-hostile-study-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (json, what) in [
        (
            r#"{"name": "s", "base": 5, "cases": [{"name": "a"}]}"#,
            "base",
        ),
        (
            r#"{"name": "s", "cases": [{"name": "a", "set": [1, 2]}]}"#,
            "set",
        ),
        (
            r#"{"name": "s\nrm -rf x", "cases": [{"name": "a"}]}"#,
            "name",
        ),
        (r#"{"name": "s", "cases": [{"name": "../a"}]}"#, "name"),
        (r#"[]"#, ""),
    ] {
        let p = dir.join("study.json");
        std::fs::write(&p, json).unwrap();
        let e = match lipf::study::Study::from_file(&p) {
            Ok(s) => match s.configs() {
                Ok(_) => panic!("accepted {json}"),
                Err(e) => format!("{e:#}"),
            },
            Err(e) => format!("{e:#}"),
        };
        assert!(e.contains(what), "{json}: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "hdf5")]
mod files {
    use super::*;
    use std::path::{Path, PathBuf};

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lipf-hostile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn opts(cfg: &Config, out: &Path, resume: Option<PathBuf>) -> lipf::RunOptions {
        lipf::RunOptions {
            config: cfg.clone(),
            out_dir: out.to_path_buf(),
            resume,
            overwrite: false,
            quiet: true,
            stop: StopFlag::new(),
            stop_after_steps: None,
        }
    }

    fn small() -> Config {
        let mut c = smoke();
        c.output.images = false;
        c.time.end_time_s = 0.6;
        c.output.snapshot_interval_s = 0.2;
        c
    }

    /// Bytes of every file in a folder, by name.
    fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_fresh_run_refuses_a_folder_with_files_unless_overwrite() {
        let dir = temp("fresh");
        std::fs::create_dir_all(dir.join("images")).unwrap();
        std::fs::write(dir.join("images").join("stale.png"), b"old").unwrap();
        let cfg = small();
        let e = format!("{:#}", lipf::run(opts(&cfg, &dir, None)).unwrap_err());
        assert!(e.contains("not empty") && e.contains("--overwrite"), "{e}");
        assert!(dir.join("images").join("stale.png").exists());
        let mut o = opts(&cfg, &dir, None);
        o.overwrite = true;
        assert!(lipf::run(o).unwrap().completed);
        assert!(!dir.join("images").join("stale.png").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A run stopped after a few steps, for the resume cases.
    fn interrupted(name: &str) -> (Config, PathBuf) {
        let dir = temp(name);
        let cfg = small();
        let mut o = opts(&cfg, &dir, None);
        o.stop_after_steps = Some(5);
        let s = lipf::run(o).unwrap();
        assert!(!s.completed);
        (cfg, dir)
    }

    #[test]
    fn resume_without_the_time_series_is_refused_and_changes_nothing() {
        let (cfg, dir) = interrupted("no-csv");
        std::fs::remove_file(dir.join("timeseries.csv")).unwrap();
        let before = contents(&dir);
        let ckpt = dir.join("checkpoint.h5");
        let e = format!("{:#}", lipf::run(opts(&cfg, &dir, Some(ckpt))).unwrap_err());
        assert!(e.contains("time series") && e.contains("lost"), "{e}");
        assert_eq!(contents(&dir), before, "a refused resume changed files");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn resume_into_another_folder_is_refused() {
        let (cfg, dir) = interrupted("new-out");
        let elsewhere = temp("new-out-elsewhere");
        let ckpt = dir.join("checkpoint.h5");
        let e = format!(
            "{:#}",
            lipf::run(opts(&cfg, &elsewhere, Some(ckpt))).unwrap_err()
        );
        assert!(e.contains("lost"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&elsewhere);
    }

    #[test]
    fn resume_without_fields_h5_is_refused() {
        let (cfg, dir) = interrupted("no-h5");
        std::fs::remove_file(dir.join("fields.h5")).unwrap();
        let ckpt = dir.join("checkpoint.h5");
        let e = format!("{:#}", lipf::run(opts(&cfg, &dir, Some(ckpt))).unwrap_err());
        assert!(e.contains("fields.h5 is missing"), "{e}");
        assert!(!dir.join("fields.h5").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn damaged_checkpoints_are_refused_before_any_output_changes() {
        let (cfg, dir) = interrupted("damaged");
        let ckpt = dir.join("checkpoint.h5");
        let (good, json) = lipf_io::h5::read_checkpoint(&ckpt).unwrap();
        let before = contents(&dir);
        for (what, damage) in [
            (
                "time_s",
                Box::new(|s: &mut lipf_core::State| s.time_s = -5.0)
                    as Box<dyn Fn(&mut lipf_core::State)>,
            ),
            (
                "time_s",
                Box::new(|s: &mut lipf_core::State| s.time_s = f64::NAN),
            ),
            ("`c`", Box::new(|s: &mut lipf_core::State| s.conc[7] = -1.0)),
            (
                "`xi`",
                Box::new(|s: &mut lipf_core::State| s.xi[7] = f64::NAN),
            ),
        ] {
            let mut s = good.clone();
            damage(&mut s);
            let bad = dir.join("damaged.h5");
            lipf_io::h5::write_checkpoint(&bad, &s, &json).unwrap();
            let e = format!(
                "{:#}",
                lipf::run(opts(&cfg, &dir, Some(bad.clone()))).unwrap_err()
            );
            assert!(e.contains(what), "{what}: {e}");
            std::fs::remove_file(&bad).unwrap();
            assert_eq!(
                contents(&dir),
                before,
                "{what}: a refused resume changed files"
            );
        }
        // The intact checkpoint still resumes to the end.
        assert!(lipf::run(opts(&cfg, &dir, Some(ckpt))).unwrap().completed);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Damaged checkpoint files (truncated at many lengths, bytes overwritten at many places) are
/// read as an error or as a state that validation refuses or accepts as intact; never a panic.
#[cfg(feature = "hdf5")]
#[test]
fn damaged_checkpoint_files_never_panic() {
    let dir = std::env::temp_dir().join(format!("lipf-hostile-ckfuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (cfg, state) = resumable_state();
    let good = dir.join("good.h5");
    lipf_io::h5::write_checkpoint(&good, &state, &cfg.to_json_pretty()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let mut r = Rng(0xC4EC);
    let bad = dir.join("bad.h5");
    let (mut refused, mut read) = (0, 0);
    for n in 0..150 {
        let mut b = bytes.clone();
        if n % 3 == 0 {
            b.truncate(r.below(bytes.len()));
        } else {
            for _ in 0..1 + r.below(8) {
                let k = r.below(b.len());
                b[k] = r.next() as u8;
            }
        }
        std::fs::write(&bad, &b).unwrap();
        let outcome = std::panic::catch_unwind(|| match lipf_io::h5::read_checkpoint(&bad) {
            Err(_) => false,
            Ok((s, json)) => {
                // What is read at all is the state written (the checksum holds), bit for bit.
                assert!(
                    s == state,
                    "case {n}: a damaged checkpoint was read as another state"
                );
                assert_eq!(json, cfg.to_json_pretty());
                s.validate_resume(&Config::from_json_str(&json).unwrap())
                    .unwrap();
                true
            }
        });
        match outcome {
            Ok(true) => read += 1,
            Ok(false) => refused += 1,
            Err(_) => panic!("panic reading a damaged checkpoint (case {n})"),
        }
    }
    assert!(refused > 50, "{refused} refused, {read} read");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fuzz harness over the study reader: mutated study files are read or refused, never a panic.
#[test]
fn fuzzed_study_files_never_panic() {
    let dir = std::env::temp_dir().join(format!("lipf-hostile-studyfuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = serde_json::json!({
        "name": "s",
        "base": { "domain": { "width_um": 6.0, "height_um": 7.0 } },
        "end_time_s": 0.4,
        "cases": [
            { "name": "a", "set": { "geometry": { "pore_size_um": 1.5 } } },
            { "name": "b", "until_capacity_mah_cm2": 2e-6 }
        ]
    });
    let mut r = Rng(0x57D1);
    let p = dir.join("study.json");
    for n in 0..600 {
        let mut v = base.clone();
        for _ in 0..1 + r.below(3) {
            if r.below(3) == 0 {
                if let Some(cases) = v["cases"].as_array_mut() {
                    let k = r.below(cases.len());
                    mutate(&mut cases[k], &mut r);
                    continue;
                }
            }
            mutate(&mut v, &mut r);
        }
        std::fs::write(&p, v.to_string()).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            lipf::study::Study::from_file(&p).and_then(|s| s.configs().map(|_| ()))
        });
        assert!(outcome.is_ok(), "panic on study (case {n}) {v}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
