"""A small pore-size sweep: three channel widths on a tiny grid, run as a lipf study in this
process, plotted with matplotlib into a PNG.

    python python/examples/pore_size_sweep.py [--out DIR] [--jobs N]

It runs in seconds: a 6 µm × 10 µm cell at 0.25 µm spacing, 2 s of plating at 2 A/m². For the
paper's Figure 5 use configs/studies/pore-size.json instead (minutes to hours).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402

import lipf  # noqa: E402

PORE_SIZES_UM = (0.75, 1.0, 1.5)


def sweep_spec(end_time_s: float = 2.0) -> dict:
    """The study: a common base and one case per pore size."""
    return {
        "name": "example-pore-size-sweep",
        "description": "Pore-size sweep on a tiny grid (example)",
        "base": {
            "domain": {"width_um": 6.0, "height_um": 10.0, "grid_spacing_um": 0.25},
            "geometry": {
                "kind": "channels",
                "li_foil_thickness_um": 2.0,
                "porosity": 0.5,
                "impregnation_depth_um": 1.5,
                "dense_cap_thickness_um": 2.0,
            },
            "control": {"mode": "galvanostatic", "current_density_a_m2": 2.0},
            "output": {
                "snapshot_interval_s": 1.0,
                "timeseries_interval_s": 0.1,
                "images": False,
            },
        },
        "end_time_s": end_time_s,
        "cases": [
            {
                "name": f"pore-{d:g}um",
                "label": f"{d:g} µm",
                "set": {"geometry": {"pore_size_um": d}},
            }
            for d in PORE_SIZES_UM
        ],
    }


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/example-pore-size-sweep"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    # The scaffolds first, without running anything.
    for d in PORE_SIZES_UM:
        g = lipf.geometry(sweep_spec()["base"], overrides={"geometry.pore_size_um": d})
        print(
            f"{d:g} µm: porosity {g['porosity']:.3f}, S = {g['specific_surface_per_um']:.3f} µm⁻¹, "
            f"tortuosity {g['tortuosity_factor']:.3f}"
        )

    ds = lipf.study(sweep_spec(), jobs=args.jobs, out=args.out / "study", overwrite=True)
    print(ds[["final_cell_voltage_v", "faraday_balance_error"]].to_dataframe())

    fig, axes = plt.subplots(1, 2 + ds.sizes["case"], figsize=(4 * (2 + ds.sizes["case"]), 3.6))
    for case in ds.case.values:
        c = ds.sel(case=case)
        label = str(c.label.values)
        axes[0].plot(c.t_series, 1e3 * c.cell_voltage_v, label=label)
        axes[1].plot(c.t_series, c.mean_fill, label=label)
    axes[0].set(xlabel="t (s)", ylabel="cell voltage (mV)", title="Cell voltage")
    axes[1].set(xlabel="t (s)", ylabel="Li fraction of the pore space", title="Mean fill")
    axes[0].legend()
    for ax, case in zip(axes[2:], ds.case.values):
        c = ds.sel(case=case)
        ax.pcolormesh(c.x, c.y, c.xi_final, cmap="Blues", vmin=0, vmax=1, shading="auto")
        ax.contour(c.x, c.y, c.phi, levels=[0.5], colors="k", linewidths=0.8)
        ax.set(aspect="equal", xlabel="x (µm)", ylabel="y (µm)", title=f"ξ at the end, {c.label.values}")
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / "pore_size_sweep.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    print(f"written {png}")
    return png


if __name__ == "__main__":
    main()
