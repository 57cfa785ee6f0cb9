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
    assert g["dataset"]["phi"].dims == ("y", "x")
    assert float(g["dataset"]["phi"].sel(y=g["y_um"][-1], x=g["x_um"][3])) == g["phi"][-1, 3]
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


def _voxel_conductivity_y(conducting: np.ndarray, floor: float) -> float:
    """σ_eff/σ_p along y of a (nz, rows, nx) voxel block, solved here with scipy: cell
    conductivity 1 (conducting) or ``floor``, faces the harmonic mean of their two cells,
    periodic in x and z, potential 1 and 0 half a cell below the first and above the last row
    (boundary faces 2σ). The discretisation TauFactor uses on segmented images."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    nz, ny, nx = conducting.shape
    sig = np.where(conducting, 1.0, floor).ravel()
    idx = np.arange(nz * ny * nx).reshape(nz, ny, nx)
    rows, cols, vals = [], [], []
    diag = np.zeros(nz * ny * nx)
    b = np.zeros(nz * ny * nx)

    def couple(a: np.ndarray, c: np.ndarray) -> None:
        a, c = a.ravel(), c.ravel()
        g = 2 * sig[a] * sig[c] / (sig[a] + sig[c])
        rows.extend([a, c])
        cols.extend([c, a])
        vals.extend([-g, -g])
        np.add.at(diag, a, g)
        np.add.at(diag, c, g)

    couple(idx, np.roll(idx, -1, axis=2))  # x, periodic
    couple(idx, np.roll(idx, -1, axis=0))  # z, periodic
    couple(idx[:, :-1, :], idx[:, 1:, :])  # y, inside
    bottom, top = idx[:, 0, :].ravel(), idx[:, -1, :].ravel()
    np.add.at(diag, bottom, 2 * sig[bottom])
    np.add.at(diag, top, 2 * sig[top])
    b[bottom] = 2 * sig[bottom]
    n = nz * ny * nx
    a = sp.csr_matrix(
        (np.concatenate(vals + [diag]), (np.concatenate(rows + [np.arange(n)]), np.concatenate(cols + [np.arange(n)]))),
        shape=(n, n),
    )
    u = spla.spsolve(a.tocsc(), b)
    current = np.sum(2 * sig[top] * u[top])
    return current * ny / (nx * nz)


def test_3d_random_spheres_match_an_independent_voxel_solve_and_the_boolean_model():
    g = lipf.geometry(
        None,
        overrides={
            "name": "spheres-3d",
            "domain.width_um": 6.0,
            "domain.depth_um": 6.0,
            "domain.height_um": 10.0,
            "domain.grid_spacing_um": 0.25,
            "geometry.kind": "random_spheres",
            "geometry.pore_size_um": 1.5,
            "geometry.porosity": 0.4,
            "geometry.li_foil_thickness_um": 2.0,
            "geometry.dense_cap_thickness_um": 2.0,
            "geometry.impregnation_depth_um": 1.0,
            "geometry.seed": 5,
        },
    )
    assert g["grid"]["nz"] == 24 and g["phi"].shape == (24, 40, 24)
    ds = g["dataset"]
    assert ds["phi"].dims == ("z", "y", "x") and ds["z"].values[0] == pytest.approx(0.125)
    np.testing.assert_array_equal(ds["xi"].values, g["xi"])
    assert g["metrics"]["dimensions"] == 3
    j0, j1 = g["band_rows"]
    band = g["phi"][:, j0:j1, :]
    assert g["local_thickness_um"].shape == band.shape
    # The voxel conduction problem solved by scipy's direct solver agrees with lipf's
    # preconditioned CG on the same voxels.
    c = g["metrics"]["conductivity"]
    independent = _voxel_conductivity_y(band >= 0.5, 1e-9)
    assert c["voxel_relative"] == pytest.approx(independent, rel=1e-6)
    assert 1.0 < c["voxel_tortuosity_factor"] < 5.0
    # Porosity near the Boolean model's at the drawn density (a small box: 5 %).
    assert g["porosity"] == pytest.approx(g["geometry"]["porosity_expected"], rel=0.05)


def test_3d_surface_matches_scikit_image_marching_cubes():
    """The specific surface of a 3D cylinder scaffold against an independent iso-surface: scikit-
    image's marching cubes (Lewiner) on the same ϕ over the measurement band, wrapped by one cell
    in the periodic x and z so that every dual cube between cell centres is taken once. The
    cylinders are straight along y, so both areas per unit height compare directly; both are
    within 1 % of the analytic 4φ/δ."""
    from skimage import measure

    g = lipf.geometry(
        None,
        overrides={
            "name": "cylinders-3d",
            "domain.width_um": 6.25,
            "domain.depth_um": 6.25,
            "domain.height_um": 10.0,
            "domain.grid_spacing_um": 0.125,
            "geometry.kind": "cylinders",
            "geometry.lattice": "square",
            "geometry.pore_size_um": 5.0,
            "geometry.porosity": 0.5,
            "geometry.li_foil_thickness_um": 2.0,
            "geometry.dense_cap_thickness_um": 2.0,
            "geometry.impregnation_depth_um": 1.0,
        },
    )
    dx = g["grid"]["dx_um"]
    j0, j1 = g["band_rows"]
    band = g["phi"][:, j0:j1, :]
    padded = np.pad(band, ((0, 1), (0, 0), (0, 1)), mode="wrap")
    verts, faces, _, _ = measure.marching_cubes(padded, level=0.5, spacing=(dx, dx, dx))
    per_height_skimage = measure.mesh_surface_area(verts, faces) / ((j1 - j0 - 1) * dx)
    width, depth = 6.25, 6.25
    per_height_lipf = g["specific_surface_per_um"] * width * depth
    assert per_height_lipf == pytest.approx(per_height_skimage, rel=0.005)
    phi_lattice = g["geometry"]["porosity_geometric"]
    analytic = 4 * phi_lattice / 5.0 * width * depth  # one cylinder: its circumference π·5 µm
    assert analytic == pytest.approx(np.pi * 5.0, rel=1e-12)
    assert per_height_lipf == pytest.approx(analytic, rel=0.01)
    assert per_height_skimage == pytest.approx(analytic, rel=0.01)
