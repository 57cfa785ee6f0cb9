"""``lipf.impedance``: virtual impedance spectroscopy (docs/models/impedance.md) into xarray."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import xarray as xr

from . import _lipf

PathLike = Union[str, "os.PathLike[str]"]


def impedance_config(
    config: Union[Mapping[str, Any], PathLike, None] = None,
    overrides: Optional[Mapping[str, Any]] = None,
) -> dict:
    """An impedance configuration (``lipf impedance --config``) as a dict, with dotted-path
    ``overrides`` applied (``{"sweep.f_min_hz": 1.0}``); missing fields keep their defaults
    (the seed's model structure). ``config`` is a dict, a path to a JSON file or None."""
    if config is None:
        d: dict = {}
    elif isinstance(config, Mapping):
        d = copy.deepcopy(dict(config))
    else:
        d = json.loads(Path(config).read_text(encoding="utf-8"))
    for path, value in (overrides or {}).items():
        node = d
        parts = path.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {path!r}: {p!r} is not an object")
        node[parts[-1]] = value
    return d


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _fields_file(fields: Any) -> str:
    p = Path(getattr(fields, "path", fields))
    if p.is_dir():
        p = p / "fields.h5"
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no fields.h5 there (give a run folder or its fields.h5)")
    return os.fspath(p)


def _codes(voxels: Any) -> Tuple[bytes, Tuple[int, int, int]]:
    a = np.asarray(voxels)
    if a.ndim == 2:
        shape = (a.shape[0], 1, a.shape[1])  # a section: rows are the z layers
    elif a.ndim == 3:
        shape = tuple(int(n) for n in a.shape)
    else:
        raise ValueError(f"voxels: expected a (nz, ny, nx) or (ny, nx) array, got shape {a.shape}")
    if a.dtype != np.uint8:
        bad = ~np.isin(a, (0, 1, 2))
        if bad.any():
            k = int(np.flatnonzero(bad.ravel())[0])
            raise ValueError(
                f"voxels: value {a.ravel()[k]!r} at flat index {k}: voxel values must be the "
                "phase codes 0 (pore), 1 (electrolyte) or 2 (metal)"
            )
        a = a.astype(np.uint8)
    return np.ascontiguousarray(a).tobytes(), shape  # type: ignore[return-value]


def impedance(
    config: Union[Mapping[str, Any], PathLike, None] = None,
    *,
    voxels: Any = None,
    voxel_size_um: Optional[float] = None,
    voxel_file: Optional[PathLike] = None,
    fields: Any = None,
    snapshot: Union[int, str] = "last",
    csv: Optional[PathLike] = None,
    spectrum: Optional[Tuple[Sequence[float], Sequence[complex]]] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    solver: str = "cocg",
    adapter: Optional[str] = None,
    tol: float = 1e-10,
    max_iterations: int = 200_000,
    max_memory_gib: float = 16.0,
    out: Optional[PathLike] = None,
    overwrite: bool = False,
) -> xr.Dataset:
    """The impedance spectrum of a microstructure, as ``lipf impedance`` computes it, with the
    lin-KK test, the distribution of relaxation times (DRT) and the R0 + n RC fit, as an
    :class:`xarray.Dataset`. Nothing is written unless ``out`` is given (then the files of
    ``lipf impedance --out``: impedance.csv, impedance.h5, plots, fit.md, summary.json).

    ``config``: the impedance configuration (``configs/impedance/*.json``: ``structure``,
    ``materials``, ``sweep``, ``analysis``) as a dict or a JSON file; None: the defaults (the
    seed's model structure, 0.1 Hz to 10 MHz). ``overrides``: dotted paths, e.g.
    ``{"materials.polarization_resistance_ohm_cm2": 0}``.

    The structure, one of (default: the configuration's model structure):

    - ``voxels``: a numpy array of phase codes (0 pore, 1 electrolyte, 2 metal), shape
      (nz, ny, nx) (z = 0 next to the working electrode) or (ny, nx) (a one-voxel-thick
      section, row 0 next to the working electrode), with ``voxel_size_um``;
    - ``voxel_file``: an HDF5 voxel file (dataset ``/voxels``; ``voxel_size_um`` overrides its
      attribute);
    - ``fields``: a run (folder, ``fields.h5`` or :class:`RunResult`) and its ``snapshot``
      (a number or ``"last"``), 2D or 3D: Li where ξ > ½, LLZO where ϕ > ½, pore elsewhere;
    - ``csv`` (a measured spectrum: f_hz, re_ohm, im_ohm) or ``spectrum`` = ``(f_hz, z)``
      with complex ``z``: analysed only.

    ``solver``: ``"cocg"`` (default), ``"cocr"``, ``"direct"`` (sparse LU) or ``"gpu"``
    (``adapter`` picks the adapter); ``tol``, ``max_iterations``: of the iterative solvers;
    ``max_memory_gib``: structures whose network needs more are refused before allocating.

    The Dataset, sorted by frequency (ascending):

    - coordinate ``f`` (Hz); ``z_real``, ``z_imag``, ``z_abs`` (Ω) and ``z_phase`` (degrees)
      along ``f`` (Z = V/I, Im Z < 0 for capacitive behaviour);
    - lin-KK: ``kk_residual_real``, ``kk_residual_imag`` (relative to \\|Z\\|), ``kk_z_real``,
      ``kk_z_imag`` (the KK fit) along ``f``; ``kk_tau_s``, ``kk_r_ohm`` along ``kk_element``;
      attributes ``kk_m``, ``kk_mu``, ``kk_r0_ohm``, ``kk_max_abs_residual``;
    - DRT: ``drt_gamma_ohm`` along ``tau`` (s); ``drt_peak_tau_s``, ``drt_peak_f_hz``,
      ``drt_peak_r_ohm``, ``drt_peak_gamma_ohm`` along ``drt_peak``; attributes
      ``drt_lambda``, ``drt_lambda_from_gcv``, ``drt_r_inf_ohm``, ``drt_rms_relative``;
    - fit (when ``analysis.fit_elements`` > 0): ``fit_z_real``, ``fit_z_imag`` along ``f``,
      ``fit_r_ohm``, ``fit_c_f``, ``fit_tau_s`` along ``fit_element``; attributes
      ``fit_r0_ohm``, ``fit_dc_resistance_ohm``, ``fit_rms_relative``, ``fit_chi2``;
    - the 1-D physical model (model structure only): ``model_1d_z_real``, ``model_1d_z_imag``,
      attribute ``model_1d_dc_resistance_ohm``;
    - the sweep: ``solver_iterations``, ``solver_relative_residual``, ``current_balance``;
    - attributes ``name``, ``input`` (a description), ``config_json`` (resolved),
      ``input_json``, ``network_json``, ``solver_json``, ``fit_json``, ``model_1d_json``,
      ``lipf_version``, ``out``.

    Raises :class:`ConfigError` for an invalid configuration and :class:`LipfError` when the
    structure cannot be read, built or solved. The sweep runs with the GIL released; Ctrl-C
    takes effect when it ends.
    """
    given = [
        k
        for k, v in (
            ("voxels", voxels),
            ("voxel_file", voxel_file),
            ("fields", fields),
            ("csv", csv),
            ("spectrum", spectrum),
        )
        if v is not None
    ]
    if len(given) > 1:
        raise ValueError(f"give at most one structure or spectrum, got {', '.join(given)}")
    cfg = impedance_config(config, overrides)
    kwargs: dict = dict(
        config_json=json.dumps(cfg, default=_default),
        solver=solver,
        adapter=adapter,
        tol=float(tol),
        max_iterations=int(max_iterations),
        max_memory_gib=float(max_memory_gib),
        out=os.fspath(out) if out is not None else None,
        overwrite=overwrite,
        voxel_size_um=None if voxel_size_um is None else float(voxel_size_um),
    )
    if voxels is not None:
        codes, shape = _codes(voxels)
        kwargs.update(source="voxels", codes=codes, shape=shape)
    elif voxel_file is not None:
        kwargs.update(source="voxel_file", path=os.fspath(voxel_file))
    elif fields is not None:
        kwargs.update(source="fields", path=_fields_file(fields), snapshot=str(snapshot))
    elif csv is not None:
        kwargs.update(source="csv", path=os.fspath(csv))
    elif spectrum is not None:
        f, z = spectrum
        z = np.asarray(z, dtype=complex)
        kwargs.update(
            source="spectrum",
            f_hz=np.asarray(f, dtype=float).tolist(),
            z_re=z.real.tolist(),
            z_im=z.imag.tolist(),
        )
    else:
        kwargs.update(source="model")
    return _dataset(json.loads(_lipf.impedance(**kwargs)))


def _dataset(r: dict) -> xr.Dataset:
    f = np.asarray(r["f_hz"], dtype=float)
    z = np.asarray(r["z_re"], dtype=float) + 1j * np.asarray(r["z_im"], dtype=float)
    omega = 2 * np.pi * f

    def var(dims, values, units, long_name):
        return xr.Variable(dims, np.asarray(values), attrs={"units": units, "long_name": long_name})

    ohm = "Ω"
    data = {
        "z_real": var("f", z.real, ohm, "Re Z"),
        "z_imag": var("f", z.imag, ohm, "Im Z"),
        "z_abs": var("f", np.abs(z), ohm, "|Z|"),
        "z_phase": var("f", np.degrees(np.angle(z)), "degree", "phase of Z"),
    }
    attrs: dict = {
        "name": r.get("name", ""),
        "input": (r.get("input") or {}).get("description", "")
        or (r.get("input") or {}).get("csv", ""),
        "config_json": json.dumps(r.get("config", {})),
        "input_json": json.dumps(r.get("input", {})),
        "lipf_version": r.get("lipf_version", ""),
        "out": r.get("out") or "",
    }
    if r.get("snapshot"):
        attrs["snapshot"] = r["snapshot"]
    if r.get("warnings"):
        attrs["warnings"] = "; ".join(r["warnings"])

    kk = r["kk"]
    tau_kk = np.asarray(kk["tau_s"], dtype=float)
    r_kk = np.asarray(kk["r_ohm"], dtype=float)
    z_kk = kk["r0_ohm"] + (r_kk[None, :] / (1 + 1j * omega[:, None] * tau_kk[None, :])).sum(axis=1)
    data.update(
        kk_residual_real=var("f", kk["residual_re"], "1", "lin-KK residual of Re Z, relative to |Z|"),
        kk_residual_imag=var("f", kk["residual_im"], "1", "lin-KK residual of Im Z, relative to |Z|"),
        kk_z_real=var("f", z_kk.real, ohm, "Re Z of the lin-KK fit"),
        kk_z_imag=var("f", z_kk.imag, ohm, "Im Z of the lin-KK fit"),
        kk_tau_s=var("kk_element", tau_kk, "s", "time constants of the lin-KK elements"),
        kk_r_ohm=var("kk_element", r_kk, ohm, "resistances of the lin-KK elements"),
    )
    attrs.update(
        kk_m=int(kk["m"]),
        kk_mu=float(kk["mu"]),
        kk_r0_ohm=float(kk["r0_ohm"]),
        kk_max_abs_residual=float(kk["max_abs_residual"]),
    )

    d = r["drt"]
    peaks = d.get("peaks", [])
    data.update(
        drt_gamma_ohm=var("tau", d["gamma_ohm"], ohm, "distribution of relaxation times γ(ln τ)"),
        drt_peak_tau_s=var("drt_peak", [p["tau_s"] for p in peaks], "s", "DRT peak time constant"),
        drt_peak_f_hz=var("drt_peak", [p["f_hz"] for p in peaks], "Hz", "DRT peak frequency"),
        drt_peak_r_ohm=var("drt_peak", [p["r_ohm"] for p in peaks], ohm, "DRT peak resistance"),
        drt_peak_gamma_ohm=var("drt_peak", [p["gamma_ohm"] for p in peaks], ohm, "γ at the peak"),
    )
    attrs.update(
        drt_lambda=float(d["lambda"]),
        drt_lambda_from_gcv=int(bool(d["lambda_from_gcv"])),
        drt_r_inf_ohm=float(d["r_inf_ohm"]),
        drt_rms_relative=float(d["rms_relative"]),
    )

    fit = r.get("fit")
    if fit:
        el = fit["circuit"]["elements"]
        data.update(
            fit_z_real=var("f", fit["z_re"], ohm, "Re Z of the R0 + n RC fit"),
            fit_z_imag=var("f", fit["z_im"], ohm, "Im Z of the R0 + n RC fit"),
            fit_r_ohm=var("fit_element", [e["r_ohm"] for e in el], ohm, "fitted R"),
            fit_c_f=var("fit_element", [e["c_f"] for e in el], "F", "fitted C"),
            fit_tau_s=var("fit_element", [e["r_ohm"] * e["c_f"] for e in el], "s", "fitted τ = RC"),
        )
        attrs.update(
            fit_r0_ohm=float(fit["circuit"]["r0_ohm"]),
            fit_dc_resistance_ohm=float(fit["dc_resistance_ohm"]),
            fit_rms_relative=float(fit["rms_relative"]),
            fit_chi2=float(fit["chi2"]),
            fit_json=json.dumps(fit["circuit"]),
        )
    m1 = r.get("model_1d")
    if m1:
        data.update(
            model_1d_z_real=var("f", m1["z_re"], ohm, "Re Z of the 1-D physical model"),
            model_1d_z_imag=var("f", m1["z_im"], ohm, "Im Z of the 1-D physical model"),
        )
        attrs.update(
            model_1d_dc_resistance_ohm=float(m1["dc_resistance_ohm"]),
            model_1d_json=json.dumps(m1["circuit"]),
        )
    sol = r.get("solver")
    if sol:
        data.update(
            solver_iterations=var("f", sol["iterations"], "1", "solver iterations"),
            solver_relative_residual=var("f", sol["relative_residual"], "1", "relative residual"),
            current_balance=var("f", sol["current_balance"], "1", "|I_WE − I_CE| / |I_WE|"),
        )
        attrs["solver_json"] = json.dumps(
            {k: v for k, v in sol.items() if k in ("solver", "seconds_total")}
        )
    if r.get("network"):
        attrs["network_json"] = json.dumps(r["network"])

    coords = {
        "f": xr.Variable("f", f, attrs={"units": "Hz", "long_name": "frequency"}),
        "tau": xr.Variable("tau", np.asarray(d["tau_s"], dtype=float), attrs={"units": "s", "long_name": "relaxation time"}),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs).sortby("f")
