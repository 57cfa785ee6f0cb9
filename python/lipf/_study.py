"""``lipf.study``: the cases of a study run in this process, gathered into one Dataset."""

from __future__ import annotations

import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np
import xarray as xr

from . import _lipf
from .dataset import load

PathLike = Union[str, "os.PathLike[str]"]

# Series variables of lipf.load that the study Dataset keeps (every variable along t_series).
_SERIES_DIMS = ("t_series",)


def _study_text(spec: Union[Mapping[str, Any], PathLike]) -> tuple:
    if isinstance(spec, Mapping):
        return json.dumps(dict(spec), default=lambda v: v.tolist()), "(dict)"
    p = Path(spec)
    try:
        return p.read_text(encoding="utf-8"), os.fspath(p)
    except FileNotFoundError:
        raise FileNotFoundError(f"study {p}: no such file") from None


class _Progress:
    """One line on stderr: cases finished (those with a summary.json) out of all."""

    def __init__(self, out: Path, name: str, cases: List[str], every_s: float = 1.0):
        self.out, self.name, self.cases, self.every = out, name, cases, every_s
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        try:
            done = sum((self.out / "runs" / c / "summary.json").is_file() for c in self.cases)
            sys.stderr.write(
                f"\rlipf study {self.name}: {done}/{len(self.cases)} cases finished "
                f"[{now - self.start:.0f} s]  "
            )
            sys.stderr.flush()
            self.shown = True
        except Exception:  # a display problem must not stop the study
            pass

    def close(self, outcomes: Optional[List[dict]]) -> None:
        if self.shown:
            sys.stderr.write("\n")
        if outcomes is not None:
            ok = sum(bool(o.get("completed")) for o in outcomes)
            sys.stderr.write(
                f"lipf study {self.name}: {ok}/{len(outcomes)} cases completed in "
                f"{time.monotonic() - self.start:.1f} s; outputs in {self.out}\n"
            )
        sys.stderr.flush()


def study(
    spec: Union[Mapping[str, Any], PathLike],
    jobs: int = 1,
    out: Optional[PathLike] = None,
    overwrite: bool = False,
    *,
    backend: str = "cpu",
    adapter: Optional[str] = None,
    progress: bool = True,
) -> xr.Dataset:
    """Runs the cases of a study (docs/study.md) in this process, as ``lipf study``, and
    returns them as one :class:`xarray.Dataset` along a ``case`` dimension.

    ``spec``: the study as a dict or a path to its JSON file (``name``, ``description``,
    ``base``, ``end_time_s`` or ``until_capacity_mah_cm2``, ``cases``: each with ``name``,
    ``label``, ``set`` and its own end). ``jobs``: cases run at once, on one pool of that many
    threads. ``out``: the study folder (default ``runs/study-<name>``): ``study.json``,
    ``configs/``, ``runs/<case>/`` (each case's run folder, readable by :func:`load`) and
    ``report/``; a folder that holds files is refused unless ``overwrite`` (which empties it).
    ``backend``/``adapter``: as for :func:`run`. ``progress``: a progress line on stderr.

    The Dataset:

    - coordinates ``case`` (the case names) and ``label``;
    - every time series of the runs (``cell_voltage_v``, ``current_density_a_m2``,
      ``mean_fill``, ``homogeneity``, …) with dims ``(case, t_series)``, aligned on the sample
      time ``t_series`` (s); a case that ends earlier or samples at other times has NaN there.
      ``channel_fill`` has dims ``(case, t_series, channel)``;
    - per case: ``completed``, ``error`` (empty when none), ``wall_time_s``, the numbers of the
      run's ``summary.json`` (``final_time_s``, ``final_cell_voltage_v``,
      ``faraday_balance_error``, ``steps``, …), the columns of the report's ``metrics.csv``
      (prefixed ``metric_``), ``config_json`` and ``run_dir``;
    - when every case has the same grid: ``phi`` (the scaffold) and ``xi_final`` (the last
      snapshot of ξ) with dims ``(case, y, x)``, x and y in µm;
    - attributes ``name``, ``description``, ``study_dir``, ``report_dir``, ``report_error``,
      ``study_json``.

    A case that fails does not stop the others: it is reported by a warning and by
    ``completed``/``error``. Ctrl-C stops every running case after its step (with a checkpoint)
    and skips those not started; the KeyboardInterrupt is raised afterwards, with the Dataset
    of what ran as its ``lipf_result``. Raises :class:`ConfigError` for an invalid study or case
    (nothing is run) and :class:`LipfError` when the study cannot start.
    """
    text, origin = _study_text(spec)
    plan = json.loads(_lipf.study(text, origin, ".", dry_run=True)[0])
    name = plan["study"]["name"]
    cases = [c["name"] for c in plan["study"]["cases"]]
    out_dir = Path(out) if out is not None else Path("runs") / f"study-{name}"
    reporter = _Progress(out_dir, name, cases) if progress else None
    try:
        result_json, interrupt = _lipf.study(
            text,
            origin,
            os.fspath(out_dir),
            jobs=int(jobs),
            backend=backend,
            adapter=adapter,
            overwrite=overwrite,
            progress=reporter,
        )
    except BaseException:
        if reporter is not None:
            reporter.close(None)
        raise
    result = json.loads(result_json)
    if reporter is not None:
        reporter.close(result["outcomes"])
    for o in result["outcomes"]:
        if not o.get("completed") and interrupt is None:
            warnings.warn(f"study {name}: case {o['name']} did not complete: {o.get('error')}")
    ds = load_study(out_dir, result)
    if interrupt is not None:
        try:
            interrupt.lipf_result = ds
        except AttributeError:
            pass
        raise interrupt
    return ds


