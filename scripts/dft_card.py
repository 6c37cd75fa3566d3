"""The first-principles card of a potential of Li6PS5Cl: its errors against the held-out PBE-D3 labels, its Γ phonons
against PBE-D3's, and (optionally) what studies on it measured, written as one JSON file.

    python3 scripts/dft_card.py li6ps5cl-pbe-d3-snap OUT.json [--study results/ding2025_pbe_d3 ...]
        [--teacher li6ps5cl-pbe-d3-chgnet-v1]

Errors: `finetune.label_errors` on the test split of the card of the tuned model that taught the potential
(--teacher; labels never trained on by it nor, through it, by its students), per source. Γ: the potential's entry
in data/dft/li6ps5cl-pbe-d3/gamma/gamma.json (`scripts/dft_gamma_phonons.py … --potentials NAME` adds it).
Studies: per summary.json the temperatures, each free run's cage changes and D_Li entries, and the series'
Arrhenius fits.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from superionic.potentials.registry import get_potential, model_card
from superionic.potentials.training.finetune import held_out_labels, label_errors
from superionic.results import atomic_write

DFT = Path(__file__).parents[1] / "data" / "dft" / "li6ps5cl-pbe-d3"


def study_record(folder: Path) -> dict:
    """What a study on the potential measured: Li per free run and the Arrhenius fits (units as in summary.json)."""
    s = json.loads((folder / "summary.json").read_text())
    runs = {k: r for k, r in s["results"].items() if k != "series"}
    series = s["results"].get("series", {})
    return {
        "material": s["config"]["material"],
        "supercell": s["config"].get("supercell"),
        "runs": {
            k: {
                "temperature_K": r["temperature_K"],
                "protocol": r["protocol"],
                "duration_ps": r["duration_ps"],
                "D_Li_msd": (r.get("diffusion") or {}).get("Li"),
                "cage_diffusion": r.get("cage_diffusion"),
            }
            for k, r in runs.items()
        },
        **{k: series[k] for k in ("arrhenius", "arrhenius_cage", "arrhenius_cage_rate") if series.get(k)},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("potential")
    p.add_argument("out", type=Path)
    p.add_argument("--study", type=Path, action="append", default=[], help="a study folder (its summary.json)")
    p.add_argument(
        "--teacher",
        default="li6ps5cl-pbe-d3-chgnet",
        help="the tuned model the potential was distilled from (its test split is used; li6ps5cl-pbe-d3-snap v5: "
        "li6ps5cl-pbe-d3-chgnet-v1)",
    )
    args = p.parse_args()
    tuned = model_card(Path(str(get_potential(args.teacher).model_file)))
    test = held_out_labels(tuned, DFT / "labels")
    gamma = json.loads((DFT / "gamma" / "gamma.json").read_text())
    if args.potential not in gamma:
        raise SystemExit(f"no Γ phonons of {args.potential} in gamma.json: run scripts/dft_gamma_phonons.py first")
    g = gamma[args.potential]
    card = {
        "potential": args.potential,
        "reference": "PBE-D3(BJ), CP2K (cp2k-pbe-d3, docs/dft.md)",
        "test_labels": {"configurations": tuned["split"]["test"], "from": str(DFT.relative_to(DFT.parents[2]))},
        "errors_against_dft": label_errors(get_potential(args.potential).make(), test),
        "gamma": {
            "ratio_to_dft": g.get("ratio_to_dft"),
            "species_mean_THz": g["species_mean_THz"],
            "species_mean_THz_dft": gamma["dft"]["species_mean_THz"],
            "breathing_mode_THz": g["breathing_mode_THz"],
            "breathing_mode_THz_dft": gamma["dft"]["breathing_mode_THz"],
            "at_dft_geometry": g.get("at_dft_geometry"),
        },
        "studies": {str(f): study_record(f) for f in args.study},
    }
    text = json.dumps(card, indent=1)
    atomic_write(args.out, lambda tmp: tmp.write_text(text))
    e = card["errors_against_dft"]
    print(
        f"{args.potential}: force RMSE against PBE-D3 "
        + ", ".join(f"{k} {v['force_rmse_eV_per_A']:.3f}" for k, v in e.items())
        + " eV/Å"
    )


if __name__ == "__main__":
    main()
