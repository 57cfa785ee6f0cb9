import numpy as np
import pytest

import lipf


def test_geometry_metrics_and_fields(smoke_path):
    g = lipf.geometry(smoke_path)
    assert g["name"] == "smoke"
    # Three 1.5 µm channels at 50 % nominal porosity: slits of δ = 1.5 µm, S = 2φ/δ.
    assert g["geometry"]["channels"] == 3
    assert 0.4 < g["porosity"] < 0.55
    assert g["specific_surface_per_um"] == pytest.approx(g["specific_surface_slit_per_um"], rel=0.02)
    assert g["specific_surface_cylinder_per_um"] == pytest.approx(2 * g["specific_surface_slit_per_um"])
    assert 1.0 < g["pore_size_median_um"] <= 1.5
    # Straight channels along y: no tortuosity, σ_eff = σ_p (1 − f).
    assert g["tortuosity_factor"] == pytest.approx(1.0, abs=1e-3)
    assert g["relative_conductivity"] == pytest.approx(1 - g["porosity"], rel=1e-3)
    assert g["effective_conductivity_s_m"] == pytest.approx(
        g["relative_conductivity"] * g["llzo_conductivity_s_m"]
    )
    cr = g["current_reduction"]
    assert cr["depth_um"][0] == 1.0 and len(cr["measured"]) == len(cr["depth_um"])
    np.testing.assert_allclose(cr["measured"], 1 / (cr["depth_um"] * g["specific_surface_per_um"]))
    assert g["pore_size_distribution"]["area_fraction"].sum() == pytest.approx(1.0)
    # The fields as built: (ny, nx), row 0 the current collector (Li foil).
    assert g["phi"].shape == g["xi"].shape == (48, 40)
    assert g["xi"][0].mean() > 0.9 and g["phi"][-1].mean() > 0.9
    j0, j1 = g["band_rows"]
    assert g["local_thickness_um"].shape == (j1 - j0, 40)
    assert g["local_thickness_um"].max() <= 1.5 + 1e-9
    assert "porosity" in g["text"]
    # The same as `lipf check` reports for the geometry.
    assert g["geometry"] == lipf.check(smoke_path)["geometry"]


def test_geometry_overrides_and_files(smoke_path, tmp_path):
    narrow = lipf.geometry(smoke_path, overrides={"geometry.pore_size_um": 1.0})
    wide = lipf.geometry(smoke_path)
    assert narrow["specific_surface_per_um"] > wide["specific_surface_per_um"]
    assert not any(tmp_path.iterdir())
    written = lipf.geometry(smoke_path, out=tmp_path / "geo")
    for name in ("metrics.json", "current_reduction.csv", "pore_size_distribution.csv", "scaffold.png"):
        assert (tmp_path / "geo" / name).is_file(), name
    assert written["porosity"] == wide["porosity"]


def test_geometry_config_error():
    with pytest.raises(lipf.ConfigError, match=r"geometry\.porosity"):
        lipf.geometry({"geometry": {"porosity": 2.0}})
