"""The impedance of a run's last snapshot, with lipf's lin-KK test checked against
impedance.py's (``impedance.validation.linKK``), plotted with matplotlib into a PNG.

    python python/examples/snapshot_impedance.py [--out DIR] [--run RUN_DIR]

Without --run it first runs configs/smoke.json (a few seconds). The snapshot becomes a
one-voxel-thick section (Li where ξ > ½, LLZO where ϕ > ½, pore elsewhere) between the working
electrode (the current collector, row 0) and the counter electrode (the top of the cap).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from impedance.models.circuits.elements import circuit_elements  # noqa: E402
from impedance.validation import linKK  # noqa: E402

import lipf  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
KK_ELEMENTS = 40


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/example-snapshot-impedance"))
    parser.add_argument("--run", type=Path, default=None, help="a run folder (default: run smoke)")
    args = parser.parse_args(argv)

    run_dir = args.run
    if run_dir is None:
        run_dir = lipf.run(REPO / "configs" / "smoke.json", out=args.out / "run", overwrite=True).path

    ds = lipf.impedance(
        {"sweep": {"f_min_hz": 1.0, "f_max_hz": 1e9, "points_per_decade": 10}},
        fields=run_dir,
        snapshot="last",
    )
    f = ds.f.values
    z = ds.z_real.values + 1j * ds.z_imag.values
    print(ds.attrs["input"])
    print(f"|Z| from {abs(z).min():.4g} to {abs(z).max():.4g} Ω over {f[0]:g}–{f[-1]:g} Hz")

    # impedance.py's lin-KK, fitting both parts as lipf does (its model adds a series
    # inductance). impedance.py 1.7 evaluates its fitted circuit from a string in which numpy 2
    # writes scalars as `np.float64(...)`: give that evaluation the name `np`.
    circuit_elements.setdefault("np", np)

    # 1. The automatic choice of M (μ criterion, c = 0.85) of both. On a noise-free spectrum of
    #    well separated, nearly ideal arcs it stops early (under-fitting): large residuals.
    m, mu, _, res_re, res_im = linKK(f, z, c=0.85, max_M=100, fit_type="complex")
    print(
        f"automatic M: lipf M = {ds.attrs['kk_m']}, μ = {ds.attrs['kk_mu']:.3f}, max |Δ| = "
        f"{100 * ds.attrs['kk_max_abs_residual']:.3g} %; impedance.py M = {m}, μ = {mu:.3f}, "
        f"max |Δ| = {100 * max(np.abs(res_re).max(), np.abs(res_im).max()):.3g} %"
    )

    # 2. The same number of elements for both (about 4 per decade): the same test, so the
    #    residuals must agree. lipf's analyses run on a given spectrum too.
    m_fixed = KK_ELEMENTS
    kk = lipf.impedance({"analysis": {"kk_elements": m_fixed}}, spectrum=(f, z))
    m, mu, z_fit, res_re, res_im = linKK(f, z, c=-np.inf, max_M=m_fixed, fit_type="complex")
    ours = max(np.abs(kk.kk_residual_real).max(), np.abs(kk.kk_residual_imag).max())
    theirs = max(np.abs(res_re).max(), np.abs(res_im).max())
    diff = max(
        np.abs(kk.kk_residual_real.values - res_re).max(),
        np.abs(kk.kk_residual_imag.values - res_im).max(),
    )
    print(f"M = {m_fixed}: lipf μ = {kk.attrs['kk_mu']:.3f}, max |Δ| = {100 * float(ours):.3g} % of |Z|")
    print(f"M = {m}: impedance.py μ = {mu:.3f}, max |Δ| = {100 * theirs:.3g} % of |Z|")
    print(f"largest difference of the residuals: {100 * diff:.2g} % of |Z|")

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    ax0.plot(ds.z_real, -ds.z_imag, "o", ms=3, label="lipf network")
    ax0.plot(kk.kk_z_real, -kk.kk_z_imag, "-", label=f"lin-KK fit (lipf, M = {m_fixed})")
    ax0.plot(z_fit.real, -z_fit.imag, "--", label=f"lin-KK fit (impedance.py, M = {m})")
    ax0.set(xlabel="Z' (Ω)", ylabel="−Z'' (Ω)", title="Nyquist", aspect="equal")
    ax0.legend(fontsize=8)
    ax1.semilogx(f, 100 * kk.kk_residual_real, "o-", ms=3, label="Δ re, lipf")
    ax1.semilogx(f, 100 * kk.kk_residual_imag, "s-", ms=3, label="Δ im, lipf")
    ax1.semilogx(f, 100 * res_re, "--", label="Δ re, impedance.py")
    ax1.semilogx(f, 100 * res_im, ":", label="Δ im, impedance.py")
    ax1.set(xlabel="f (Hz)", ylabel="residual (% of |Z|)", title=f"Kramers–Kronig residuals, M = {m_fixed}")
    ax1.legend(fontsize=8)
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / "snapshot_impedance.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    print(f"written {png}")
    return {"png": png, "lipf_max_residual": float(ours), "impedance_py_max_residual": float(theirs),
            "max_difference": float(diff)}


if __name__ == "__main__":
    main()
