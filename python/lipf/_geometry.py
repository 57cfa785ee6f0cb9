"""``lipf.geometry``: the scaffold of a configuration, built and measured in this process."""

from __future__ import annotations

import json
import os
from typing import Any, Mapping, Optional

import numpy as np
import xarray as xr

from . import _lipf


def _array(raw: bytes, shape: tuple) -> np.ndarray:
    return np.frombuffer(raw, dtype="<f8").astype(np.float64).reshape(shape)


def geometry(
    config: Any = None,
    overrides: Optional[Mapping[str, Any]] = None,
    *,
    out: Optional["os.PathLike[str] | str"] = None,
) -> dict:
    """Builds the scaffold of a configuration and measures it, as ``lipf geometry`` does, in
    this process and without writing files (unless ``out`` is given: then the files of
    ``lipf geometry --out`` are written there too).

    ``config``: a :class:`Config`, a dict, a path to a JSON file, or None (the default case);
    ``overrides`` applies dotted-path overrides (``{"geometry.pore_size_um": 1.0}``).

    Returns a dict:

    - the metrics (docs/geometry.md), flat: ``porosity`` (mean of 1 − h(ϕ) over the
      measurement band), ``porosity_target``, ``porosity_cells``,
      ``specific_surface_per_um`` (measured: marching squares in a section, marching
      tetrahedra in 3D), ``specific_surface_slit_per_um`` and
      ``specific_surface_cylinder_per_um`` (analytic 2φ/δ, 4φ/δ; None without a pore size),
      ``specific_surface_spheres_per_um`` (``random_spheres``: the Boolean model's value),
      ``pore_size_mean_um``, ``pore_size_d10_um``, ``pore_size_median_um``,
      ``pore_size_d90_um`` (local thickness), ``effective_conductivity_s_m``,
      ``relative_conductivity`` (σ_eff/σ_p along y), ``tortuosity_factor``,
      ``bruggeman_conductivity_s_m``, ``bruggeman_relative``, ``llzo_conductivity_s_m``;
    - ``current_reduction``: J_local/J_applied against the impregnation depth, a dict of numpy
      arrays ``depth_um``, ``measured``, ``measured_with_foil_contact``, ``slit``,
      ``cylinder`` (NaN where not defined);
    - ``pore_size_distribution``: ``bin_lower_um``, ``area_fraction`` (numpy arrays);
    - the fields of the scaffold as built, numpy (ny, nx) arrays ((nz, ny, nx) for a 3D domain,
      ``domain.depth_um``) with row 0 at the current collector: ``phi`` (LLZO) and ``xi``
      (initial Li); ``x_um``, ``y_um``, ``z_um`` (cell centres);
      ``local_thickness_um`` (the local thickness of the pore cells of the measurement band,
      rows ``band_rows[0]:band_rows[1]``, 0 in the solid);
    - ``dataset``: ϕ and ξ as an :class:`xarray.Dataset` with coordinates ``x``, ``y`` (and
      ``z`` in 3D), µm;
    - ``geometry`` (the scaffold as built: kind, channels, period, …), ``metrics`` (the
      complete nested metrics, as ``metrics.json``), ``name``, ``lipf_version``, ``grid``
      (nx, ny, nz, dx_um) and ``text`` (what ``lipf geometry`` prints).

    Raises :class:`ConfigError` for an invalid configuration and :class:`LipfError` when the
    scaffold cannot be measured (a scaffold region too thin).
    """
    from . import _as_config

    cfg = _as_config(config, overrides)
    report_json, text, nx, ny, dx, phi, xi, j0, j1, lt = _lipf.geometry(
        cfg.to_json(), out_dir=os.fspath(out) if out is not None else None
    )
    report = json.loads(report_json)
    m = report["metrics"]
    s = m["specific_surface"]
    c = m["conductivity"]
    psd = m["pore_size_distribution"]
    cr = m["current_reduction"]

    # A 3D domain gives (nz, ny, nx) arrays, a 2D section (ny, nx).
    nz = report["geometry"].get("nz", 1)
    section = (nz,) if nz > 1 else ()

    def col(key: str) -> np.ndarray:
        return np.array([np.nan if p[key] is None else p[key] for p in cr], dtype=float)

    phi_arr = _array(phi, section + (ny, nx))
    xi_arr = _array(xi, section + (ny, nx))
    dims = ("z", "y", "x") if nz > 1 else ("y", "x")
    coords = {
        "x": xr.Variable("x", (np.arange(nx) + 0.5) * dx, attrs={"units": "um", "long_name": "x (periodic)"}),
        "y": xr.Variable(
            "y", (np.arange(ny) + 0.5) * dx, attrs={"units": "um", "long_name": "height above the collector"}
        ),
    }
    if nz > 1:
        coords["z"] = xr.Variable("z", (np.arange(nz) + 0.5) * dx, attrs={"units": "um", "long_name": "z (periodic)"})
    dataset = xr.Dataset(
        {
            "phi": xr.Variable(dims, phi_arr, attrs={"units": "1", "long_name": "LLZO order parameter"}),
            "xi": xr.Variable(dims, xi_arr, attrs={"units": "1", "long_name": "Li order parameter (initial)"}),
        },
        coords=coords,
        attrs={"name": report["name"], "kind": report["geometry"]["kind"], "dx_um": dx},
    )
    return {
        "dataset": dataset,
        "name": report["name"],
        "lipf_version": report["lipf_version"],
        "porosity": m["porosity"],
        "porosity_target": m["porosity_target"],
        "porosity_cells": m["porosity_cells"],
        "specific_surface_per_um": s["measured_per_um"],
        "specific_surface_slit_per_um": s["analytic_slit_per_um"],
        "specific_surface_cylinder_per_um": s["analytic_cylinder_per_um"],
        "specific_surface_spheres_per_um": s["analytic_spheres_per_um"],
        "pore_size_mean_um": psd["mean_um"],
        "pore_size_d10_um": psd["d10_um"],
        "pore_size_median_um": psd["median_um"],
        "pore_size_d90_um": psd["d90_um"],
        "effective_conductivity_s_m": m["effective_conductivity_s_m"],
        "relative_conductivity": c["relative"],
        "tortuosity_factor": c["tortuosity_factor"],
        "bruggeman_conductivity_s_m": m["bruggeman_conductivity_s_m"],
        "bruggeman_relative": c["bruggeman_relative"],
        "llzo_conductivity_s_m": m["llzo_conductivity_s_m"],
        "current_reduction": {
            "depth_um": col("depth_um"),
            "measured": col("measured"),
            "measured_with_foil_contact": col("measured_with_foil_contact"),
            "slit": col("slit"),
            "cylinder": col("cylinder"),
        },
        "pore_size_distribution": {
            "bin_lower_um": np.asarray(psd["bin_lower_um"], dtype=float),
            "area_fraction": np.asarray(psd["area_fraction"], dtype=float),
        },
        "phi": phi_arr,
        "xi": xi_arr,
        "x_um": (np.arange(nx) + 0.5) * dx,
        "y_um": (np.arange(ny) + 0.5) * dx,
        "z_um": (np.arange(nz) + 0.5) * dx,
        "local_thickness_um": _array(lt, section + (j1 - j0, nx)),
        "band_rows": (j0, j1),
        "band_um": (m["band_bottom_um"], m["band_top_um"]),
        "grid": {"nx": nx, "ny": ny, "nz": nz, "dx_um": dx},
        "geometry": report["geometry"],
        "metrics": m,
        "text": text,
    }
