"""One Arrhenius fit of the Li cage-change rate over the free runs of several studies of the same cell and potential.

    python3 scripts/pool_cage_rates.py results/ding2025_pbe_d3 results/ding2025_pbe_d3_long [--out pooled.json]

Each study's summary.json carries `series.arrhenius_cage_rate` (temperatures, cage changes, exposure in ion·ps of
its free runs). Runs of independent seeds are independent Poisson counts, so their counts and exposures are pooled
per temperature and fitted once by `analysis.arrhenius.rate_arrhenius` (runs with no cage change count).
Prints the per-temperature table, E_a (eV) and the rate at 300 K (1/ps per ion).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from superionic.analysis.arrhenius import rate_arrhenius
from superionic.results import atomic_write


def pooled_counts(folders: list[Path]) -> dict[float, list[float]]:
    """{T (K): [cage changes, exposure (ion·ps)]} summed over the studies' free runs."""
    pooled: dict[float, list[float]] = {}
    for folder in folders:
        series = json.loads((folder / "summary.json").read_text())["results"].get("series", {})
        fit = series.get("arrhenius_cage_rate")
        if not fit or "temperatures_K" not in fit:
            raise SystemExit(f"{folder}: no cage-change rate series in summary.json")
        for t, n, x in zip(fit["temperatures_K"], fit["cage_changes"], fit["exposure_ion_ps"], strict=True):
            row = pooled.setdefault(float(t), [0.0, 0.0])
            row[0] += n
            row[1] += x
    return pooled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("studies", type=Path, nargs="+")
    ap.add_argument("--out", type=Path, default=None, help="also write the fit as JSON")
    args = ap.parse_args()
    pooled = pooled_counts(args.studies)
    temps = sorted(pooled)
    print("T (K)   cage changes   exposure (ion·ps)   rate (1/ps per ion)")
    for t in temps:
        n, x = pooled[t]
        print(f"{t:6.0f}   {n:12.0f}   {x:17.0f}   {n / x:.3e}")
    fit = rate_arrhenius(temps, [pooled[t][0] for t in temps], [pooled[t][1] for t in temps])
    print(
        f"E_a = {fit['E_a']:.3f} ± {fit['E_a_err']:.3f} eV; rate(300 K) = {fit['rate'][0]:.2e} 1/ps per ion "
        f"(×/÷ {fit['rate_factor'][0]:.1f}, extrapolated)"
    )
    if args.out:
        record = {"studies": [str(s) for s in args.studies], "pooled": {str(t): pooled[t] for t in temps}, "fit": fit}
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1)))


if __name__ == "__main__":
    main()
