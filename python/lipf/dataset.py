"""Reading a run folder (``fields.h5`` and the snapshot files it links to) into xarray."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import h5py
import numpy as np
import xarray as xr

FIELDS = ("xi", "c", "potential", "electronic_potential")

_LONG_NAMES = {
    "xi": "Li order parameter ξ (1 in Li)",
    "c": "Li⁺ concentration c/c0",
    "potential": "ionic potential φ_l (the single potential in that form)",
    "electronic_potential": "electronic potential φ_s (two-potential form)",
    "phi": "LLZO scaffold order parameter ϕ (1 in LLZO)",
}

# Units of time-series columns that fields.h5 does not list, from their names.
_SUFFIX_UNITS = (
    ("_a_m2", "A/m^2"),
    ("_mol_m2", "mol/m^2"),
    ("_c_m2", "C/m^2"),
    ("_um", "µm"),
    ("_v", "V"),
    ("_s", "s"),
)


def _plain(value: Any) -> Any:
    """An HDF5 attribute as a plain Python value."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _unit(name: str, ds: Optional[h5py.Dataset], units: Dict[str, str]) -> Optional[str]:
    if ds is not None and "units" in ds.attrs:
        return str(_plain(ds.attrs["units"]))
    if name in units:
        return units[name]
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return None


def _fields_path(run: Union[str, "os.PathLike[str]"]) -> Path:
    p = Path(run)
    if p.is_dir():
        p = p / "fields.h5"
    if not p.is_file():
        raise FileNotFoundError(
            f"{p}: no fields.h5 there (give a run folder or its fields.h5)"
        )
    return p


def _snapshot_source(fields: h5py.File, fields_dir: Path, name: str) -> Tuple[Path, str]:
    """The file and group of snapshot ``name``: the target of its external link, or the group
    inside fields.h5."""
    link = fields["snapshots"].get(name, getlink=True)
    if isinstance(link, h5py.ExternalLink):
        target = Path(link.filename)
        if not target.is_absolute():
            target = fields_dir / target
        return target, link.path
    return Path(fields.filename), f"/snapshots/{name}"


def _read_field(file: str, group: str, var: str) -> np.ndarray:
    with h5py.File(file, "r") as f:
        return f[group][var][...]


def _use_dask(lazy: Optional[bool]) -> bool:
    if lazy is False:
        return False
    try:
        import dask.array  # noqa: F401
    except ImportError:
        if lazy:
            raise ImportError("lipf.load(lazy=True) needs dask: pip install 'dask[array]'")
        return False
    return True


