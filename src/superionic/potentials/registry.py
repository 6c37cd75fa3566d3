"""Registry of interatomic potentials as ASE calculators.

Each entry records its engine, where its parameters come from, and how to build the calculator.
The embedded default is CHGNet (weights ship inside the PyPI wheel; loads offline). SevenNet-0 is an
optional extra (`pip install sevenn`), listed only when importable. Any user ASE calculator object
(`from_calculator`) or model file (`from_model_file`: a CHGNet or SevenNet checkpoint) can be used too.
The identity (name, engine, source, package and version, model-file SHA-256) goes into every
trajectory's metadata. Foundation models are systematically soft (shared/SCIENCE.md §7): results from
them are model results and are labelled with the potential.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import InputError
from .dft import DEFAULT_DFT, DFT_K222, DFTSettings, cp2k_calculator, cp2k_executable, cp2k_version


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex): the identity of a model or data file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class PotentialSpec:
    """A registered potential: name, engine, parameter source, calculator factory, package and default options."""

    name: str
    engine: str  # "ase" (an ASE calculator) or "lammps"
    source: str  # where the parameters come from
    factory: Callable[..., Any]  # (**options) -> ASE calculator
    package: str | None = None  # PyPI distribution that provides it
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    model_file: str | None = None  # path of a user model file
    model_sha256: str | None = None  # None: computed from model_file when the identity is first asked for
    kind: str = "model"  # "model" (a fitted potential) or "dft" (first principles: seconds to minutes per call)
    requires: Callable[[], bool] | None = None  # extra availability check (e.g. an executable on PATH)
    version_of: Callable[[], str | None] | None = None  # version of a non-Python engine (e.g. CP2K)
    module: str | None = None  # the module `package` installs, where its name differs (mace-torch → mace)

    def version(self) -> str | None:
        """Installed version of `package` (or of the engine, `version_of`); None when unknown."""
        if self.version_of is not None:
            return self.version_of()
        if self.package is None:
            return None
        try:
            return metadata.version(self.package)
        except metadata.PackageNotFoundError:
            return None

    def available(self) -> bool:
        """True when `package` is importable (always, for a potential without one) and `requires` holds."""
        if self.requires is not None and not self.requires():
            return False
        if self.package is None:
            return True
        return importlib.util.find_spec(self.module or self.package.replace("-", "_")) is not None

    def identity(self) -> dict[str, Any]:
        """What goes into trajectory metadata."""
        out = {
            "name": self.name,
            "engine": self.engine,
            "source": self.source,
            "package": self.package,
            "version": self.version(),
        }
        if self.options:
            out["options"] = {k: (v.as_dict() if hasattr(v, "as_dict") else v) for k, v in self.options.items()}
        if self.model_file:
            if self.model_sha256 is None:
                self.model_sha256 = file_sha256(self.model_file)
            out.update(model_file=self.model_file, model_sha256=self.model_sha256)
        return out

    def make(self, **options: Any):
        """Build the calculator (registered options, overridden by `options`)."""
        return self.factory(**{**self.options, **options})


def _chgnet(device: str = "cpu", model_file: str | None = None, **_: Any):
    try:
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator
    except ImportError as err:  # pragma: no cover - chgnet is a runtime dependency
        raise InputError("the 'chgnet' potential needs the chgnet package: pip install chgnet") from err
    # weights from inside the installed wheel (no download), or a user checkpoint
    model = CHGNet.from_file(model_file) if model_file else CHGNet.load(verbose=False)
    return CHGNetCalculator(model=model, use_device=device)


def _sevennet(model: str = "7net-0", device: str = "cpu", **_: Any):
    try:
        from sevenn.calculator import SevenNetCalculator
    except ImportError as err:
        raise InputError("the 'sevennet' potential is an optional extra: pip install sevenn") from err
    return SevenNetCalculator(model=model, device=device)


def mace_calculator(model_file: str, device: str = "cpu", dtype: str = "float64", **_: Any):
    """A MACE model file (`superionic fit-mace`, or any model MACE's trainer wrote) as an ASE calculator.

    `dtype`: the arithmetic, 'float64' (default) or 'float32' (1.5–1.7× faster MD on a CPU; `fit-mace` trains in
    float32, and the shipped model's Γ frequencies agree in both to the printed digit, docs/mace.md).
    """
    try:
        from mace.calculators import MACECalculator
    except ImportError as err:
        raise InputError("MACE models need the mace-torch package: pip install mace-torch") from err
    return MACECalculator(model_paths=str(model_file), device=device, default_dtype=dtype)


#: CHGNet fine-tuned on the PBE-D3(BJ) labels of Li6PS5Cl (`superionic fine-tune`, docs/finetune.md); its card
#: is the file beside it, ``<stem>.card.json``
PBE_D3_CHGNET = Path(__file__).parent / "data" / "li6ps5cl-pbe-d3-chgnet-v3.pth"
#: its second version (143 labels; Γ phonons and the version-3 comparison in docs/finetune.md)
PBE_D3_CHGNET_V2 = Path(__file__).parent / "data" / "li6ps5cl-pbe-d3-chgnet-v2.pth"
#: its first version, the teacher of the shipped ``li6ps5cl-pbe-d3-snap`` v5
PBE_D3_CHGNET_V1 = Path(__file__).parent / "data" / "li6ps5cl-pbe-d3-chgnet-v1.pth"


#: MACE fitted from scratch to the same PBE-D3(BJ) labels (`superionic fit-mace`, docs/mace.md), card beside it
PBE_D3_MACE = Path(__file__).parent / "data" / "li6ps5cl-pbe-d3-mace-v1.model"


def model_card_file(model_file: Path) -> Path:
    """Where `superionic fine-tune` and `fit-mace` write a model's card: ``<name>.card.json`` beside it."""
    return model_file.with_name(model_file.name + ".card.json")


def model_card(model_file: Path) -> dict[str, Any]:
    """The fine-tuning card beside a tuned model file: ``<name>.card.json`` as `superionic fine-tune` writes it
    (`model_card_file`), or ``<stem>.card.json`` as shipped in potentials/data.
    """
    for card in (model_card_file(model_file), model_file.with_name(model_file.stem + ".card.json")):
        if card.is_file():
            return json.loads(card.read_text())
    raise InputError(f"no fine-tuning card beside {model_file} ({model_file.name}.card.json)")


def _cp2k_available() -> bool:
    return cp2k_executable() is not None


def _emt(**_: Any):
    from ase.calculators.emt import EMT

    return EMT()


def _lj(sigma: float = 2.0, epsilon: float = 0.01, rc: float = 5.0, **_: Any):
    from ase.calculators.lj import LennardJones

    return LennardJones(sigma=sigma, epsilon=epsilon, rc=rc, smooth=True)


def _tuned_chgnet(name: str, model: Path, n_train: int, description: str) -> PotentialSpec:
    """A shipped CHGNet checkpoint fine-tuned on the PBE-D3(BJ) labels of Li6PS5Cl (`superionic fine-tune`)."""
    return PotentialSpec(
        name,
        "ase",
        f"CHGNet 0.3.0 fine-tuned on {n_train} PBE-D3(BJ) labels of Li6PS5Cl (data/dft/li6ps5cl-pbe-d3), "
        f"potentials/data/{model.name}",
        partial(_chgnet, model_file=str(model)),  # keeps `device` visible (train-potential --device)
        package="chgnet",
        description=description,
        model_file=str(model),
    )


def _cp2k(name: str, settings: DFTSettings, sampling: str, description: str) -> PotentialSpec:
    """A registered CP2K teacher with `settings`; `sampling` names its Brillouin-zone sampling."""
    return PotentialSpec(
        name,
        "ase",
        f"CP2K Quickstep DFT: PBE + D3(BJ), DZVP-MOLOPT-SR-GTH, GTH-PBE, 400 Ry, {sampling} (potentials/dft.py)",
        cp2k_calculator,
        description=description,
        options={"settings": settings},
        kind="dft",
        requires=_cp2k_available,
        version_of=cp2k_version,
    )


REGISTRY: dict[str, PotentialSpec] = {
    "chgnet": PotentialSpec(
        "chgnet",
        "ase",
        "CHGNet 0.3.0 universal potential (Deng et al., Nat. Mach. Intell. 2023), weights inside the chgnet wheel",
        _chgnet,
        package="chgnet",
        description="embedded default foundation MLIP; systematically soft (phonons underestimated)",
    ),
    "sevennet": PotentialSpec(
        "sevennet",
        "ase",
        "SevenNet-0 universal potential (Park et al., J. Chem. Theory Comput. 2024), weights inside the sevenn wheel",
        _sevennet,
        package="sevenn",
        description="optional extra foundation MLIP (pip install sevenn)",
    ),
    "li6ps5cl-pbe-d3-chgnet": _tuned_chgnet(
        "li6ps5cl-pbe-d3-chgnet",
        PBE_D3_CHGNET,
        138,
        "Li–P–S–Cl only (v3): held-out force RMSE 0.145 eV/Å against PBE-D3 on MD snapshots (pretrained CHGNet "
        "0.38), Γ phonons 1.00× PBE-D3's; as slow as CHGNet",
    ),
    "li6ps5cl-pbe-d3-chgnet-v2": _tuned_chgnet(
        "li6ps5cl-pbe-d3-chgnet-v2",
        PBE_D3_CHGNET_V2,
        102,
        "superseded by li6ps5cl-pbe-d3-chgnet v3 (held-out force RMSE 0.17 eV/Å against PBE-D3 on MD snapshots)",
    ),
    "li6ps5cl-pbe-d3-chgnet-v1": _tuned_chgnet(
        "li6ps5cl-pbe-d3-chgnet-v1",
        PBE_D3_CHGNET_V1,
        69,
        "superseded by li6ps5cl-pbe-d3-chgnet v3; kept as the teacher of li6ps5cl-pbe-d3-snap v5 (held-out force "
        "RMSE 0.20 eV/Å against PBE-D3)",
    ),
    "li6ps5cl-pbe-d3-mace": PotentialSpec(
        "li6ps5cl-pbe-d3-mace",
        "ase",
        "MACE (mace-torch 0.3.16) fitted from scratch to 138 PBE-D3(BJ) labels of Li6PS5Cl "
        f"(data/dft/li6ps5cl-pbe-d3), potentials/data/{PBE_D3_MACE.name}",
        partial(mace_calculator, str(PBE_D3_MACE)),
        package="mace-torch",
        module="mace",
        description="Li–P–S–Cl only (v1): held-out force RMSE 0.063 eV/Å against PBE-D3 on MD snapshots (the tuned "
        "CHGNet 0.145), Γ force constants 1.00× PBE-D3's; 1.6× CHGNet's speed at 52 atoms, 3.2× at 416 (float32)",
        options={"dtype": "float32"},  # its weights are float32; float64 arithmetic costs 1.5–1.7× (docs/mace.md)
        model_file=str(PBE_D3_MACE),
    ),
    "cp2k-pbe-d3": _cp2k(
        "cp2k-pbe-d3",
        DEFAULT_DFT,
        "Γ point",
        "first-principles teacher (minutes per 52-atom cell on 2 cores; apt-get install cp2k)",
    ),
    # Γ labels of the 52-atom Li6PS5Cl cell differ from 2×2×2 by 0.027 eV/Å RMS (0.11 at the worst atom); 2×2×2
    # differs from 3×3×3 by 0.0006 RMS (0.002 worst) at 2.2–3× the Γ cost (docs/dft.md)
    "cp2k-pbe-d3-k222": _cp2k(
        "cp2k-pbe-d3-k222",
        DFT_K222,
        "2×2×2 Monkhorst–Pack",
        "first-principles teacher with forces converged to 0.002 eV/Å in k-points for ~10 Å cells "
        "(2.2–3× cp2k-pbe-d3's cost; apt-get install cp2k)",
    ),
    "emt": PotentialSpec(
        "emt",
        "ase",
        "ASE effective-medium theory (metals only; for tests)",
        _emt,
        package="ase",
        description="cheap test potential",
    ),
    "lj": PotentialSpec(
        "lj",
        "ase",
        "ASE Lennard-Jones, one parameter set for all pairs (for tests)",
        _lj,
        package="ase",
        description="cheap test potential",
    ),
}

DEFAULT_POTENTIAL = "chgnet"


def list_potentials(include_unavailable: bool = False) -> list[PotentialSpec]:
    """Registered potentials (optional extras only when their package is importable)."""
    return [s for s in REGISTRY.values() if include_unavailable or s.available()]


def get_potential(name: str) -> PotentialSpec:
    """A registered potential by name, a LAMMPS potential's ``.lammps.json`` (written by `train-potential`,
    registered or not; the entry is named by its path), or a model file path (see `from_model_file`).
    """
    if name in REGISTRY:
        spec = REGISTRY[name]
        if not spec.available() and spec.requires is not None:
            raise InputError(f"potential {name!r} is not usable here: {spec.description}")
        if not spec.available():
            raise InputError(
                f"potential {name!r} needs the optional package {spec.package}: pip install {spec.package}"
            )
        return spec
    if Path(name).is_file():
        if name.endswith(".json"):  # never a network checkpoint: read as a CHGNet model it fails obscurely
            from .lammps_potentials import LammpsPotential, lammps_spec

            return lammps_spec(LammpsPotential.from_json(name), name=name)
        return from_model_file(name)
    raise InputError(
        f"unknown potential {name!r}; registered: {', '.join(s.name for s in list_potentials())} "
        "(see `superionic potentials`), or give a model file path"
    )


def make_calculator(name: str = DEFAULT_POTENTIAL, **options: Any):
    """Build the ASE calculator of a registered potential (or model file)."""
    return get_potential(name).make(**options)


def from_calculator(
    calculator: Any, name: str | None = None, source: str = "user-supplied ASE calculator", package: str | None = None
) -> PotentialSpec:
    """Wrap any ASE calculator object so its identity is recorded like a registered potential's."""
    if not hasattr(calculator, "get_potential_energy") and not hasattr(calculator, "calculate"):
        raise InputError(f"{type(calculator).__name__} is not an ASE calculator (no calculate method)")
    cls = type(calculator)
    pkg = package or cls.__module__.split(".")[0]
    try:
        metadata.version(pkg)
    except metadata.PackageNotFoundError:
        pkg = None
    return PotentialSpec(
        name or f"user:{cls.__module__}.{cls.__name__}",
        "ase",
        source,
        lambda **_: calculator,
        package=pkg,
        description="user calculator",
    )


def _model_kind(path: Path) -> str:
    """The guess of `from_model_file` from a file name: '.model' → MACE, '7net'/'sevenn' → SevenNet, else CHGNet."""
    name = path.name.lower()
    if name.endswith(".model"):
        return "mace"
    return "sevennet" if any(k in name for k in ("7net", "sevenn")) else "chgnet"


def from_model_file(path: str | Path, kind: str | None = None) -> PotentialSpec:
    """A CHGNet (.pth.tar / .pt), SevenNet (.pth) or MACE (.model) file as a potential; its SHA-256 is recorded.

    `kind` ('chgnet' | 'sevennet' | 'mace') overrides the guess from the file name (`_model_kind`).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file {path} not found")
    digest = file_sha256(path)
    kind = kind or _model_kind(path)
    if kind == "chgnet":
        factory, pkg = partial(_chgnet, model_file=str(path)), "chgnet"
    elif kind == "sevennet":
        factory, pkg = partial(_sevennet, model=str(path)), "sevenn"
    elif kind == "mace":
        factory, pkg = partial(mace_calculator, str(path)), "mace-torch"
    else:
        raise InputError(f"unknown model-file kind {kind!r}: chgnet, sevennet or mace")
    return PotentialSpec(
        f"file:{path.name}",
        "ase",
        f"{kind} model file {path}",
        factory,
        package=pkg,
        module="mace" if kind == "mace" else None,
        description=f"user {kind} checkpoint",
        model_file=str(path.resolve()),
        model_sha256=digest,
    )


def _register_shipped_lammps() -> None:
    """Shipped LAMMPS potentials (distilled, files under potentials/data/) join the registry."""
    from .lammps_potentials import register_lammps_potentials

    register_lammps_potentials(REGISTRY)


_register_shipped_lammps()
