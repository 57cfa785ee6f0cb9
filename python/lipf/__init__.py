"""lipf: phase-field simulation of Li plating into porous LLZO scaffolds, from Python.

The simulator is the same Rust code as the ``lipf`` command line, compiled into the extension
module ``lipf._lipf``; this package adds the Python-facing layer:

- :class:`Config`: a validated configuration (from a dict, a JSON file or the defaults);
- :func:`run`: runs a simulation in this process and returns its summary;
- :func:`check`: derived model coefficients and the cost estimate of a run, without running;
- :func:`load`: a run folder as an :class:`xarray.Dataset`;
- :func:`geometry`: the scaffold of a configuration, built and measured (``lipf geometry``);
- :func:`impedance`: the impedance spectrum of a structure, a voxel array or a run's snapshot,
  with the lin-KK test, the DRT and an RC fit, as an :class:`xarray.Dataset`
  (``lipf impedance``);
- :func:`study`: the cases of a study, run and gathered along a ``case`` dimension
  (``lipf study``); :func:`load_study` reads a study folder.

Invalid configurations raise :class:`ConfigError` (a :class:`ValueError`) whose message names
the field's path, its value and the allowed range, as the command line does.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from . import _lipf
from ._lipf import ConfigError, LipfError
from .dataset import load

__version__: str = _lipf.__version__

__all__ = [
    "Config",
    "ConfigError",
    "LipfError",
    "RunResult",
    "check",
    "geometry",
    "impedance",
    "impedance_config",
    "load",
    "load_study",
    "run",
    "study",
    "__version__",
]

PathLike = Union[str, "os.PathLike[str]"]
ConfigLike = Union["Config", Mapping[str, Any], PathLike, None]


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays, pathlib paths
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _override_strings(overrides: Optional[Mapping[str, Any]]) -> list:
    """``{"control.current_density_a_m2": 5}`` -> ``["control.current_density_a_m2=5"]``."""
    if not overrides:
        return []
    return [
        f"{path}={json.dumps(value, default=_json_default)}"
        for path, value in overrides.items()
    ]


class Config:
    """A validated configuration, with every field resolved (defaults filled in).

    ``Config(source, overrides=None)`` where ``source`` is

    - ``None``: the compiled-in default (the paper's 1.5 µm case);
    - a dict (nested as the JSON file; missing fields take their defaults);
    - a path to a JSON configuration file (comments allowed; a relative ``geometry.image_path``
      is resolved beside the file; a file without ``name`` is named after the file);
    - another :class:`Config`.

    ``overrides`` maps dotted field paths to values, applied before validation, like
    ``lipf run --set PATH=VALUE``: ``{"control.current_density_a_m2": 5}``.

    Raises :class:`ConfigError` for misspelt fields and impossible values.
    """

    __slots__ = ("_json", "_dict")

    def __init__(self, source: ConfigLike = None, overrides: Optional[Mapping[str, Any]] = None):
        sets = _override_strings(overrides)
        if isinstance(source, Config):
            text = source._json
            resolved = _lipf.resolve_config(text=text, overrides=sets) if sets else text
        elif source is None:
            resolved = _lipf.resolve_config(text=_lipf.default_config(), overrides=sets)
        elif isinstance(source, Mapping):
            text = json.dumps(source, default=_json_default)
            resolved = _lipf.resolve_config(text=text, overrides=sets)
        elif isinstance(source, (str, os.PathLike)):
            resolved = _lipf.resolve_config(path=os.fspath(source), overrides=sets)
        else:
            raise TypeError(
                "a configuration is a dict, a path to a JSON file, a lipf.Config or None, "
                f"not {type(source).__name__}"
            )
        self._json: str = resolved
        self._dict: dict = json.loads(resolved)

    @classmethod
    def default(cls) -> "Config":
        """The compiled-in default configuration."""
        return cls(None)

    @classmethod
    def from_file(cls, path: PathLike, overrides: Optional[Mapping[str, Any]] = None) -> "Config":
        """Reads and validates a configuration file."""
        return cls(Path(path), overrides)

    def updated(self, overrides: Mapping[str, Any]) -> "Config":
        """A copy with dotted-path overrides applied: ``cfg.updated({"time.end_time_s": 4})``."""
        return Config(self, overrides)

    @property
    def name(self) -> str:
        return self._dict["name"]

    def to_dict(self) -> dict:
        """The resolved configuration as a (fresh) nested dict."""
        return json.loads(self._json)

    def to_json(self) -> str:
        """The resolved configuration as JSON text (what the run stores as ``config_json``)."""
        return self._json

    def save(self, path: PathLike) -> None:
        """Writes the resolved configuration as a JSON file (readable by ``lipf run``)."""
        Path(path).write_text(self._json + "\n", encoding="utf-8")

    def __getitem__(self, key: str) -> Any:
        """A field by its dotted path: ``cfg["geometry.pore_size_um"]``."""
        value: Any = self._dict
        for part in key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise KeyError(key)
            value = value[part]
        return value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self._dict == other._dict

    def __hash__(self) -> int:
        return hash(self._json)

    def __repr__(self) -> str:
        return f"lipf.Config(name={self.name!r})"


def _as_config(config: ConfigLike, overrides: Optional[Mapping[str, Any]] = None) -> Config:
    if isinstance(config, Config) and not overrides:
        return config
    return Config(config, overrides)


class RunResult(dict):
    """The summary of a run (the content of its ``summary.json``) as a dict, with the run folder
    as :attr:`path`. ``result.load()`` reads the run's fields (:func:`load`)."""

    def __init__(self, summary: Mapping[str, Any], path: Path):
        super().__init__(summary)
        self.path: Path = Path(path)

    def load(self, **kwargs: Any):
        """The run's outputs as an :class:`xarray.Dataset` (see :func:`load`)."""
        return load(self.path, **kwargs)

    def __repr__(self) -> str:
        return f"lipf.RunResult(path={str(self.path)!r}, {dict.__repr__(self)})"


class _Progress:
    """One progress line on stderr, rewritten in place, from the run's ``timeseries.csv``
    (appended one sample at a time as the run goes)."""

    def __init__(self, out: Path, name: str, end_time_s: float, every_s: float = 0.5):
        self.csv = out / "timeseries.csv"
        self.name = name
        self.end = end_time_s
        self.every = every_s
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False
        self.stream = sys.stderr

    def _last_sample(self) -> Optional[list]:
        try:
            with open(self.csv, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - 8192))
                tail = f.read().decode("utf-8", "replace")
        except OSError:
            return None
        lines = tail.split("\n")[:-1]  # complete lines only
        for line in reversed(lines):
            cols = line.split(",")
            if len(cols) >= 4 and not cols[0].startswith("time_s"):
                return cols
        return None

    def __call__(self) -> None:
        now = time.monotonic()
        if self.stream is None or now - self.last < self.every:
            return
        self.last = now
        try:
            cols = self._last_sample()
            if cols is None:
                return
            t, step = float(cols[0]), cols[1]
            v, i = float(cols[3]), float(cols[2])
            pct = 100.0 * t / self.end if self.end > 0 else 100.0
            elapsed = now - self.start
            self.stream.write(
                f"\rlipf {self.name}: t = {t:.4g}/{self.end:g} s ({pct:5.1f} %)  step {step}  "
                f"V = {v:.5f} V  i = {i:.4g} A/m²  [{elapsed:.0f} s]  "
            )
            self.stream.flush()
            self.shown = True
        except Exception:  # a display problem must not stop the run
            pass

    def close(self, summary: Optional[Mapping[str, Any]]) -> None:
        if self.stream is None:
            return
        if self.shown:
            self.stream.write("\n")
        if summary is not None:
            state = "done" if summary.get("completed") else "stopped"
            self.stream.write(
                f"lipf {self.name}: {state} at t = {summary['final_time_s']:.6g} s, "
                f"{summary['steps_this_run']} steps in {summary['wall_time_s']:.1f} s; "
                f"Faraday balance error {summary['faraday_balance_error']:.2e}; "
                f"final cell voltage {summary['final_cell_voltage_v']:.5f} V\n"
            )
            if not summary.get("completed"):
                ckpt = Path(getattr(summary, "path", ".")) / "checkpoint.h5"
                self.stream.write(f"checkpoint written: lipf run --resume {ckpt}\n")
        self.stream.flush()


