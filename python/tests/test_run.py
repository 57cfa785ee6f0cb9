import json
import math
import signal
import threading
import _thread
import time

import h5py
import pytest

import lipf


def check_summary(summary, name="smoke"):
    assert summary["completed"] is True
    assert summary["name"] == name
    assert summary["backend"].startswith("cpu")
    assert summary["final_time_s"] == pytest.approx(2.0)
    assert summary["steps"] > 0
    assert summary["faraday_balance_error"] < 5e-3
    assert math.isfinite(summary["final_cell_voltage_v"])


def test_run_from_path(smoke_run):
    check_summary(smoke_run)
    assert isinstance(smoke_run, dict)
    # The returned summary is the run's summary.json.
    on_disk = json.loads((smoke_run.path / "summary.json").read_text(encoding="utf-8"))
    assert dict(smoke_run) == on_disk
    for name in ("fields.h5", "checkpoint.h5", "timeseries.csv", "fields.xdmf"):
        assert (smoke_run.path / name).is_file(), name


def test_run_from_dict(smoke_dict, tmp_path, capsys):
    result = lipf.run(smoke_dict, out=tmp_path / "run", progress=True)
    check_summary(result)
    assert result.path == tmp_path / "run"
    assert "done at t = 2 s" in capsys.readouterr().err


def test_run_from_config_with_overrides(smoke_path, tmp_path):
    cfg = lipf.Config(smoke_path, overrides={"time.end_time_s": 1.0, "name": "short"})
    assert cfg.name == "short"
    assert cfg["time.end_time_s"] == 1.0
    assert cfg["domain.width_um"] == 10.0
    result = lipf.run(cfg, out=tmp_path / "short", progress=False)
    assert result["completed"] and result["name"] == "short"
    assert result["final_time_s"] == pytest.approx(1.0)


def test_output_folder_is_not_replaced_without_overwrite(smoke_path, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "earlier.txt").write_text("x")
    with pytest.raises(lipf.LipfError, match="not empty"):
        lipf.run(smoke_path, out=out, progress=False)
    assert (out / "earlier.txt").is_file()
    result = lipf.run(smoke_path, out=out, progress=False, overwrite=True)
    assert result["completed"]
    assert not (out / "earlier.txt").exists()


def test_unknown_backend(smoke_path, tmp_path):
    with pytest.raises(ValueError, match="backend"):
        lipf.run(smoke_path, out=tmp_path / "run", backend="tpu", progress=False)


def test_interrupt_checkpoints_then_raises(smoke_path, tmp_path):
    """KeyboardInterrupt (Ctrl-C) while running: the run stops after its step, writes a
    checkpoint and summary.json, and the KeyboardInterrupt is raised afterwards."""
    out = tmp_path / "long"
    cfg = lipf.Config(
        smoke_path,
        overrides={
            "time.end_time_s": 10000.0,
            "output.snapshot_interval_s": 1000.0,
            "output.images": False,
        },
    )

    def interrupt_when_running():
        # The t = 0 checkpoint is written once the run is under way.
        deadline = time.monotonic() + 60
        while not (out / "checkpoint.h5").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        _thread.interrupt_main()  # what Ctrl-C does to the main thread

    # A process started in the background by a shell without job control inherits SIGINT
    # ignored, and then Python installs no handler and interrupt_main does nothing: install
    # Python's own handler for this test, as an interactive session has it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = threading.Thread(target=interrupt_when_running, daemon=True)
    watcher.start()
    try:
        lipf.run(cfg, out=out, progress=False)
    except KeyboardInterrupt as e:
        result = e.lipf_result
    else:
        pytest.fail("the run was not interrupted")
    finally:
        signal.signal(signal.SIGINT, previous)
    watcher.join()
    assert result["completed"] is False
    assert 0.0 < result["final_time_s"] < 10000.0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["completed"] is False
    assert summary["steps"] == result["steps"]
    with h5py.File(out / "checkpoint.h5", "r") as f:
        # The checkpoint is the state where the run stopped (resume continues from there).
        assert f.attrs["step"] == result["steps"]
        assert f.attrs["time_s"] == pytest.approx(result["final_time_s"], rel=1e-12)
