"""Named materials, parameter strings, supercells by size, and the one entry point `build_material`.

Names may carry parameters: ``"Li6PS5Cl:exchange=0.25,li=random,seed=3"``, ``"Li6PS5Cl:x=0.5"``,
``"Li10GeP2S12:disorder=random,seed=1"``, ``"my.cif:disorder=approximant"``. Keyword arguments to
`build_material` do the same. Supercells: ``"2x2x2"`` (repetitions), ``"200atoms"`` (the most compact
repetition with at least 200 atoms) or ``"12A"`` (every perpendicular cell width ≥ 12 Å).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ..errors import InputError
from .agi import alpha_agi
from .argyrodite import li6ps5cl, li6ps5cl_ordered
from .cif import read_structure
from .garnet import li7la3zr2o12
from .halides import lialcl4
from .thiophosphates import beta_li3ps4, li10gep2s12, tetragonal_na3ps4


@dataclass(frozen=True)
class Material:
    """A library entry: builder(supercell, **params) and what its sanity checks expect."""

    name: str
    builder: Callable[..., Atoms]
    source: str
    formula: str
    spacegroup: int  # of the host framework
    mobile: tuple[str, ...] = ("Li",)
    merge: tuple[tuple[str, ...], ...] = ()  # species sharing host sites (merged for the symmetry check)
    params: dict[str, str] = field(default_factory=dict)  # parameter → help


LIBRARY: dict[str, Material] = {
    m.name: m
    for m in [
        Material(
            "Li6PS5Cl",
            li6ps5cl,
            "Deiseroth et al., Angew. Chem. Int. Ed. 47, 755 (2008); SCIENCE.md §6",
            "Li6PS5Cl",
            216,
            ("Li",),
            (("S", "Cl"),),
            {
                "exchange": "S/Cl site-exchange fraction in [0, 1]",
                "li": "Li arrangement: ordered | random",
                "x": "Cl excess of Li6-xPS5-xCl1+x",
                "seed": "random seed",
            },
        ),
        Material(
            "Li10GeP2S12",
            li10gep2s12,
            "Kamaya et al., Nat. Mater. 10, 682 (2011)",
            "Li10GeP2S12",
            137,
            ("Li",),
            (("Ge", "P"),),
            {"disorder": "approximant | random", "seed": "random seed"},
        ),
        Material(
            "Li3PS4",
            beta_li3ps4,
            "Homma et al., Solid State Ionics 182, 53 (2011) (β phase, Pnma)",
            "Li3PS4",
            62,
            ("Li",),
            (),
            {},
        ),
        Material(
            "Na3PS4",
            tetragonal_na3ps4,
            "Chu et al., Sci. Rep. 6, 33733 (2016) (tetragonal, P-42₁c)",
            "Na3PS4",
            114,
            ("Na",),
            (),
            {},
        ),
        Material(
            "Li7La3Zr2O12",
            li7la3zr2o12,
            "Awaka et al., Chem. Lett. 40, 60 (2011) (cubic, Ia-3d)",
            "Li7La3Zr2O12",
            230,
            ("Li",),
            (),
            {"disorder": "approximant", "seed": "random seed"},
        ),
        Material(
            "LiAlCl4",
            lialcl4,
            "Mairesse, Barbier, Vignacourt, Cryst. Struct. Commun. 6, 15 (1977); COD 1004036 (P2₁/c)",
            "LiAlCl4",
            14,
            ("Li",),
            (),
            {},
        ),
        Material(
            "AgI",
            alpha_agi,
            "Strock, Z. Phys. Chem. B 25, 441 (1934); Cava et al., SSC 24, 411 (1977)",
            "AgI",
            229,
            ("Ag",),
            (),
            {"disorder": "approximant | random", "seed": "random seed"},
        ),
    ]
}
ALIASES = {
    "beta-Li3PS4": "Li3PS4",
    "β-Li3PS4": "Li3PS4",
    "LGPS": "Li10GeP2S12",
    "LLZO": "Li7La3Zr2O12",
    "alpha-AgI": "AgI",
    "t-Na3PS4": "Na3PS4",
    "a-AgI": "AgI",
    "argyrodite": "Li6PS5Cl",
}
MATERIALS: dict[str, Callable[[], Atoms]] = {"Li6PS5Cl": li6ps5cl_ordered}  # backwards-compatible view
MATERIALS.update({name: (lambda m=m: m.builder()) for name, m in LIBRARY.items() if name != "Li6PS5Cl"})


def parse_name(spec: str) -> tuple[str, dict[str, Any]]:
    """'Li6PS5Cl:exchange=0.25,li=random' → ('Li6PS5Cl', {'exchange': 0.25, 'li': 'random'})."""
    name, _, rest = spec.partition(":")
    params: dict[str, Any] = {}
    if rest and not Path(spec).exists():
        for item in rest.split(","):
            key, eq, val = item.partition("=")
            if not eq or not key.strip():
                raise InputError(f"material parameters look like NAME:key=value,key=value; got {spec!r}")
            params[key.strip()] = _value(val.strip())
    else:
        name = spec
    return name, params


def _value(v: str):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def parse_supercell(spec, atoms: Atoms | None = None) -> tuple[int, int, int]:
    """'2x2x2' / [2, 2, 2] / None → repetitions; '200atoms' / '12A' need `atoms` (see module doc)."""
    if spec is None:
        return (1, 1, 1)
    if isinstance(spec, str):
        s = spec.strip().lower()
        if s.endswith("atoms") or s.endswith("a") and not s.endswith("x"):
            if atoms is None:
                raise InputError(f"supercell {spec!r} by size needs the unit cell")
            try:
                value = float(s[:-5] if s.endswith("atoms") else s[:-1])
            except ValueError:
                raise InputError(f"supercell by size looks like 200atoms or 12A, got {spec!r}") from None
            return (
                supercell_for_size(atoms, min_atoms=int(value))
                if s.endswith("atoms")
                else supercell_for_size(atoms, min_width=value)
            )
        try:
            parts = tuple(int(x) for x in s.split("x"))
        except ValueError:
            parts = ()
    else:
        try:
            parts = tuple(int(x) for x in spec)
        except (TypeError, ValueError):
            parts = ()
    if len(parts) != 3 or min(parts) < 1:
        raise InputError(f"supercell must look like 2x2x2 (three positive integers), 200atoms or 12A; got {spec!r}")
    return parts  # type: ignore[return-value]


def supercell_for_size(
    atoms: Atoms, min_atoms: int | None = None, min_width: float | None = None, max_rep: int = 12
) -> tuple[int, int, int]:
    """Smallest repetition (fewest atoms, then most cubic) with ≥ min_atoms atoms and/or every
    perpendicular width ≥ min_width Å (e.g. twice the potential cutoff).
    """
    if min_atoms is None and min_width is None:
        raise InputError("give min_atoms or min_width")
    cell = np.asarray(atoms.cell)
    vol = abs(np.linalg.det(cell))
    widths = vol / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    best = None
    for n1 in range(1, max_rep + 1):
        for n2 in range(1, max_rep + 1):
            for n3 in range(1, max_rep + 1):
                reps = np.array([n1, n2, n3])
                n = len(atoms) * reps.prod()
                w = widths * reps
                if (min_atoms and n < min_atoms) or (min_width and w.min() < min_width):
                    continue
                key = (n, w.max() / w.min())
                if best is None or key < best[0]:
                    best = (key, (n1, n2, n3))
    if best is None:
        raise InputError(f"no supercell up to {max_rep}³ reaches the requested size")
    return best[1]


def build_material(name_or_file: str, supercell=None, **params) -> Atoms:
    """A named library material (with parameters) or any structure file ASE reads, in a supercell.

    Library names: see `LIBRARY` (aliases beta-Li3PS4, LGPS, LLZO, alpha-AgI). Parameters from the name string
    (``NAME:key=value,…``) and keyword arguments are merged. Files with partially occupied sites need
    ``disorder=approximant|random``. The result passes `check_material` for library entries.
    """
    name, from_name = parse_name(str(name_or_file))
    params = {**from_name, **params}
    canonical = ALIASES.get(name, name)
    if canonical in LIBRARY:
        mat = LIBRARY[canonical]
        unknown = set(params) - set(mat.params)
        if unknown:
            raise InputError(
                f"{canonical} has no parameter(s) {sorted(unknown)}; it takes "
                + ", ".join(f"{k} ({v})" for k, v in mat.params.items())
            )
        unit = mat.builder()
        reps = parse_supercell(supercell, unit)
        atoms = mat.builder(supercell=reps, **params) if (reps != (1, 1, 1) or params) else unit
        atoms.info["material"] = (
            canonical if not params else f"{canonical}:" + ",".join(f"{k}={v}" for k, v in sorted(params.items()))
        )
        atoms.info["source"] = mat.source
    elif Path(name).exists():
        unknown = set(params) - {"disorder", "seed", "exclusion"}
        if unknown:
            raise InputError(f"structure files take disorder, seed, exclusion; got {sorted(unknown)}")
        import ase.io

        try:
            unit = ase.io.read(name)
        except Exception as err:
            raise InputError(f"could not read structure file {name}: {err}") from err
        reps = parse_supercell(supercell, unit)
        atoms = read_structure(name, reps, **params)
        atoms.info["material"] = str(name_or_file)
    else:
        raise InputError(
            f"unknown material {name!r}: not in the library ({', '.join(LIBRARY)}; aliases "
            f"{', '.join(ALIASES)}) and not a file"
        )
    atoms.info["supercell"] = list(reps)
    atoms.wrap()
    return atoms


def check_material(atoms: Atoms, name: str) -> dict:
    """Sanity checks (composition, charge, distances, host space group) against a library entry."""
    from .checks import check_structure

    mat = LIBRARY[ALIASES.get(name, name)]
    formula = mat.formula if not atoms.info.get("x") else None
    return check_structure(atoms, formula=formula, spacegroup=mat.spacegroup, mobile=mat.mobile, merge=list(mat.merge))


def formula(atoms: Atoms) -> str:
    """Composition as symbol–count pairs in order of first appearance, unreduced (e.g. Li6P2S8)."""
    syms = atoms.get_chemical_symbols()
    return "".join(f"{s}{syms.count(s)}" for s in dict.fromkeys(syms))


def min_distance(atoms: Atoms) -> float:
    """Shortest interatomic distance (Å, minimum image)."""
    d = atoms.get_all_distances(mic=True)
    return float(np.min(d[np.triu_indices(len(atoms), 1)]))
