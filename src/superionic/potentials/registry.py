"""Registry of interatomic potentials as ASE calculators.

Each entry records its engine, where its parameters come from, and how to build the calculator.
The embedded default is CHGNet (weights ship inside the PyPI wheel; loads offline). Its identity and
version go into every trajectory's metadata. Foundation models are systematically soft
(shared/SCIENCE.md §7): results from them are model results and are labelled with the potential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

from ..errors import InputError


@dataclass
class PotentialSpec:
    name: str
    engine: str                       # "ase" (an ASE calculator) or "lammps"
    source: str                       # where the parameters come from
    factory: Callable[..., Any]       # (**options) -> ASE calculator
    package: str | None = None        # PyPI distribution that provides it
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def version(self) -> str | None:
        if self.package is None:
            return None
        try:
            return metadata.version(self.package)
        except metadata.PackageNotFoundError:
            return None

    def identity(self) -> dict[str, Any]:
        """What goes into trajectory metadata."""
        return {"name": self.name, "engine": self.engine, "source": self.source,
                "package": self.package, "version": self.version()}


def _chgnet(device: str = "cpu", **_: Any):
    try:
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator
    except ImportError as err:  # pragma: no cover - chgnet is a runtime dependency
        raise InputError("the 'chgnet' potential needs the chgnet package: pip install chgnet") from err
    model = CHGNet.load(verbose=False)  # weights from inside the installed wheel, no download
    return CHGNetCalculator(model=model, use_device=device)


def _emt(**_: Any):
    from ase.calculators.emt import EMT
    return EMT()


def _lj(sigma: float = 2.0, epsilon: float = 0.01, rc: float = 5.0, **_: Any):
    from ase.calculators.lj import LennardJones
    return LennardJones(sigma=sigma, epsilon=epsilon, rc=rc, smooth=True)


REGISTRY: dict[str, PotentialSpec] = {
    "chgnet": PotentialSpec(
        "chgnet", "ase", "CHGNet 0.3.0 universal potential (Deng et al., Nat. Mach. Intell. 2023), "
        "weights inside the chgnet wheel", _chgnet, package="chgnet",
        description="embedded default foundation MLIP; systematically soft (phonons underestimated)"),
    "emt": PotentialSpec("emt", "ase", "ASE effective-medium theory (metals only; for tests)", _emt,
                         package="ase", description="cheap test potential"),
    "lj": PotentialSpec("lj", "ase", "ASE Lennard-Jones, one parameter set for all pairs (for tests)", _lj,
                        package="ase", description="cheap test potential"),
}

DEFAULT_POTENTIAL = "chgnet"


def get_potential(name: str) -> PotentialSpec:
    if name not in REGISTRY:
        raise InputError(f"unknown potential {name!r}; registered: {', '.join(REGISTRY)} "
                         "(see `superionic potentials`)")
    return REGISTRY[name]


def make_calculator(name: str = DEFAULT_POTENTIAL, **options: Any):
    """Build the ASE calculator of a registered potential."""
    return get_potential(name).factory(**options)
