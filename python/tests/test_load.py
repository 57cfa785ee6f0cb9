import json

import h5py
import numpy as np
import pytest

import lipf


def modes():
    try:
        import dask  # noqa: F401

        return [False, True]
    except ImportError:
        return [False]


@pytest.mark.parametrize("lazy", modes())
def test_load_matches_checkpoint(smoke_run, lazy):
    ds = lipf.load(smoke_run.path, lazy=lazy)
    nx, ny = 40, 48
    assert ds.xi.dims == ("t", "y", "x")
    assert ds.xi.shape == (3, ny, nx)
    assert ds.phi.dims == ("y", "x")
    np.testing.assert_allclose(ds.t.values, [0.0, 1.0, 2.0])
    assert ds.t.attrs["units"] == "s"
    # Coordinates in µm at cell centres.
    for dim, n in (("x", nx), ("y", ny)):
        assert ds[dim].attrs["units"] == "µm"
        np.testing.assert_allclose(ds[dim].values, (np.arange(n) + 0.5) * 0.25)
    assert ds.attrs["dx_um"] == 0.25
    assert ds.potential.attrs["units"] == "V"
    # The last snapshot is the checkpoint's state, rounded to f32.
    with h5py.File(smoke_run.path / "checkpoint.h5", "r") as f:
        xi = f["xi"][...]
        phi = f["phi"][...]
        step = int(f.attrs["step"])
    last = np.asarray(ds.xi.isel(t=-1).values)
    assert last.dtype == np.float32
    tol = np.finfo(np.float32).eps * np.maximum(1.0, np.abs(xi))
    assert np.all(np.abs(last.astype(np.float64) - xi) <= tol)
    assert np.all(np.abs(ds.phi.values.astype(np.float64) - phi) <= tol)
    assert int(ds.snapshot_step[-1]) == step == smoke_run["steps"]
    # Row 0 is the bottom: the Li foil (ξ = 1) sits at y = 0.
    assert float(ds.xi.isel(t=0, y=0).mean()) > 0.9


def test_load_time_series_and_attributes(smoke_run):
    ds = lipf.load(smoke_run.path, lazy=False)
    assert ds.cell_voltage_v.dims == ("t_series",)
    assert ds.cell_voltage_v.attrs["units"] == "V"
    assert ds.current_density_a_m2.attrs["units"] == "A/m^2"
    assert ds.t_series.attrs["units"] == "s"
    np.testing.assert_allclose(ds.t_series.values[[0, -1]], [0.0, 2.0])
    assert len(ds.t_series) == 21
    assert float(ds.current_density_a_m2[-1]) == pytest.approx(2.0, rel=1e-3)
    config = json.loads(ds.attrs["config_json"])
    assert config["name"] == "smoke"
    assert config == lipf.Config(config).to_dict()
    # The time series agrees with timeseries.csv.
    rows = (smoke_run.path / "timeseries.csv").read_text().splitlines()
    assert len(rows) == 1 + len(ds.t_series)
    # fields.h5 itself may be given instead of the folder.
    again = lipf.load(smoke_run.path / "fields.h5", lazy=False)
    assert again.xi.shape == ds.xi.shape


def test_load_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        lipf.load(tmp_path / "nothing")


@pytest.mark.parametrize("lazy", modes())
def test_a_3d_run_loads_as_a_volume(tmp_path, lazy):
    # A flat Li layer under dense LLZO in a box 1 µm deep (4 sections), with the implicit
    # Nernst–Planck step that 3D runs take: fields (t, z, y, x), the checkpoint's last state.
    cfg = {
        "name": "flat-3d",
        "domain": {"width_um": 2.0, "height_um": 8.0, "depth_um": 1.0, "grid_spacing_um": 0.25},
        "geometry": {"kind": "flat", "li_foil_thickness_um": 3.0, "dense_cap_thickness_um": 2.0},
        "model": {"nernst_planck": "implicit"},
        "time": {"end_time_s": 0.4},
        "output": {"snapshot_interval_s": 0.2, "timeseries_interval_s": 0.1, "images": False},
    }
    run = lipf.run(cfg, out=tmp_path / "run", progress=False)
    ds = lipf.load(run.path, lazy=lazy)
    assert ds.xi.dims == ("t", "z", "y", "x")
    assert ds.xi.shape == (3, 4, 32, 8)
    assert ds.phi.dims == ("z", "y", "x")
    np.testing.assert_allclose(ds.z.values, (np.arange(4) + 0.5) * 0.25)
    assert ds.attrs["nz"] == 4 and ds.attrs["depth_um"] == 1.0
    with h5py.File(run.path / "checkpoint.h5", "r") as f:
        xi = f["xi"][...]
    assert xi.shape == (4, 32, 8)
    last = np.asarray(ds.xi.isel(t=-1).values).astype(np.float64)
    assert np.all(np.abs(last - xi) <= np.finfo(np.float32).eps * np.maximum(1.0, np.abs(xi)))
    # The box is uniform in z: every section is the same flat layer.
    assert np.abs(last - last[:1]).max() < 1e-6
