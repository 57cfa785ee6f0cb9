import json

import numpy as np
import pytest

import lipf

from conftest import REPO

# Bulk conductivity of the default materials: 0.46 mS/cm.
SIGMA_S_M = 0.046
DENSE = REPO / "configs" / "impedance" / "dense-slab.json"


def test_dense_slab_low_frequency_is_l_over_sigma_a():
    """A dense electrolyte cube between ideal electrodes (configs/impedance/dense-slab.json:
    full contact, no grain boundaries, R_pol = 0): Z → R = L/(σA) at low frequency."""
    ds = lipf.impedance(DENSE, overrides={"sweep.f_min_hz": 0.1})
    edge_m = 50e-6  # the default cube edge
    r = edge_m / (SIGMA_S_M * edge_m**2)
    assert ds.f.attrs["units"] == "Hz"
    assert float(ds.f[0]) == pytest.approx(0.1)
    assert np.all(np.diff(ds.f.values) > 0)
    assert float(ds.z_real[0]) == pytest.approx(r, rel=0.01)
    assert abs(float(ds.z_imag[0])) < 1e-6 * r
    assert float(ds.z_abs[0]) == pytest.approx(r, rel=0.01)
    assert abs(float(ds.z_phase[0])) < 0.01
    for v in ("z_real", "z_imag", "z_abs"):
        assert ds[v].attrs["units"] == "Ω"
    assert ds.z_phase.attrs["units"] == "degree"
    # The 1-D model, the fit (one RC) and the DRT agree on R.
    assert ds.attrs["model_1d_dc_resistance_ohm"] == pytest.approx(r, rel=1e-12)
    assert ds.attrs["fit_dc_resistance_ohm"] == pytest.approx(r, rel=0.01)
    assert float(ds.drt_peak_r_ohm.sum()) + ds.attrs["drt_r_inf_ohm"] == pytest.approx(r, rel=0.05)
    # The lin-KK test with enough elements: a linear RC network obeys Kramers–Kronig.
    assert ds.kk_residual_real.dims == ("f",) and ds.attrs["kk_m"] >= 1
    kk = lipf.impedance(DENSE, overrides={"sweep.f_min_hz": 0.1, "analysis.kk_elements": 40})
    assert kk.attrs["kk_m"] == 40 and kk.attrs["kk_max_abs_residual"] < 1e-3
    assert json.loads(ds.attrs["config_json"])["structure"]["grain_layers"] == 0


def test_voxel_array_slab():
    """A non-cubic dense block from a numpy array: R = L/(σA) with L = nz·d, A = nx·ny·d²."""
    nz, ny, nx, d_um = 8, 3, 5, 2.0
    ds = lipf.impedance(
        {"materials": {"polarization_resistance_ohm_cm2": 0}, "sweep": {"f_min_hz": 1, "f_max_hz": 1e9}},
        voxels=np.ones((nz, ny, nx)),
        voxel_size_um=d_um,
        solver="direct",
    )
    d = d_um * 1e-6
    r = nz * d / (SIGMA_S_M * nx * ny * d * d)
    assert float(ds.z_real[0]) == pytest.approx(r, rel=0.01)
    assert "model_1d_z_real" not in ds  # the 1-D model belongs to the model structure only
    with pytest.raises(ValueError, match="phase codes"):
        lipf.impedance(voxels=np.full((2, 2), 0.5), voxel_size_um=1.0)


def test_snapshot_and_files(smoke_run, tmp_path):
    ds = lipf.impedance(
        {"sweep": {"f_min_hz": 1.0, "f_max_hz": 1e8, "points_per_decade": 5}},
        fields=smoke_run,
        out=tmp_path / "imp",
    )
    assert ds.attrs["snapshot"] == "000002"
    assert np.all(np.isfinite(ds.z_real)) and np.all(ds.z_real > 0)
    for name in ("impedance.csv", "impedance.h5", "summary.json", "nyquist.png"):
        assert (tmp_path / "imp" / name).is_file(), name
    # A given spectrum is analysed only: the same KK result.
    again = lipf.impedance(
        {"analysis": {"fit_elements": 0}},
        spectrum=(ds.f.values, ds.z_real.values + 1j * ds.z_imag.values),
    )
    assert again.attrs["kk_m"] == ds.attrs["kk_m"]
    np.testing.assert_allclose(again.kk_residual_real, ds.kk_residual_real, atol=1e-9)
    assert "fit_z_real" not in again


def test_impedance_errors(tmp_path):
    with pytest.raises(lipf.ConfigError, match="voxels"):
        lipf.impedance({"structure": {"voxels": 0}})
    with pytest.raises(FileNotFoundError):
        lipf.impedance(fields=tmp_path / "nothing")
    with pytest.raises(ValueError, match="solver"):
        lipf.impedance(DENSE, solver="magic")
