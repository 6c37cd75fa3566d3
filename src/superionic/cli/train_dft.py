"""`superionic train-potential --teacher dft`: sample with a fast potential, label by active learning, refit."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import InputError


def _pool(
    out: Path, materials, sampler: str, temps, md_steps, label_every, strained, contacts, mobile, mobile_contacts, seed
):
    """The candidate pool, sampled once and kept as <out>/pool.extxyz (a resumed run reuses it)."""
    import ase.io

    from ..potentials import get_potential
    from ..potentials.training.teach import sample_pool
    from ..results import atomic_write

    path = out / "pool.extxyz"
    if path.exists():
        pool = ase.io.read(path, index=":")
        typer.echo(f"reusing the candidate pool {path} ({len(pool)} configurations)")
        return pool
    calc = get_potential(sampler).make()
    pool = sample_pool(
        materials,
        calc,
        temps,
        md_steps=md_steps,
        label_every=label_every,
        strained=strained,
        contacts=contacts,
        mobile=mobile,
        mobile_contacts=mobile_contacts,
        seed=seed,
        log=typer.echo,
    )
    atomic_write(path, lambda tmp: ase.io.write(tmp, pool, format="extxyz"))
    typer.echo(f"wrote the candidate pool {path} ({len(pool)} configurations, sampled with {sampler})")
    return pool


def train_with_dft(
    *,
    name: str,
    out: Path,
    material: str,
    variants: str,
    teacher: str,
    sampler: str | None,
    temperatures: list[float],
    md_steps: int,
    label_every: int,
    strained: int,
    contacts: int,
    mobile: str,
    labels: Path | None,
    max_labels: int,
    initial_labels: int,
    per_round: int,
    force_target: float,
    families: str,
    version: str,
    seed: int,
    mobile_contacts: int = 0,
) -> None:
    """Active learning with a DFT teacher; every label is kept at once, so rerunning resumes."""
    from ..materials import build_material
    from ..potentials import get_potential
    from ..potentials.training.labelling import LabelStore, teacher_identity
    from ..potentials.training.teach import learn

    if not 0 < force_target < 10:
        raise InputError(f"--force-target must be in (0, 10) eV/Å, got {force_target}")
    spec = get_potential(teacher)
    identity = teacher_identity(spec)
    names = [material] + [v.strip() for v in variants.split(";") if v.strip()]
    materials = [build_material(n) for n in names]
    if sampler is None:
        sampler = "li6ps5cl-snap" if material in ("Li6PS5Cl", "argyrodite") else "chgnet"
    out.mkdir(parents=True, exist_ok=True)
    pool = _pool(
        out, materials, sampler, temperatures, md_steps, label_every, strained, contacts, mobile, mobile_contacts, seed
    )
    store = LabelStore(labels or out / "labels", identity)
    typer.echo(f"teacher {teacher} ({identity.get('label', '')}); {len(store)} configurations already labelled")
    rec = learn(
        pool,
        store,
        spec.make,
        out,
        name,
        version=version,
        initial=initial_labels,
        per_round=per_round,
        max_labels=max_labels,
        force_target=force_target,
        families=[f.strip() for f in families.split(",") if f.strip()],
        seed=seed,
        log=typer.echo,
    )
    if rec.get("potential_json"):
        m = rec["metrics"]["test"]
        typer.echo(
            f"wrote {rec['potential_json']} ({rec['family']}, {rec['teacher'].get('n_labels')} DFT labels): held-out "
            f"force RMSE {m['force_rmse_eV_per_A']:.3f} eV/Å, energy RMSE {m['energy_rmse_meV_per_atom']:.1f} meV/atom"
        )
