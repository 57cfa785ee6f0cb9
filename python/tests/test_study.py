import json

import numpy as np
import pytest

import lipf

from conftest import SMOKE


def tiny_study():
    base = json.loads(SMOKE.read_text(encoding="utf-8"))
    base.pop("name")
    base["output"]["images"] = False
    return {
        "name": "tiny",
        "base": base,
        "end_time_s": 1.0,
        "cases": [
            {"name": "pore-1um", "label": "1 µm", "set": {"geometry": {"pore_size_um": 1.0}}},
            {"name": "pore-2um", "set": {"geometry": {"pore_size_um": 2.0}}, "end_time_s": 0.5},
        ],
    }


def test_study_dataset(tmp_path):
    out = tmp_path / "study"
    ds = lipf.study(tiny_study(), jobs=2, out=out, progress=False)
    assert list(ds.case.values) == ["pore-1um", "pore-2um"]
    assert list(ds.label.values) == ["1 µm", "pore-2um"]
    assert ds.cell_voltage_v.dims == ("case", "t_series")
    assert ds.t_series.attrs["units"] == "s"
    np.testing.assert_allclose(ds.t_series.values, np.round(np.arange(11) * 0.1, 9))
    # The second case ends at 0.5 s: NaN after.
    assert np.isnan(ds.cell_voltage_v.sel(case="pore-2um").values[-1])
    assert np.isfinite(ds.cell_voltage_v.sel(case="pore-1um").values).all()
    assert ds.completed.values.tolist() == [True, True]
    np.testing.assert_allclose(ds.final_time_s.values, [1.0, 0.5])
    assert (ds.faraday_balance_error < 5e-3).all()
    assert ds.channel_fill.dims == ("case", "t_series", "channel")
    assert ds.xi_final.dims == ("case", "y", "x") and ds.phi.shape == (2, 48, 40)
    assert "metric_homogeneity_final" in ds
    # Each case is a run folder lipf.load reads, and the report is written.
    run = lipf.load(out / "runs" / "pore-1um", lazy=False)
    np.testing.assert_allclose(run.cell_voltage_v.values, ds.cell_voltage_v.sel(case="pore-1um").values)
    assert (out / "report" / "metrics.csv").is_file() and ds.attrs["report_error"] == ""
    assert json.loads(ds.config_json.values[1])["geometry"]["pore_size_um"] == 2.0
    # The folder again, without running.
    again = lipf.load_study(out)
    np.testing.assert_allclose(again.cell_voltage_v.values, ds.cell_voltage_v.values)
    # An existing study folder is refused unless overwrite.
    with pytest.raises(lipf.LipfError, match="not empty"):
        lipf.study(tiny_study(), out=out, progress=False)


def test_study_errors(tmp_path, smoke_path):
    bad = tiny_study()
    bad["cases"][0]["set"] = {"geometry": {"porosity": 1.5}}
    with pytest.raises(lipf.ConfigError, match=r"geometry\.porosity"):
        lipf.study(bad, out=tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()
    twice = tiny_study()
    twice["cases"][1]["name"] = "pore-1um"
    with pytest.raises(lipf.LipfError, match="twice"):
        lipf.study(twice, out=tmp_path / "s", progress=False)
    with pytest.raises(FileNotFoundError):
        lipf.study(tmp_path / "missing.json")
