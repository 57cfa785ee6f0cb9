"""The scripts in python/examples run and write their figures."""

import importlib.util
import sys

import pytest

from conftest import REPO

EXAMPLES = REPO / "python" / "examples"


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"lipf_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pore_size_sweep(tmp_path):
    pytest.importorskip("matplotlib")
    png = load_example("pore_size_sweep").main(["--out", str(tmp_path), "--jobs", "2"])
    assert png.is_file() and png.stat().st_size > 10_000
    assert (tmp_path / "study" / "report" / "metrics.csv").is_file()


def test_snapshot_impedance(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("impedance")
    r = load_example("snapshot_impedance").main(["--out", str(tmp_path)])
    assert r["png"].is_file() and r["png"].stat().st_size > 10_000
    # With the same number of elements, lipf's lin-KK and impedance.py's agree, and the
    # network's spectrum (a linear RC network) passes the test.
    assert r["max_difference"] < 1e-3
    assert r["lipf_max_residual"] < 1e-3
    assert r["impedance_py_max_residual"] < 1e-3