def run(
    config: ConfigLike = None,
    out: Optional[PathLike] = None,
    backend: str = "cpu",
    progress: bool = True,
    overwrite: bool = False,
    *,
    overrides: Optional[Mapping[str, Any]] = None,
    adapter: Optional[str] = None,
    _stop_after_steps: Optional[int] = None,
) -> RunResult:
    """Runs a simulation in this process and returns its summary.

    ``config``: a :class:`Config`, a dict, a path to a JSON file, or None (the default case);
    ``overrides`` applies dotted-path overrides (``{"time.end_time_s": 4}``).
    ``out``: the run folder (default ``runs/<name>``); a folder that holds files is refused
    unless ``overwrite`` (which empties it first). ``backend``: ``"cpu"``, ``"auto"`` or
    ``"gpu"`` (``adapter`` picks a GPU adapter by name), as ``lipf run --backend``.
    ``progress``: a progress line on stderr while the run goes on, and a closing line.

    Returns a :class:`RunResult`: the run's summary (``summary.json``) as a dict, with the run
    folder as ``.path``.

    Ctrl-C (KeyboardInterrupt; "interrupt kernel" in a notebook) stops the run after its
    current step with a checkpoint and ``summary.json``, then raises the KeyboardInterrupt;
    its attribute ``lipf_result`` holds the :class:`RunResult` of the stopped run. Raises
    :class:`ConfigError` for an invalid configuration (or one over a budget) and
    :class:`LipfError` when the run cannot start or stops on an error.
    """
    cfg = _as_config(config, overrides)
    out_dir = Path(out) if out is not None else Path("runs") / cfg.name
    reporter = (
        _Progress(out_dir, cfg.name, float(cfg["time.end_time_s"])) if progress else None
    )
    try:
        summary_json, interrupt = _lipf.run(
            cfg.to_json(),
            os.fspath(out_dir),
            backend=backend,
            adapter=adapter,
            overwrite=overwrite,
            quiet=True,
            progress=reporter,
            stop_after_steps=_stop_after_steps,
        )
    except BaseException:
        if reporter is not None:
            reporter.close(None)
        raise
    result = RunResult(json.loads(summary_json), out_dir)
    if reporter is not None:
        reporter.close(result)
    if interrupt is not None:
        try:
            interrupt.lipf_result = result
        except AttributeError:
            pass
        raise interrupt
    return result


def check(config: ConfigLike = None, overrides: Optional[Mapping[str, Any]] = None) -> dict:
    """What ``lipf check`` reports, as a dict, without running:

    - ``name``, ``grid`` (nx, ny, cells, dx_um, width_um, height_um);
    - ``geometry``: the scaffold as built (channels, period, porosity, ...);
    - ``coefficients``: the derived model coefficients in SI (names carry their units), and
      ``coefficients_text``, their printed derivation;
    - ``estimate``: ``dt_s``, ``dt_np_s``, ``steps``, ``substeps_per_step``, ``snapshots``,
      ``output_bytes``, ``memory_bytes``, ``wall_time_s`` (at ``reference_cell_steps_per_s``);
    - ``limits``: the budgets the estimate was checked against.

    Raises :class:`ConfigError` for an invalid configuration or one over a budget.
    """
    cfg = _as_config(config, overrides)
    return json.loads(_lipf.check(cfg.to_json()))


# The functions built on the above (they use Config and _as_config).
from ._geometry import geometry  # noqa: E402
from ._impedance import impedance, impedance_config  # noqa: E402
from ._study import load_study  # noqa: E402
from ._study import study  # noqa: E402
