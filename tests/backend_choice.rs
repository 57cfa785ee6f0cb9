//! `--backend` through the driver: a checkpoint written on one backend resumes on the other, and
//! summary.json names the backend and the adapter (software adapters labelled "not a GPU").
//! The choice function itself (`auto` never takes a software adapter) is unit-tested in
//! crates/lipf/src/backend_select.rs. Without any adapter these tests print why and pass, unless
//! LIPF_REQUIRE_GPU_ADAPTER=1 (set in CI, where lavapipe is installed).

use super::cell_checks::smoke;
use lipf::backend_select::{adapters_present, BackendChoice, BackendSelection};
use lipf_core::StopFlag;

fn adapter_available() -> bool {
    if !adapters_present().is_empty() {
        return true;
    }
    if std::env::var("LIPF_REQUIRE_GPU_ADAPTER").as_deref() == Ok("1") {
        panic!("LIPF_REQUIRE_GPU_ADAPTER=1 but no GPU adapter (not even lavapipe) was found");
    }
    eprintln!("skipped: no GPU adapter; set LIPF_REQUIRE_GPU_ADAPTER=1 to make this a failure");
    false
}

#[cfg(feature = "hdf5")]
#[test]
fn checkpoint_of_either_backend_resumes_on_the_other_and_summary_names_the_adapter() {
    if !adapter_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("lipf-backend-choice-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = smoke();
    cfg.output.images = false;
    let end = cfg.time.end_time_s;
    let cpu = BackendSelection::default();
    let gpu = BackendSelection {
        choice: BackendChoice::Gpu,
        adapter: None,
    };
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
    for (name, first, second) in [("cpu-then-gpu", &cpu, &gpu), ("gpu-then-cpu", &gpu, &cpu)] {
        let part = lipf::run::run_on(opts(name, None, Some(7)), first).unwrap();
        assert!(
            !part.completed && part.final_time_s < end,
            "{name}: the first part must stop early"
        );
        assert!(
            part.steps >= 7,
            "{name}: {} steps before the stop",
            part.steps
        );
        let ckpt = dir.join(name).join("checkpoint.h5");
        let resumed = lipf::run::run_on(opts(name, Some(ckpt.clone()), None), second).unwrap();
        assert!(
            resumed.completed && resumed.final_time_s >= end * (1.0 - 1e-9),
            "{name}"
        );
        assert!(
            resumed.morphology_initial.is_some(),
            "{name}: a resumed run keeps the t = 0 morphology of its folder's summary"
        );
        // The resumed run continued the first one's steps, it did not start over.
        let (state, _) = lipf_io::h5::read_checkpoint(&ckpt).unwrap();
        assert_eq!(
            state.step,
            part.steps_this_run + resumed.steps_this_run,
            "{name}: step count"
        );
        assert!(
            resumed.faraday_balance_error < 1e-2,
            "{name}: Faraday error {}",
            resumed.faraday_balance_error
        );
        // Both summaries name their backend; the GPU one names the adapter.
        for (s, sel) in [(&part, first), (&resumed, second)] {
            match sel.choice {
                BackendChoice::Cpu => {
                    assert!(
                        s.backend.starts_with("cpu") && s.adapter.is_none(),
                        "{}",
                        s.backend
                    )
                }
                _ => {
                    let a = s
                        .adapter
                        .as_deref()
                        .expect("the GPU backend names its adapter");
                    assert!(
                        s.backend.starts_with("gpu") && s.backend.contains(a),
                        "{}",
                        s.backend
                    );
                    let software = adapters_present().iter().all(|f| f.software);
                    assert_eq!(a.contains("not a GPU"), software, "adapter label {a}");
                }
            }
        }
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(name).join("summary.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            json["adapter"].as_str(),
            resumed.adapter.as_deref(),
            "{name}: summary.json"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cpu_backend_refuses_an_adapter_filter_and_auto_never_runs_on_software() {
    let mut cfg = smoke();
    cfg.output.images = false;
    cfg.time.end_time_s = cfg.output.timeseries_interval_s;
    let dir = std::env::temp_dir().join(format!("lipf-backend-auto-{}", std::process::id()));
    let run = |sel: &BackendSelection, out: &str| {
        lipf::run::run_on(
            lipf::RunOptions {
                config: cfg.clone(),
                out_dir: dir.join(out),
                resume: None,
                overwrite: false,
                quiet: true,
                stop: StopFlag::new(),
                stop_after_steps: None,
            },
            sel,
        )
    };
    let e = run(
        &BackendSelection {
            choice: BackendChoice::Cpu,
            adapter: Some("h100".into()),
        },
        "cpu-adapter",
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("--adapter"), "{e:#}");
    let auto = run(
        &BackendSelection {
            choice: BackendChoice::Auto,
            adapter: None,
        },
        "auto",
    )
    .unwrap();
    let hardware = adapters_present().iter().any(|a| !a.software);
    assert_eq!(auto.adapter.is_some(), hardware, "auto: {}", auto.backend);
    if let Some(a) = &auto.adapter {
        assert!(
            !a.contains("not a GPU"),
            "auto ran on a software adapter: {a}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// summary.json reports the implicit Nernst–Planck solve's CG iterations per step on both
/// backends, and leaves them out with the explicit sub-steps.
#[test]
fn summary_reports_the_nernst_planck_iterations_of_the_implicit_step_on_both_backends() {
    use lipf_core::config::NernstPlanck;
    let gpu_too = adapter_available();
    let dir = std::env::temp_dir().join(format!("lipf-np-iterations-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut choices = vec![BackendChoice::Cpu];
    if gpu_too {
        choices.push(BackendChoice::Gpu);
    }
    for choice in choices {
        for np in [NernstPlanck::Implicit, NernstPlanck::Explicit] {
            let mut cfg = smoke();
            cfg.output.images = false;
            cfg.time.end_time_s = 5.0 * cfg.output.timeseries_interval_s;
            cfg.model.nernst_planck = np;
            let out = dir.join(format!("{choice:?}-{np:?}"));
            let summary = lipf::run::run_on(
                lipf::RunOptions {
                    config: cfg,
                    out_dir: out.clone(),
                    resume: None,
                    overwrite: false,
                    quiet: true,
                    stop: StopFlag::new(),
                    stop_after_steps: None,
                },
                &BackendSelection {
                    choice,
                    adapter: None,
                },
            )
            .unwrap();
            let per_step = summary.mean_nernst_planck_iterations_per_step;
            eprintln!("{choice:?}, {np:?}: {per_step:?} NP iterations per step");
            match np {
                NernstPlanck::Implicit => assert!(
                    per_step.is_some_and(|n| n > 0.0 && n < 50.0),
                    "{choice:?}: {per_step:?}"
                ),
                NernstPlanck::Explicit => assert_eq!(per_step, None, "{choice:?}"),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
