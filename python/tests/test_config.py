import math

import pytest

import lipf


def test_config_error_names_the_path():
    with pytest.raises(lipf.ConfigError) as info:
        lipf.Config({"geometry": {"porosity": 1.5}})
    e = info.value
    assert isinstance(e, ValueError)
    assert "geometry.porosity" in str(e)
    assert "1.5" in str(e)
    assert e.path == "geometry.porosity"
    assert e.value == "1.5"
    assert e.allowed


def test_run_and_check_raise_config_error(tmp_path):
    bad = {"geometry": {"porosity": 1.5}}
    with pytest.raises(lipf.ConfigError, match=r"geometry\.porosity"):
        lipf.run(bad, out=tmp_path / "run", progress=False)
    with pytest.raises(lipf.ConfigError, match=r"geometry\.porosity"):
        lipf.check(bad)
    assert not (tmp_path / "run").exists()


def test_unknown_field_names_the_path():
    with pytest.raises(lipf.ConfigError, match=r"geometry\.porosty") as info:
        lipf.Config({"geometry": {"porosty": 0.5}})
    assert info.value.path == "geometry.porosty"


def test_budget_is_a_config_error(smoke_path):
    with pytest.raises(lipf.ConfigError, match=r"limits\.max_steps"):
        lipf.check(smoke_path, overrides={"limits.max_steps": 1})


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        lipf.Config("no/such/config.json")


def test_config_from_path_dict_and_default(smoke_path, smoke_dict):
    from_path = lipf.Config(smoke_path)
    from_dict = lipf.Config(smoke_dict)
    assert from_path == from_dict
    assert from_path.name == "smoke"
    assert from_path.to_dict()["geometry"]["pore_size_um"] == 1.5
    # Every field resolved, defaults included.
    assert "limits" in from_path.to_dict()
    assert lipf.Config().name == lipf.Config.default().name
    assert lipf.Config(from_path) == from_path
    changed = from_path.updated({"geometry.pore_size_um": 1.0})
    assert changed["geometry.pore_size_um"] == 1.0
    assert from_path["geometry.pore_size_um"] == 1.5


def test_check_returns_finite_estimates(smoke_path):
    c = lipf.check(smoke_path)
    assert c["name"] == "smoke"
    assert c["grid"]["nx"] == 40 and c["grid"]["ny"] == 48
    est = c["estimate"]
    for key in (
        "steps",
        "substeps_per_step",
        "snapshots",
        "output_bytes",
        "memory_bytes",
        "wall_time_s",
        "dt_s",
        "dt_np_s",
    ):
        assert math.isfinite(est[key]) and est[key] > 0, key
    assert est["snapshots"] == 3
    coeffs = c["coefficients"]
    assert math.isfinite(coeffs["w1_j_m3"]) and coeffs["w1_j_m3"] > 0
    assert coeffs["dx_m"] == pytest.approx(0.25e-6)
    assert "double well W1" in c["coefficients_text"]
    assert c["geometry"]["channels"] >= 1
