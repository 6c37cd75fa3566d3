"""Study configuration (YAML → pydantic): material × temperatures × protocols, MD settings, analyses."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InputError
from ..md.protocols import PROTOCOLS

ANALYSES = ("vdos", "diffusion", "neutron", "mechanism")
#: analyses a study runs only when asked for (`analyses: [..., lattice]`): not in the default list
OPTIONAL_ANALYSES = ("lattice",)


class MDConfig(BaseModel):
    """MD settings shared by every temperature of a study (fs, 1/fs)."""

    model_config = ConfigDict(extra="forbid")
    dt: float = Field(2.0, gt=0, le=10, description="integration time step, fs")
    steps: int = Field(1500, ge=1, description="production steps per temperature")
    stride: int = Field(2, ge=1, description="store a frame every `stride` steps")
    equilibration_steps: int = Field(250, ge=0)
    friction: float = Field(0.01, gt=0, description="Langevin friction during equilibration, 1/fs")
    production_friction: float = Field(0.001, gt=0, description="Langevin friction during production, 1/fs")
    seed: int = 0
    suppressed_steps: int | None = Field(
        None,
        ge=1,
        description="production steps of the frozen-host, tethered and rigid-anions runs (default: "
        "steps); Li in a suppressed host needs longer runs to reach its diffusive regime",
    )

    def steps_for(self, protocol: str) -> int:
        """Production steps of a run under `protocol`."""
        return self.suppressed_steps if protocol != "free" and self.suppressed_steps else self.steps


class NeutronConfig(BaseModel):
    """What the neutron stage computes: INS generalised DOS and the self/incoherent F(Q,t), S(Q,E)."""

    model_config = ConfigDict(extra="forbid")
    isotopes: dict[str, str] = Field(
        default_factory=lambda: {"Li": "7Li"}, description="isotope per element, e.g. {Li: 7Li} (pinned Sears table)"
    )
    q: list[float] = Field(
        default_factory=lambda: [0.5, 1.0, 1.5, 2.0],
        min_length=1,
        description="|Q| values for F_s(Q,t) and S(Q,E), 1/angstrom (powder averaged)",
    )
    ins_resolution_meV: float = Field(1.0, gt=0, description="Gaussian FWHM applied to the GDOS, meV")

    @field_validator("q")
    @classmethod
    def _q_positive(cls, v: list[float]) -> list[float]:
        if any(x <= 0 for x in v):
            raise ValueError("every Q must be > 0 1/angstrom")
        return v


def parse_supercell(text: str) -> tuple[str | tuple[int, int, int], float | None]:
    """A phonon supercell: 'auto' → ('auto', None); '12A' → ('auto', 12.0) (minimum width in Å); '2' → (2, 2, 2);
    '2x2x1' or '2,2,1' → (2, 2, 1). ValueError otherwise.
    """
    s = str(text).strip().lower()
    if s == "auto":
        return "auto", None
    m = re.fullmatch(r"(\d+(?:\.\d*)?)a", s)
    if m and float(m.group(1)) > 0:
        return "auto", float(m.group(1))
    parts = s.replace("x", ",").split(",")
    if all(p.strip().isdigit() for p in parts) and len(parts) in (1, 3):
        n = [int(p) for p in parts] * (3 if len(parts) == 1 else 1)
        if min(n) >= 1:
            return (n[0], n[1], n[2]), None
    raise ValueError(f"a phonon supercell is auto, a width like 12A, n or n1xn2xn3 (positive integers); got {text!r}")


class LatticeConfig(BaseModel):
    """What the lattice stage computes (`analyses: [..., lattice]`; docs/study.md). Phonons are computed once per
    study (the material's relaxed unit cell), NMD, INM and C_v per free run, κ per temperature when asked for.
    """

    model_config = ConfigDict(extra="forbid")
    phonons: bool = Field(
        True,
        description="harmonic phonons (phonopy finite displacements) of the material's relaxed unit cell, once per "
        "study: analysis/phonons.nc, reused while material, potential and these settings are unchanged",
    )
    phonons_supercell: str = Field(
        "auto", description="supercell of the displacements: auto (each width ≥ 10 Å), a width like 12A, n, n1xn2xn3"
    )
    relax_fmax: float = Field(1e-3, gt=0, description="relaxation of the phonon reference: max |F| target, eV/Å")
    rattle: float = Field(
        0.0,
        ge=0,
        lt=0.5,
        description="Gaussian displacement (Å) before the relaxation, seed md.seed: lets it leave a symmetric "
        "saddle (docs/phonons.md)",
    )
    displacement: float = Field(0.01, gt=0, lt=0.5, description="finite-displacement amplitude, Å")
    nmd: bool = Field(True, description="normal-mode decomposition of every free run (linewidths, overdamping)")
    nmd_reference: Literal["frame", "phonons"] = Field(
        "frame",
        description="harmonic modes the velocities are projected on: frame (the run's first frame relaxed to its "
        "inherent structure, its own Hessian; works for diffusing conductors) or phonons (the study's phonopy force "
        "constants; the MD cell must be a supercell of the primitive cell with every atom near its site)",
    )
    nmd_segment_ps: float | None = Field(None, gt=0, description="Welch segment of the NMD, ps (default: 1/8 run)")
    nmd_follow_hops: bool = Field(
        True,
        description="project on each site the velocity of the atom on it in that frame (an ion that hopped is "
        "projected where it now vibrates); false: every atom stays on its site of the reference frame",
    )
    band_width: float = Field(1.0, gt=0, description="frequency bands of the overdamped fraction, THz")
    acoustic_damping: bool = Field(
        True,
        description="damping of the host's acoustic modes from its current correlations at the smallest |Q| of every "
        "free run (no reference structure: an overdamping verdict where the NMD's stay undecided)",
    )
    acoustic_shells: int = Field(4, ge=1, le=12, description="smallest commensurate |Q| shells of the acoustic damping")
    inm_snapshots: int = Field(4, ge=0, description="instantaneous-normal-mode snapshots per free run (0: no INM)")
    heat_capacity: bool = Field(True, description="C_v of every free run (fluctuations, dE/dT, harmonic, 2PT), S_vib")
    kappa: bool = Field(
        False, description="Green–Kubo thermal conductivity at every temperature (LAMMPS potentials only; expensive)"
    )
    kappa_runs: int = Field(2, ge=1, description="independent NVE heat-flux runs per temperature")
    kappa_steps: int = Field(20000, ge=1, description="NVE production steps of each heat-flux run (dt of md.dt)")
    kappa_equilibration_steps: int = Field(2000, ge=0, description="NVT steps before each heat-flux run")
    kappa_sample_every: int = Field(5, ge=1, description="steps between heat-flux samples")

    @field_validator("phonons_supercell")
    @classmethod
    def _supercell(cls, v: str) -> str:
        parse_supercell(v)
        return v

    def phonons_key(self, material: str, potential: str) -> str:
        """Cache key of analysis/phonons.nc: everything that determines the harmonic phonons of the study."""
        key = {
            "material": material,
            "potential": potential,
            "supercell": self.phonons_supercell,
            "relax_fmax": self.relax_fmax,
            "rattle": self.rattle,
            "displacement": self.displacement,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


class SlurmConfig(BaseModel):
    """The SLURM jobs (Parsl blocks) that hold the workers of `executor: slurm` (docs/parallel.md)."""

    model_config = ConfigDict(extra="forbid")
    partition: str | None = Field(None, description="SLURM partition (sbatch --partition); None: the cluster default")
    account: str | None = Field(None, description="account charged (sbatch --account)")
    walltime: str = Field("01:00:00", description="wall time of each job, HH:MM:SS")
    nodes_per_block: int = Field(1, ge=1, description="nodes per job")
    max_blocks: int = Field(1, ge=1, description="most jobs held at once")
    worker_init: str = Field(
        "", description="shell lines run on the node before the workers start (activate the environment there)"
    )
    scheduler_options: str = Field("", description="extra '#SBATCH …' lines of the job script")

    @field_validator("walltime", mode="before")
    @classmethod
    def _walltime(cls, v: object) -> str:
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:  # YAML 1.1 reads 4:00:00 as 14400 (s)
            return f"{v // 3600:02d}:{v // 60 % 60:02d}:{v % 60:02d}"
        if not isinstance(v, str) or not re.fullmatch(r"(\d+-)?\d+:\d{2}:\d{2}", v.strip()):
            raise ValueError(f"walltime is HH:MM:SS (or D-HH:MM:SS), got {v!r}")
        return v.strip()


class ExecutionConfig(BaseModel):
    """Where a study's MD runs and analyses execute (docs/parallel.md). Not part of any cache key: the same
    run made serially or on a cluster is the same run.
    """

    model_config = ConfigDict(extra="forbid")
    executor: Literal["serial", "local", "slurm"] = Field(
        "serial",
        description="serial: one run after another in this process (no Parsl); local: Parsl workers on this "
        "machine; slurm: Parsl workers in SLURM jobs",
    )
    workers: int = Field(2, ge=1, description="tasks at once: on this machine (local) or per node (slurm)")
    slurm: SlurmConfig = Field(default_factory=SlurmConfig)


class StudyConfig(BaseModel):
    """One study: a material at several temperatures, analysed and reported."""

    model_config = ConfigDict(extra="forbid")
    name: str = "study"
    material: str = "Li6PS5Cl"
    supercell: str = "1x1x1"
    potential: str = "chgnet"
    engine: Literal["auto", "ase", "lammps"] = "auto"
    ranks: int = Field(1, ge=1, description="MPI ranks of each LAMMPS run (not part of the run's cache key)")
    temperatures: list[float] = Field(default_factory=lambda: [600.0, 900.0], min_length=1)
    md: MDConfig = Field(default_factory=MDConfig)
    analyses: list[Literal["vdos", "diffusion", "neutron", "mechanism", "lattice"]] = Field(
        default_factory=lambda: list(ANALYSES)
    )
    neutron: NeutronConfig = Field(default_factory=NeutronConfig)
    lattice: LatticeConfig = Field(default_factory=LatticeConfig)
    protocols: list[str] = Field(
        default_factory=lambda: ["free"],
        description="phonon-suppression protocols run at every temperature beside the free run",
    )
    tether_stiffness: float | list[float] = Field(
        1.0,
        description="spring constant of the tethered host, eV/Å² (> 0); a list runs a stiffness scan: the "
        "tethered protocol once per value at every temperature (folders T<K>K-tethered-k<k>)",
    )
    host_reference: Literal["mean", "snapshot", "quenched", "auto"] = Field(
        "mean",
        description="host positions of frozen-host and tethered runs, from the free run at the same "
        "temperature: its time average (mean), last frame (snapshot), last frame relaxed to "
        "its energy minimum (quenched), or mean if it is a structure else quenched (auto)",
    )
    host_samples: int = Field(
        1,
        ge=1,
        le=16,
        description="frozen hosts per frozen-host or tethered run (host_reference snapshot or quenched): the free "
        "run's frames at 1/N, 2/N … N/N of its length, each its own run (folders …-h2of4); D_suppressed is their mean "
        "with their spread in its σ. One snapshot host is one sample of the host's disorder",
    )
    mobile_species: str = "Li"
    output: str = "results/study"
    execution: ExecutionConfig = Field(
        default_factory=ExecutionConfig, description="serial, or tasks on Parsl workers (not in any cache key)"
    )

    @field_validator("protocols")
    @classmethod
    def _protocols(cls, v: list[str]) -> list[str]:
        unknown = [x for x in v if x not in PROTOCOLS]
        if unknown:
            raise ValueError(f"unknown protocol {unknown[0]!r}; choose from {', '.join(PROTOCOLS)}")
        return v

    @field_validator("temperatures")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if any(not 0 < t < float("inf") for t in v):
            raise ValueError("every temperature must be a finite number > 0 K")
        return v

    @field_validator("tether_stiffness")
    @classmethod
    def _stiffness(cls, v: float | list[float]) -> float | list[float]:
        ks = v if isinstance(v, list) else [v]
        if not ks or any(not k > 0 for k in ks):
            raise ValueError("tether stiffness must be > 0 eV/Å² (a number or a non-empty list of numbers)")
        if len(set(ks)) != len(ks):
            raise ValueError("the tether stiffness scan lists a value twice")
        return v

    @model_validator(mode="after")
    def _kappa_needs_lammps(self) -> StudyConfig:
        """Green–Kubo runs on the LAMMPS engine only: refuse lattice.kappa with another potential up front."""
        if "lattice" in self.analyses and self.lattice.kappa:
            from ..potentials import get_potential

            try:
                engine = get_potential(self.potential).engine
            except Exception:  # an unknown potential is refused where the study builds it, with its own message
                return self
            if engine != "lammps":
                raise ValueError(
                    f"lattice.kappa (Green–Kubo heat flux) needs a LAMMPS potential (e.g. li6ps5cl-snap); "
                    f"{self.potential!r} runs on the {engine} engine: set kappa: false or choose a LAMMPS potential"
                )
        return self

    @model_validator(mode="after")
    def _host_samples_need_instantaneous_hosts(self) -> StudyConfig:
        """Several hosts are several frames of the free run: a time average (mean, auto) is one host."""
        if self.host_samples > 1 and self.host_reference not in ("snapshot", "quenched"):
            raise ValueError(
                f"host_samples {self.host_samples} takes frozen hosts from several frames of the free run: set "
                f"host_reference to snapshot or quenched (it is {self.host_reference!r}, one time-averaged host)"
            )
        return self

    def stiffness_scan(self) -> list[float] | None:
        """The tethered stiffnesses (eV/Å²) when `tether_stiffness` is a list, else None (one tethered run)."""
        return list(self.tether_stiffness) if isinstance(self.tether_stiffness, list) else None

    @field_validator("protocols")
    @classmethod
    def _free_first(cls, v: list[str]) -> list[str]:
        """The free run comes first: frozen and tethered hosts take their positions from it."""
        return ["free"] + [p for p in dict.fromkeys(v) if p != "free"]

    def md_hash(self, protocol: str = "free", stiffness: float | None = None, host_time: float = 1.0) -> str:
        """Hash of everything that determines one MD run (not the analyses): a cache key for the runs.

        stiffness: the tethered run's spring constant, eV/Å² (required for a stiffness scan; a scan entry
        hashes as a single-valued study with that stiffness). host_reference enters only when not 'mean',
        and host_time (where in the free run the host is taken, `host_samples`) only when not 1, so runs made
        before they existed keep their keys.
        """
        extra: dict = {}
        if protocol == "tethered":
            if stiffness is None and isinstance(self.tether_stiffness, list):
                raise InputError("a tethered stiffness scan has one run per stiffness: pass md_hash(stiffness=k)")
            extra["tether_stiffness"] = float(self.tether_stiffness if stiffness is None else stiffness)
        if protocol in ("frozen-host", "tethered") and self.host_reference != "mean":
            extra["host_reference"] = self.host_reference
        if protocol in ("frozen-host", "tethered") and host_time != 1.0:
            extra["host_time"] = float(host_time)
        md = {**self.md.model_dump(exclude={"suppressed_steps"}), "steps": self.md.steps_for(protocol)}
        key = {
            "material": self.material,
            "supercell": self.supercell,
            "potential": self.potential,
            "engine": self.engine,
            "md": md,
            "protocol": protocol,
            **extra,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


#: keys a study file must set: no study runs on defaults it did not ask for
REQUIRED_KEYS = ("material", "temperatures")


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a study YAML; errors name the offending key. `REQUIRED_KEYS` must be present
    (an empty file or one without a material is refused, not run on the defaults).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"study file not found: {p}")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{p} is not a text file (not UTF-8): a study file is YAML text") from None
    except yaml.YAMLError as err:
        raise InputError(f"{p} is not valid YAML: {' '.join(str(err).split())}") from None
    if raw is None:
        raise InputError(
            f"{p} is empty: a study file sets at least {' and '.join(REQUIRED_KEYS)} (see examples/quickstart.yaml)"
        )
    if not isinstance(raw, dict):
        raise InputError(f"{p} must hold a mapping of settings (name:, material:, temperatures: …)")
    odd = [k for k in raw if not isinstance(k, str)]
    if odd:
        raise InputError(f"{p}: setting names are words (name:, material: …), got {odd[0]!r}")
    try:
        cfg = StudyConfig(**raw)
    except ValidationError as err:
        first = err.errors()[0]
        # a key with a newline or other control characters is shown quoted: the message stays one line
        where = ".".join(str(x) if str(x).isprintable() and str(x).strip() else repr(x) for x in first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise InputError(f"{p}: {where}: {msg}" if where else f"{p}: {msg}") from None
    missing = [k for k in REQUIRED_KEYS if raw.get(k) is None]
    if missing:
        raise InputError(
            f"{p}: missing {' and '.join(missing)}: a study file names its "
            f"{' and '.join(REQUIRED_KEYS)} (see examples/quickstart.yaml)"
        )
    return cfg