def _metrics(report_dir: Path) -> Dict[str, Dict[str, Any]]:
    """``metrics.csv`` of the report: per case, column → value (a float where it parses)."""
    path = report_dir / "metrics.csv"
    if not path.is_file():
        return {}
    rows: Dict[str, Dict[str, Any]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = row.get("case") or row.get("name") or next(iter(row.values()))
            vals = {}
            for k, v in row.items():
                try:
                    vals[k] = float(v) if v != "" else np.nan
                except (TypeError, ValueError):
                    vals[k] = v
            rows[key] = vals
    return rows


def load_study(study_dir: PathLike, result: Optional[Mapping[str, Any]] = None) -> xr.Dataset:
    """A study folder (written by :func:`study` or ``lipf study``) as the Dataset that
    :func:`study` returns. ``result``: what the run of the study returned (outcomes); without
    it, a case counts as completed when its ``summary.json`` says so."""
    study_dir = Path(study_dir)
    spec = json.loads((study_dir / "study.json").read_text(encoding="utf-8"))
    names = [c["name"] for c in spec["cases"]]
    labels = [c.get("label") or c["name"] for c in spec["cases"]]
    outcomes = {o["name"]: o for o in (result or {}).get("outcomes", [])}
    use_dask = True
    try:
        import dask.array  # noqa: F401
    except ImportError:
        use_dask = False

    series: List[xr.Dataset] = []
    per_case: Dict[str, List[Any]] = {}
    grids = []
    finals = []
    phis = []
    coords_xy = None
    summaries = []
    for n in names:
        run_dir = study_dir / "runs" / n
        summary_path = run_dir / "summary.json"
        summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
        summaries.append(summary)
        try:
            ds = load(run_dir, lazy=use_dask)
        except (FileNotFoundError, OSError, KeyError):
            ds = None
        if ds is None:
            series.append(xr.Dataset(coords={"t_series": np.zeros(0)}))
            grids.append(None)
            finals.append(None)
            phis.append(None)
            continue
        keep = [v for v in ds.data_vars if ds[v].dims and ds[v].dims[0] == "t_series"]
        s = ds[keep]
        # Sample times as written, rounded to absorb floating-point noise between cases.
        s = s.assign_coords(t_series=np.round(s.t_series.values, 9))
        if "channel" in s.dims:
            s = s.assign_coords(channel=np.arange(s.sizes["channel"]))
        s["t_series"].attrs = {"units": "s", "long_name": "time-series sample time"}
        series.append(s)
        grids.append((ds.sizes["y"], ds.sizes["x"], ds.attrs.get("dx_um")))
        finals.append(np.asarray(ds.xi.isel(t=-1).values) if ds.sizes.get("t", 0) else None)
        phis.append(np.asarray(ds.phi.values))
        if coords_xy is None:
            coords_xy = (ds.x, ds.y)

    out = xr.concat(
        series, dim=xr.Variable("case", names), join="outer", data_vars="all",
        coords="minimal", compat="override", fill_value=np.nan,
    ) if series else xr.Dataset()
    out = out.assign_coords(label=("case", labels))

    def put(key: str, values: List[Any], units: Optional[str] = None) -> None:
        out[key] = xr.Variable("case", np.asarray(values), attrs={"units": units} if units else {})

    completed, errors, walls = [], [], []
    for n, summary in zip(names, summaries):
        o = outcomes.get(n, {})
        completed.append(bool(o.get("completed", summary.get("completed", False))))
        errors.append(str(o.get("error") or ""))
        walls.append(float(o.get("wall_time_s", summary.get("wall_time_s", np.nan))))
    put("completed", completed)
    put("error", errors)
    put("wall_time_s", walls, "s")
    keys = []
    for s in summaries:
        for k, v in s.items():
            if k not in keys and isinstance(v, (int, float)) and not isinstance(v, bool):
                keys.append(k)
    for k in keys:
        if k in out.variables:
            continue
        put(k, [float(s.get(k, np.nan)) if isinstance(s.get(k), (int, float)) else np.nan for s in summaries])
    metrics = _metrics(study_dir / "report")
    if metrics:
        cols = [c for c in next(iter(metrics.values())) if c not in ("case", "name")]
        for c in cols:
            vals = [metrics.get(n, {}).get(c, np.nan) for n in names]
            if all(isinstance(v, float) for v in vals):
                put("metric_" + c, vals)
            else:
                put("metric_" + c, [str(v) for v in vals])
    configs = []
    for n in names:
        p = study_dir / "configs" / f"{n}.json"
        configs.append(p.read_text(encoding="utf-8") if p.is_file() else "")
    put("config_json", configs)
    put("run_dir", [os.fspath((study_dir / "runs" / n).resolve()) for n in names])

    if grids and all(g is not None and g == grids[0] for g in grids) and coords_xy is not None:
        x, y = coords_xy
        out = out.assign_coords(x=x, y=y)
        out["phi"] = xr.Variable(("case", "y", "x"), np.stack(phis), attrs={"units": "1", "long_name": "LLZO scaffold ϕ"})
        if all(f is not None for f in finals):
            out["xi_final"] = xr.Variable(
                ("case", "y", "x"), np.stack(finals), attrs={"units": "1", "long_name": "ξ at the last snapshot"}
            )
    out.attrs = {
        "name": spec.get("name", ""),
        "description": spec.get("description", ""),
        "study_dir": os.fspath(study_dir.resolve()),
        "report_dir": os.fspath((study_dir / "report").resolve()),
        "report_error": str((result or {}).get("report_error") or ""),
        "study_json": json.dumps(spec),
    }
    return out
