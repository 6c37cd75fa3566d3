"""`superionic train-potential`: distil a fast LAMMPS (SNAP) potential from a teacher or labelled data."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import app
from .common import at_least, atomic_write, check_outputs, positive


@app.command("train-potential")
def train_potential_cmd(
    material_arg: str | None = typer.Argument(
        None,
        metavar="[MATERIAL]",
        help="Material to distil a potential for: a library name (see `superionic info`) or a structure file. "
        "Same as --material.",
    ),
    name: str = typer.Option(..., "--name", help="Name of the new potential (files <name>-v<version>.*)."),
    out: Path = typer.Option(Path("potential"), "--out", "-o", help="Output folder."),
    data: list[Path] | None = typer.Option(
        None,
        "--data",
        help="Your labelled configurations (extxyz with "
        "energy+forces, vasprun.xml, OUTCAR …); repeat for several files. "
        "Without it the teacher samples the material.",
    ),
    material: str = typer.Option("Li6PS5Cl", "--material", help="Material the teacher samples (library name or file)."),
    supercell: str | None = typer.Option(
        None,
        "--supercell",
        help="Cell of the teacher's and the validation MD: 2x2x2, or by size: 100atoms, 12A (default: as built).",
    ),
    teacher: str = typer.Option(
        "chgnet",
        "--teacher",
        help="Registered potential that labels the samples. 'dft' (= cp2k-pbe-d3) is first principles: then a fast "
        "--sampler explores, and only the configurations chosen by active learning are labelled.",
    ),
    sampler: str | None = typer.Option(
        None,
        "--sampler",
        help="With a DFT teacher: the fast potential whose MD makes the candidate pool (default li6ps5cl-snap for "
        "Li6PS5Cl, else chgnet).",
    ),
    variants: str = typer.Option(
        "",
        "--variants",
        help="Extra material variants sampled like MATERIAL, ';'-separated, e.g. 'Li6PS5Cl:exchange=0.5,seed=1' "
        "(S/Cl disorder). With a teacher potential they are also validated on; with a DFT teacher they join the pool.",
    ),
    labels: Path | None = typer.Option(
        None, "--labels", help="With a DFT teacher: folder of the resumable labels (default <out>/labels)."
    ),
    max_labels: int = typer.Option(200, "--max-labels", help="With a DFT teacher: label budget (configurations)."),
    initial_labels: int = typer.Option(
        12, "--initial-labels", help="With a DFT teacher: first labels, chosen by descriptor novelty."
    ),
    per_round: int = typer.Option(8, "--per-round", help="With a DFT teacher: labels per active-learning round."),
    force_target: float = typer.Option(
        0.10, "--force-target", help="With a DFT teacher: held-out force RMSE (eV/Å) at which labelling stops."
    ),
    temperatures: str = typer.Option(
        "300,600,900,1200", "--temperatures", help="Teacher MD temperatures, K (comma list)."
    ),
    md_steps: int = typer.Option(2000, "--md-steps", help="Teacher MD steps per temperature (2 fs)."),
    label_every: int = typer.Option(20, "--label-every", help="Keep a labelled snapshot every this many MD steps."),
    strained: int = typer.Option(40, "--strained", help="Extra strained (±4 %) and rattled single points."),
    contacts: int = typer.Option(
        0,
        "--close-contacts",
        help="Extra single points with one mobile ion pushed "
        "towards a neighbour (samples the repulsive wall; helps stability at high T).",
    ),
    mobile: str | None = typer.Option(
        None, "--mobile", help="Mobile species for --close-contacts (default: the material's Li, Na, Ag … ion)."
    ),
    mobile_contacts: int = typer.Option(
        0,
        "--mobile-contacts",
        help="Extra single points with one mobile ion pushed towards another mobile ion (the cation-cation "
        "wall, which --close-contacts rarely probes: a cation's nearest neighbours are anions).",
    ),
    contacts_with: list[str] | None = typer.Option(
        None,
        "--contacts-with",
        metavar="SPECIES:N",
        help="Extra single points with one mobile ion pushed towards one of its 3 nearest atoms of SPECIES, e.g. "
        "La:40 for the Li-La wall of a garnet (a host cation the mobile ion passes, which --close-contacts rarely "
        "probes); repeat for several species. With a teacher potential only.",
    ),
    families: str = typer.Option(
        "linear-6,quadratic-4,quadratic-4+pair,pod,pod+4body",
        "--families",
        help="Candidate families to compare. SNAP: linear-N or quadratic-N (2J = N), with "
        "suffixes +pair (fitted pair table; +pair6 for a 6 Å range), +r<radius>, +chem "
        "(explicit multi-element), +inner (SNAP switched off between 1.6 and 1.2 Å, inside the ZBL core; "
        "+inner<S> centres the switch at S Å); the shipped li6ps5cl-snap is quadratic-6+pair6.0+r2.4. ML-POD: pod, "
        "pod-<cutoff Å>, +4body, +pair (a pair table fitted first, POD on the rest; fitted by LAMMPS fitpod "
        "over the same ZBL baseline). The fastest one meeting the force target is kept.",
    ),
    zbl: bool = typer.Option(True, "--zbl/--no-zbl", help="Add a fixed ZBL core repulsion (1.2–1.6 Å) baseline."),
    radius: float | None = typer.Option(
        None, "--radius", help="SNAP element radius in Å (cutoff = 2 × radius; default 2.5)."
    ),
    version: str = typer.Option("1", "--version", help="Version written into the file names and metadata."),
    seed: int = typer.Option(0, "--seed", help="Random seed (sampling and train/test split)."),
    save_data: Path | None = typer.Option(None, "--save-data", help="Also write the labelled samples to this extxyz."),
    validate_steps: int | None = typer.Option(
        None,
        "--validate-steps",
        help="Student MD steps (2 fs) per teacher temperature in the validation (default 4 × --md-steps: four windows of the teacher run's length for D).",
    ),
    gate_force: float = typer.Option(
        0.15, "--gate-force", help="Gate: largest held-out force RMSE against the teacher, eV/Å."
    ),
    gate_md_force: float = typer.Option(
        0.30,
        "--gate-md-force",
        help="Gate: largest force RMSE on the student's own MD snapshots, relabelled by the teacher, eV/Å.",
    ),
    gate_vdos: float = typer.Option(
        0.85, "--gate-vdos", help="Gate: smallest VDOS overlap with the teacher, every species and temperature (0–1)."
    ),
    gate_d_sigmas: float = typer.Option(
        2.0, "--gate-d-sigmas", help="Gate: largest difference of the mobile ions' D from the teacher's, in σ."
    ),
    gate_host_msd: float = typer.Option(
        1.5,
        "--gate-host-msd",
        help="Gate: largest ratio (either way) of a host species' MSD to the teacher's at half the teacher run's "
        "length, the student's over the same time from the same frame, where they also differ by more than "
        "--gate-d-sigmas σ (a host that flows in the student only).",
    ),
    production_atoms: int = typer.Option(
        200,
        "--production-atoms",
        help="Gate: after every other check passes, the student runs once more at the highest temperature in a "
        "supercell of at least this many atoms (production size); it must finish with no pair below its bound and "
        "meet --gate-md-force where each pair came closest.",
    ),
    production_ps: float = typer.Option(
        50.0,
        "--production-ps",
        help="Length of that production-size run in ps (0: not run). 50 ps on 200 atoms caught a Li10GeP2S12 "
        "potential that passed every other check and exploded at 21.8 ps.",
    ),
    stability_runs: int = typer.Option(
        2,
        "--stability-runs",
        help="Gate: once every MD check passes, the student runs this many more times at the highest temperature, "
        "as long as its validation run, from the same start with other seeds; each must finish (0: none). One run "
        "that survives says little: an LLZO potential passed its 12 ps and 50 ps runs at 750 K and collapsed after "
        "5 ps in one of five more.",
    ),
    frozen_host_ps: float = typer.Option(
        10.0,
        "--frozen-host-ps",
        help="Gate: after every MD check passes, the teacher runs this many ps with every host atom frozen at its "
        "run's last frame, at its lowest temperature where the mobile ions move, and the student makes four runs as "
        "long from the same start (other seeds); their D must agree within --gate-d-sigmas (0: not run). The seed's "
        "D_free/D_frozen rests on that D, which no free-run check sees.",
    ),
    frozen_host_runs: int = typer.Option(
        1,
        "--frozen-host-runs",
        help="Teacher runs (other seeds) in that frozen host: their spread is the teacher's run-to-run scatter, "
        "which one 10 ps run's fit error misses (CHGNet's Li in one LGPS host: 0.26 to 2.43e-5 cm2/s over four "
        "seeds). With fewer than four, the student's run spread stands for it.",
    ),
    frozen_host_temperature: float | None = typer.Option(
        None,
        "--frozen-host-temperature",
        help="Teacher temperature (K, one of --temperatures) of that frozen-host check (default: the lowest where "
        "the mobile ions move). A higher one resolves D better in 10 ps, and frozen-host runs of the teacher already "
        "made there (same host, same seeds) are reused.",
    ),
    refine: int = typer.Option(
        0,
        "--refine",
        help="A student that fails its gate is refitted with snapshots of its own MD relabelled by the teacher "
        "(where the teacher's MD never went, e.g. bonds it forms when hot) and validated again, up to this many "
        "times (each round costs one more validation).",
    ),
    own_snapshots: int = typer.Option(
        10,
        "--own-snapshots",
        help="Snapshots of the student's own MD per temperature that the teacher relabels: the gate's own-MD "
        "force RMSE, and the data --refine adds.",
    ),
    student_runs: list[Path] = typer.Option(
        [],
        "--student-runs",
        help="H5MD trajectory of an earlier student's run (repeatable), e.g. one that collapsed: the teacher "
        "relabels --own-snapshots evenly spread frames of it, the frame where each pair came closest and its last 3 "
        "frames (none with a pair below its sanity bound), and every round trains on them. The last frames before a "
        "collapse are where the student went and the teacher's MD never did.",
    ),
    register: bool = typer.Option(
        True,
        "--register/--no-register",
        help="Register a potential that passes its gate as a user potential, usable by name everywhere "
        "(folder: $SUPERIONIC_POTENTIALS, default ~/.local/share/superionic/potentials).",
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace an existing potential of this name and version in --out (and a registered one), "
        "teacher samples made with other settings, and an existing --save-data file.",
    ),
    friction: float = typer.Option(
        0.001,
        "--friction",
        help="Langevin friction (1/fs) of the teacher's MD and the student's validation runs after their first "
        "200 steps (at 0.01); the default is a study's production friction, so the gate sees the dynamics a study "
        "will (0.01/fs overdamps heavy ions: α-AgI's D_Ag halved, its iodide kept from flowing).",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        help="Teacher MD runs at once, each in its own process on (cores / workers) threads (Parsl on this "
        "machine). 2 on 2 cores gives about 1.7× the throughput of one CHGNet run on both. A killed sampling "
        "resumes: finished runs are kept.",
    ),
    teacher_repeats: int = typer.Option(
        1,
        "--teacher-repeats",
        help="Teacher MD runs per temperature, each with its own seed. With 2 or more the gate's host check counts "
        "the teacher's run-to-run scatter (rare host events: CHGNet's S MSD in beta-Li3PS4 at 900 K differed 2x "
        "between two runs), not only its scatter over atoms, and its closest-approach check reads the extremes over "
        "all runs: with the default --validate-steps the student runs 4x a teacher run, so 4 compare extremes over "
        "equal sampling.",
    ),
    device: str | None = typer.Option(
        None,
        "--device",
        help="Where the teacher runs: cpu or cuda (a GPU; CHGNet's MD is then many times faster). Default: the "
        "teacher's own setting (CHGNet: cpu). Samples made on a GPU are reused by a later run on a CPU machine.",
    ),
) -> None:
    """Distil a fast SNAP potential (LAMMPS) from a teacher, validate it in MD and register it if it passes its gate.

    With a teacher (CHGNet by default): teacher MD over --temperatures, strained cells and close contacts are
    labelled; candidate SNAP families are fitted and compared on held-out data; the chosen one runs MD beside
    every teacher run (VDOS overlap, D of the mobile ions, forces on its own MD, closest approaches, stability at
    the highest temperature), then in the teacher's frozen host (D of the mobile ions with every host atom held
    still), then once more at the highest temperature in a cell of production size. A potential that fails the gate is refused with its numbers and not registered.

    Example (any material):  superionic train-potential beta-Li3PS4 --name my-li3ps4 --out pot

    Example (your DFT data):  superionic train-potential --data examples/training/li6ps5cl_chgnet_small.extxyz --name mine

    Example (DFT teacher, active learning, resumable; minutes per label):
    superionic train-potential --teacher dft --name li6ps5cl-pbe-d3 --out pot --variants 'Li6PS5Cl:exchange=0.5'
    """
    import ase.io

    from ..errors import InputError
    from ..potentials.training.train import train_snap

    if material_arg is not None:
        if data:
            raise InputError("give either a MATERIAL for the teacher to sample or --data, not both")
        material = material_arg

    if not name.strip() or any(c in name for c in "/\\") or name.startswith("."):
        raise InputError(f"--name becomes part of file names: no path separators or leading dot, got {name!r}")
    if any(c in version for c in "/\\") or not version.strip():
        raise InputError(f"--version becomes part of file names: no path separators, got {version!r}")
    for value, opt, least in (
        (md_steps, "--md-steps", 1),
        (label_every, "--label-every", 1),
        (strained, "--strained", 0),
        (contacts, "--close-contacts", 0),
        (mobile_contacts, "--mobile-contacts", 0),
        (refine, "--refine", 0),
        (own_snapshots, "--own-snapshots", 2),
        (production_atoms, "--production-atoms", 1),
        (workers, "--workers", 1),
        (teacher_repeats, "--teacher-repeats", 1),
        (frozen_host_runs, "--frozen-host-runs", 1),
    ):
        at_least(value, least, opt)
    positive(radius, "--radius")
    for g, opt in (
        (gate_force, "--gate-force"),
        (gate_md_force, "--gate-md-force"),
        (gate_d_sigmas, "--gate-d-sigmas"),
        (friction, "--friction"),
    ):
        positive(g, opt)
    if frozen_host_ps < 0:
        raise InputError(f"--frozen-host-ps is a length in ps (0: no frozen-host check), got {frozen_host_ps}")
    if stability_runs < 0:
        raise InputError(f"--stability-runs is a number of runs (0: none), got {stability_runs}")
    if production_ps < 0:
        raise InputError(f"--production-ps is a length in ps (0: no production-size run), got {production_ps}")
    if not gate_host_msd > 1.0:
        raise InputError(f"--gate-host-msd is a ratio above 1, got {gate_host_msd}")
    if not 0.0 <= gate_vdos <= 1.0:
        raise InputError(f"--gate-vdos is an overlap between 0 and 1, got {gate_vdos}")
    if validate_steps is not None:
        at_least(validate_steps, 100, "--validate-steps")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder for the potential")
    stem = f"{name}-v{version}"
    made = [out / f"{name}.lammps.json"] + [
        out / f"{stem}.{ext}" for ext in ("snapcoeff", "snapparam", "pairtable", "training.json")
    ]
    for p in data or []:
        if any(p.exists() and q.exists() and p.resolve() == q.resolve() for q in made):
            raise InputError(f"--data {p} would be overwritten by the new potential; move it or change --name")
    if variants.strip() and data:
        raise InputError("--variants are materials for a teacher to sample; with --data nothing is sampled")
    if refine and data:
        raise InputError("--refine needs a teacher to relabel the student's own snapshots; with --data there is none")
    if device is not None and (data or teacher == "dft"):
        raise InputError("--device is where a fast teacher (CHGNet) runs; with --data or a DFT teacher it has no use")
    partner_contacts = _species_counts(contacts_with or [], "--contacts-with")
    if partner_contacts and (data or teacher == "dft"):
        raise InputError("--contacts-with samples a fast teacher; with --data or a DFT teacher there is none")
    if student_runs and (data or teacher == "dft"):
        raise InputError("--student-runs are relabelled by a fast teacher; with --data or a DFT teacher there is none")
    for p in student_runs:
        if not p.is_file():
            raise InputError(f"--student-runs {p} does not exist")
    if teacher_repeats > 1 and (data or teacher == "dft"):
        raise InputError("--teacher-repeats repeats a fast teacher's MD; with --data or a DFT teacher there is none")
    if teacher == "dft":
        teacher = "cp2k-pbe-d3"
    # an active-learning folder (DFT teacher) refits its own potential every round: running again resumes it
    resuming = not data and (out / "pool.extxyz").exists() and (out / f"{stem}.rounds.json").exists()
    # so does a refinement killed before its final card (`distil._refinement_so_far`); one that ended is replaced
    from ..potentials.training.distil import round_stem

    round_cards = out.glob(f"{round_stem(stem, '*')}.validation.json")
    killed = not (out / f"{stem}.validation.json").exists() and any(round_cards)
    resuming |= bool(refine and not data and killed)
    # <name>.lammps.json describes the latest version: a new version replaces it, an existing version is kept
    if not overwrite and not resuming and any(p.exists() for p in made[1:]):
        raise InputError(
            f"{out} already holds a potential {name!r} version {version}; give --overwrite to "
            "replace it, or another --name/--version"
        )
    check_outputs([("--save-data", save_data, "extxyz")], list(data or []), overwrite)
    teacher_info = {}
    if not data:
        from ..potentials import get_potential

        try:
            temps = [float(t) for t in temperatures.split(",") if t.strip()]
        except ValueError:
            raise InputError(f"--temperatures must be a comma list of numbers, got {temperatures!r}") from None
        if not temps or any(not (0 < t < float("inf")) for t in temps):
            raise InputError(f"--temperatures must be positive numbers in K, got {temperatures!r}")
        if frozen_host_temperature is not None and frozen_host_temperature not in temps:
            raise InputError(f"--frozen-host-temperature {frozen_host_temperature:g} K is not one of --temperatures")

        from ..potentials.registry import REGISTRY

        if refine and teacher in REGISTRY and REGISTRY[teacher].kind == "dft":  # refused before the DFT code is needed
            raise InputError(
                "--refine is for distillation from a fast teacher; with a DFT teacher, active learning chooses "
                "what to label (--max-labels, --per-round)"
            )
        if get_potential(teacher).kind == "dft":
            from .train_dft import train_with_dft

            train_with_dft(
                name=name,
                out=out,
                material=material,
                variants=variants,
                teacher=teacher,
                sampler=sampler,
                temperatures=temps,
                md_steps=md_steps,
                label_every=label_every,
                strained=strained,
                contacts=contacts,
                mobile=mobile or "Li",
                mobile_contacts=mobile_contacts,
                labels=labels,
                max_labels=max_labels,
                initial_labels=initial_labels,
                per_round=per_round,
                force_target=force_target,
                families=families,
                version=version,
                seed=seed,
            )
            return
        _distil(
            material,
            name,
            out,
            teacher=teacher,
            temperatures=temps,
            md_steps=md_steps,
            label_every=label_every,
            strained=strained,
            contacts=contacts,
            mobile=mobile,
            mobile_contacts=mobile_contacts,
            partner_contacts=partner_contacts,
            families=[f.strip() for f in families.split(",") if f.strip()],
            zbl=(1.2, 1.6) if zbl else None,
            radius=radius,
            version=version,
            seed=seed,
            supercell=supercell,
            variants=[v.strip() for v in variants.split(";") if v.strip()],
            validate_steps=validate_steps,
            gate=(
                gate_force,
                gate_md_force,
                gate_vdos,
                gate_d_sigmas,
                production_atoms,
                production_ps,
                gate_host_msd,
                frozen_host_ps,
                frozen_host_runs,
                frozen_host_temperature,
                stability_runs,
            ),
            refine=refine,
            own_snapshots=own_snapshots,
            register=register,
            device=device,
            teacher_repeats=teacher_repeats,
            student_runs=list(student_runs),
            overwrite=overwrite,
            workers=workers,
            friction=friction,
            save_data=save_data,
        )
        return
    from ..potentials.training.sampling import read_labelled

    frames = read_labelled(data)
    teacher_info = {"name": "user data", "files": [str(p) for p in data]}
    if save_data:
        atomic_write(save_data, lambda tmp: ase.io.write(tmp, frames, format="extxyz"))
    fams = [f.strip() for f in families.split(",") if f.strip()]
    rec = train_snap(
        frames,
        out,
        name,
        version=version,
        families=fams,
        zbl=(1.2, 1.6) if zbl else None,
        radius=radius,
        seed=seed,
        teacher=teacher_info,
        log=typer.echo,
    )
    m = rec["metrics"]["test"]
    typer.echo(
        f"chose {rec['family']} ({rec['chosen_because']}): held-out force RMSE "
        f"{m['force_rmse_eV_per_A']:.4f} eV/Å, energy RMSE {m['energy_rmse_meV_per_atom']:.2f} meV/atom"
    )
    typer.echo(
        f"wrote {rec['potential_json']}  (run MD with it: superionic md … --engine lammps "
        f"--potential {rec['potential_json']})"
    )


def _species_counts(items: list[str], option: str) -> dict[str, int]:
    """{species: count} of options given as SPECIES:N ('La:40'); an InputError names what is wrong."""
    from ase.data import atomic_numbers

    from ..errors import InputError

    out: dict[str, int] = {}
    for item in items:
        species, _, n = item.partition(":")
        species = species.strip()
        if species not in atomic_numbers or not n.strip().isdigit() or int(n) < 1:
            raise InputError(
                f"{option} takes SPECIES:N with an element symbol and a count ≥ 1, e.g. La:40; got {item!r}"
            )
        if species in out:
            raise InputError(f"{option} names {species} twice")
        out[species] = int(n)
    return out


def _distil(material: str, name: str, out: Path, *, gate: tuple, save_data: Path | None, **kw) -> None:
    """The teacher route: `potentials.training.distil.distil`, its verdict and where the potential went."""
    import ase.io

    from ..potentials.training.distil import distil
    from ..potentials.training.validate import Gate

    card = distil(material, name, out, gate=Gate(*gate), log=typer.echo, **kw)
    if save_data:
        frames = ase.io.read(out / "teacher" / "samples.extxyz", index=":")
        atomic_write(save_data, lambda tmp: ase.io.write(tmp, frames, format="extxyz"))
    h, single = card["held_out"], card.get("held_out_single_points")
    typer.echo(
        f"{name} v{card['version']} ({card['family']}) passes its gate: held-out force RMSE "
        f"{h['force_rmse_eV_per_A']:.3f} eV/Å, energy RMSE {h['energy_rmse_meV_per_atom']:.1f} meV/atom"
        f" ({card.get('held_out_scope', 'all test configurations')})"
        + (
            f"; strained, rattled and close-contact single points {single['force_rmse_eV_per_A']:.3f} eV/Å"
            if single and card.get("held_out_scope", "").startswith("teacher MD")
            else ""
        )
    )
    if len(card.get("refinement", [])) > 1:
        last = card["refinement"][-1]
        typer.echo(
            f"  after {last['round']} refit(s) with {last['student_snapshots_in_training']} snapshots of its own MD "
            "relabelled by the teacher"
        )
    for r in card["md"]:
        ov = ", ".join(f"{s} {v:.2f}" for s, v in r["vdos_overlap"].items())
        ds = "; ".join(
            f"D_{s} {_d(v)} vs teacher {_d(r['D_teacher_cm2_s'][s])}" for s, v in r["D_student_cm2_s"].items()
        )
        typer.echo(
            f"  {r['temperature_K']:g} K: VDOS overlap {ov}; own-MD force RMSE "
            f"{r['student_md_force']['force_rmse_eV_per_A']:.3f} eV/Å"
            + (
                f" (at its closest approaches {r['student_closest_force']['force_rmse_eV_per_A']:.3f})"
                if r.get("student_closest_force")
                else ""
            )
            + (f"; {ds}" if ds else "")
        )
    fh = card.get("frozen_host")
    if fh and "D_student_cm2_s" in fh:
        ds = "; ".join(
            f"D_{s} {_d(v)} vs teacher {_d(fh['D_teacher_cm2_s'][s])}" for s, v in fh["D_student_cm2_s"].items()
        )
        typer.echo(f"  frozen host (the teacher's, {fh['temperature_K']:g} K): {ds}")
        from ..potentials.training.validate import enhancement_text

        for s, e in (fh.get("enhancement") or {}).items():
            typer.echo(f"    D_free/D_frozen of {s} there: {enhancement_text(e)}")
    elif fh:
        typer.echo(f"  frozen host: not checked ({fh['skipped']})")
    prod = card.get("production")
    if prod:
        closest = ", ".join(
            f"{k} {d:.2f} Å" for k, d in sorted(prod["closest_approach_student_A"].items(), key=lambda x: x[1])[:3]
        )
        force = prod["closest_force"]
        typer.echo(
            f"  production size: {prod['n_atoms']} atoms at {prod['temperature_K']:g} K, {prod['ps']:.1f} ps; closest "
            f"{closest}"
            + (f"; force RMSE at the closest approaches {force['force_rmse_eV_per_A']:.3f} eV/Å" if force else "")
        )
    if card.get("registered"):
        typer.echo(
            f"registered as {name!r}: {card['registered']}  (use it by name: superionic md … --potential {name})"
        )
    else:
        typer.echo(f"not registered (--no-register): {out / f'{name}.lammps.json'}")


def _d(d: dict) -> str:
    from ..potentials.training.validate import d_text

    return d_text(d)
