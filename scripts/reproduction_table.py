"""Print the seed-claims table of one or more finished studies as Markdown (for docs/reproduction.md).

Usage: python3 scripts/reproduction_table.py results/ding2025/summary.json [more summary.json …]

The verdicts are recomputed from each summary's per-run numbers (`workflow.findings`), so a table is
always the current rules applied to the measured numbers.
"""

from __future__ import annotations

import json
import sys

from superionic.workflow.findings import findings, markdown_table


def main(paths: list[str]) -> None:
    for path in paths:
        summary = json.load(open(path))
        cfg = summary["config"]
        print(
            f"### {cfg['name']}: {cfg['material']} {cfg['supercell']}, {summary['potential'].get('name')} "
            f"{summary['potential'].get('version') or ''}, {cfg['md']['steps'] * cfg['md']['dt'] / 1000:g} ps "
            f"per run at {', '.join(f'{t:g}' for t in cfg['temperatures'])} K\n"
        )
        print(markdown_table(findings(summary["results"], cfg.get("mobile_species", "Li"))))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