def load(run: Union[str, "os.PathLike[str]"], lazy: Optional[bool] = None) -> xr.Dataset:
    """A run's outputs as an :class:`xarray.Dataset`.

    ``run``: the run folder (or its ``fields.h5``); the ``snapshots/`` folder beside it is read
    through the links in ``fields.h5``.

    Variables:

    - ``xi``, ``c``, ``potential``: the snapshots, dims ``(t, y, x)`` (a 3D run:
      ``(t, z, y, x)``), float32 as stored;
    - ``phi``: the LLZO scaffold, dims ``(y, x)`` (3D: ``(z, y, x)``; it does not change);
    - the time series (``current_density_a_m2``, ``cell_voltage_v``, ``li_amount_mol_m2``,
      ``charge_c_m2``, ``li_in_electrolyte_mol_m2``, ``step``, ``solver_iterations`` and the
      morphology observables), dims ``(t_series,)``; ``channel_fill`` has dims
      ``(t_series, channel)``. The series is sampled more often than the snapshots, hence its
      own dimension.

    Coordinates: ``x``, ``y`` in µm at cell centres (``(i + 0.5)·dx``; ``y = 0`` is the current
    collector, the first row), ``t`` in s (snapshot times) with ``snapshot_step`` (the step of
    each snapshot) along it, and ``t_series`` in s (sample times). Every variable and coordinate
    has a ``units`` attribute. Dataset attributes: ``config_json`` (the resolved configuration
    of the run), ``geometry_json``, ``lipf_version``, ``nx``, ``ny``, ``dx_um``, ``width_um``,
    ``height_um``, ``row0``, ``run_dir``.

    ``lazy``: with dask installed (the default when it is, or ``lazy=True``), snapshots are
    dask arrays read on access, one chunk per snapshot; otherwise (``lazy=False``, or without
    dask) every snapshot is read now.
    """
    path = _fields_path(run)
    fields_dir = path.parent
    use_dask = _use_dask(lazy)
    with h5py.File(path, "r") as f:
        root = {k: _plain(v) for k, v in f.attrs.items()}
        units: Dict[str, str] = json.loads(root.get("units", "{}"))
        grid = {k: _plain(v) for k, v in f["grid"].attrs.items()}
        nx, ny, dx = int(grid["nx"]), int(grid["ny"]), float(grid["dx_um"])
        # A 3D run has nz sections along z; its fields are (nz, ny, nx).
        nz = int(grid["nz"]) if "nz" in grid else None
        static = f["static"]
        geometry_json = _plain(static.attrs.get("geometry_json", ""))
        phi = static["phi"][...]

        names = sorted(f["snapshots"]) if "snapshots" in f else []
        times: List[float] = []
        steps: List[int] = []
        sources: List[Tuple[Path, str]] = []
        eager: Dict[str, List[np.ndarray]] = {v: [] for v in FIELDS}
        dtypes: Dict[str, np.dtype] = {}
        for name in names:
            snap = f["snapshots"][name]
            times.append(float(snap.attrs["time_s"]))
            steps.append(int(snap.attrs["step"]))
            sources.append(_snapshot_source(f, fields_dir, name))
            for v in FIELDS:
                if use_dask:
                    dtypes.setdefault(v, snap[v].dtype)
                else:
                    eager[v].append(snap[v][...])

        series: Dict[str, Tuple[np.ndarray, Optional[str]]] = {}
        if "timeseries" in f:
            for k, ds in f["timeseries"].items():
                if isinstance(ds, h5py.Dataset):
                    series[k] = (ds[...], _unit(k, ds, units))

    shape = (ny, nx) if nz is None else (nz, ny, nx)
    space = ("y", "x") if nz is None else ("z", "y", "x")
    if use_dask:
        import dask
        import dask.array as da

        stacked = {}
        for v in FIELDS:
            parts = [
                da.from_delayed(
                    dask.delayed(_read_field)(os.fspath(file), group, v),
                    shape=shape,
                    dtype=dtypes.get(v, np.float32),
                )
                for file, group in sources
            ]
            stacked[v] = (
                da.stack(parts) if parts else da.zeros((0,) + shape, dtype=np.float32)
            )
    else:
        stacked = {
            v: np.stack(eager[v]) if eager[v] else np.zeros((0,) + shape, np.float32)
            for v in FIELDS
        }

    data_vars: Dict[str, Any] = {}
    for v in FIELDS:
        data_vars[v] = xr.Variable(
            ("t",) + space,
            stacked[v],
            attrs={"units": units.get(v, ""), "long_name": _LONG_NAMES[v]},
        )
    data_vars["phi"] = xr.Variable(
        space, phi, attrs={"units": units.get("phi", "1"), "long_name": _LONG_NAMES["phi"]}
    )

    t_series = series.pop("time_s", (np.zeros(0), "s"))[0]
    n = len(t_series)
    for k, (values, unit) in series.items():
        if values.ndim == 0 or k in data_vars:
            continue
        m = min(n, values.shape[0])
        dims = ("t_series",) if values.ndim == 1 else ("t_series", "channel")
        if values.ndim > 2:
            continue
        full = values[:m]
        if m < n:  # a column shorter than the time column: pad with NaN
            pad = np.full((n - m,) + values.shape[1:], np.nan)
            full = np.concatenate([full.astype(float), pad])
        attrs = {"units": unit} if unit is not None else {}
        data_vars[k] = xr.Variable(dims, full, attrs=attrs)

    coords = {
        "x": xr.Variable(
            "x", (np.arange(nx) + 0.5) * dx, attrs={"units": "µm", "long_name": "x (cell centre)"}
        ),
        "y": xr.Variable(
            "y",
            (np.arange(ny) + 0.5) * dx,
            attrs={"units": "µm", "long_name": "y (cell centre; 0 = current collector)"},
        ),
        **(
            {}
            if nz is None
            else {
                "z": xr.Variable(
                    "z", (np.arange(nz) + 0.5) * dx, attrs={"units": "µm", "long_name": "z (cell centre)"}
                )
            }
        ),
        "t": xr.Variable("t", np.asarray(times, dtype=float), attrs={"units": "s", "long_name": "snapshot time"}),
        "snapshot_step": xr.Variable("t", np.asarray(steps, dtype=np.int64), attrs={"units": "1"}),
        "t_series": xr.Variable(
            "t_series", np.asarray(t_series, dtype=float), attrs={"units": "s", "long_name": "time-series sample time"}
        ),
    }
    attrs = {
        "config_json": root.get("config_json", ""),
        "geometry_json": geometry_json,
        "lipf_version": root.get("lipf_version", ""),
        "row0": root.get("row0", "bottom (y = 0, current collector)"),
        "nx": nx,
        "ny": ny,
        "dx_um": dx,
        "width_um": float(grid.get("width_um", nx * dx)),
        "height_um": float(grid.get("height_um", ny * dx)),
        **({} if nz is None else {"nz": nz, "depth_um": float(grid.get("depth_um", nz * dx))}),
        "run_dir": os.fspath(fields_dir.resolve()),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
