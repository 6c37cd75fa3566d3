"""Screening: one study per material, then one table of descriptors, their rank correlations with D, a report.

A screen file (YAML) names the materials and the study settings they share::

    name: argyrodite-vs-thiophosphate
    output: results/screen
    study:                      # any study setting (docs/study.md), shared by every material
      temperatures: [600, 800]
      potential: li6ps5cl-snap
      protocols: [free, frozen-host]
      execution: {executor: local, workers: 2}
    materials:
      - {material: Li6PS5Cl}
      - {material: beta-Li3PS4, supercell: 1x1x2}
      - {material: Li6PS5Cl:exchange=0.5,seed=1, label: Li6PS5Cl-disordered}

Each material runs as an ordinary study in ``<output>/<label>/`` (resumed and cached as any study: a killed
screen restarts where it stopped). `descriptors` reads each study's summary.json into one row (values with σ):
D of the mobile ion at the ranking temperature, E_a, D and σ_NE at 300 K (Arrhenius-extrapolated), the mobile
ion's VDOS band centre, g(0), low-ω exponent and Debye frequency at the ranking temperature, and the phonon
enhancement D_free/D_suppressed; with the lattice stage (`analyses: [..., lattice]`) the fraction of overdamped
normal modes (NMD, Γ/2 > ν₀), that of the host's acoustic modes at the smallest |Q| (current correlations, no
reference structure) and the unstable instantaneous-normal-mode fraction f_u. `rank_correlations` gives Spearman's ρ of each descriptor with D across
materials and its bootstrap interval (materials resampled, values drawn within their σ). Units: K, cm²/s, mS/cm, eV, meV, THz, 1/THz.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError
from .config import StudyConfig

#: descriptor → (label, unit) in the table; each row holds key and key + "_err"
DESCRIPTORS: dict[str, tuple[str, str]] = {
    "E_a": ("E_a", "eV"),
    "D_300K": ("D(300 K)", "cm²/s"),
    "sigma_300K": ("σ_NE(300 K)", "mS/cm"),
    "band_centre": ("band centre", "meV"),
    "g0": ("g(0)", "1/THz"),
    "exponent": ("low-ω exponent n", ""),
    "debye": ("Debye frequency", "THz"),
    "enhancement": ("D_free/D_suppressed", ""),
    "overdamped": ("overdamped fraction (NMD)", ""),
    "overdamped_acoustic": ("overdamped fraction (host acoustic)", ""),
    "f_u": ("unstable INM fraction f_u", ""),
}


class ScreenEntry(BaseModel):
    """One material of a screen: the study settings that differ from the screen's shared ones."""

    model_config = ConfigDict(extra="forbid")
    material: str
    supercell: str | None = None
    potential: str | None = None
    mobile_species: str | None = None
    temperatures: list[float] | None = Field(
        None,
        description="K; this material's own ladder instead of the shared one (e.g. below its melting point): "
        "its D is then ranked at its own temperature and left out of the rank correlations",
    )
    rank_temperature: float | None = Field(None, gt=0, description="K; with `temperatures`: where D is ranked")
    label: str | None = Field(None, description="folder and table name (default: the material, made file-safe)")

    def name(self) -> str:
        """The entry's label, or its material as a file-safe name."""
        return self.label or re.sub(r"[^A-Za-z0-9_.=-]+", "_", self.material).strip("_")


class ScreenConfig(BaseModel):
    """A screen: shared study settings and the materials to run them on."""

    model_config = ConfigDict(extra="forbid")
    name: str = "screen"
    output: str = "results/screen"
    study: dict[str, Any] = Field(default_factory=dict)
    materials: list[ScreenEntry] = Field(min_length=1)
    rank_temperature: float | None = Field(
        None, gt=0, description="K; D is ranked at this temperature (default: the lowest of the ladder)"
    )
    n_boot: int = Field(2000, ge=100, description="bootstrap resamples of the rank correlations")
    seed: int = 0

    def rank_temperature_of(self, entry: ScreenEntry) -> float | None:
        """K at which `entry`'s D is ranked: its own with its own ladder, else the screen's (None: the lowest)."""
        if entry.temperatures:
            return entry.rank_temperature
        if entry.rank_temperature is not None:
            raise InputError(f"screen material {entry.name()}: rank_temperature needs its own temperatures")
        return self.rank_temperature

    def studies(self) -> list[tuple[str, StudyConfig]]:
        """(label, StudyConfig) per material; a setting the study does not know is an InputError naming it."""
        out, seen = [], set()
        for e in self.materials:
            label = e.name()
            if label in seen:
                raise InputError(f"two materials of the screen are both labelled {label!r}: give them labels")
            seen.add(label)
            own = {
                k: v
                for k, v in e.model_dump().items()
                if k in ("material", "supercell", "potential", "temperatures") and v
            }
            if e.mobile_species:
                own["mobile_species"] = e.mobile_species
            raw = {**self.study, **own, "name": label, "output": str(Path(self.output) / label)}
            try:
                out.append((label, StudyConfig(**raw)))
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(x) for x in first["loc"])
                raise InputError(f"screen material {label}: study.{where}: {first['msg']}") from None
        return out


def load_screen(path: str | Path) -> ScreenConfig:
    """Read and check a screen file; errors name the offending key."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"screen file not found: {p}")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InputError(f"{p} is not valid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{p} must hold a mapping (name:, study:, materials: …; see examples/screen.yaml)")
    try:
        cfg = ScreenConfig(**raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise InputError(f"{p}: {where}: {first['msg']}") from None
    cfg.studies()  # every material's study settings are checked before anything runs
    for e in cfg.materials:
        cfg.rank_temperature_of(e)
    return cfg


def _free(results: dict, temperature: float) -> dict | None:
    runs = [r for r in results.values() if isinstance(r, dict) and r.get("protocol") == "free"]
    match = [r for r in runs if abs(float(r.get("temperature_K", -1)) - temperature) < 1e-6]
    return match[0] if match else None


def descriptors(summary: dict, rank_temperature: float | None = None) -> dict[str, Any]:
    """One screen row from a study's summary.json (see module doc); missing numbers are NaN, never guessed."""
    from ..results import fit_value, nonnegative_fields

    cfg, results = summary["config"], summary["results"]
    mobile = cfg.get("mobile_species") or "Li"
    temps = sorted(float(t) for t in cfg["temperatures"])
    t_rank = float(rank_temperature) if rank_temperature is not None else temps[0]
    nan = float("nan")
    row: dict[str, Any] = {"material": cfg["material"], "mobile": mobile, "T_rank_K": t_rank}
    run = _free(results, t_rank)
    if run is None:
        raise InputError(f"{cfg['name']}: no free run at the ranking temperature {t_rank:g} K (runs: {temps})")
    dif = (run.get("diffusion") or {}).get(mobile) or {}
    row["D_diffusive"] = bool(dif.get("fit_range_ok", False))
    row.update(nonnegative_fields(*fit_value(dif), regime_ok=row["D_diffusive"]))  # D is None unless resolved
    v = (run.get("vdos") or {}).get(mobile) or {}
    row["band_centre"], row["band_centre_err"] = v.get("band_centre", nan), nan
    row["g0"], row["g0_err"] = (v.get("g0", nan), v.get("g0_err", nan)) if v.get("g0_resolved") else (nan, nan)
    law = v.get("law", "unresolved")
    row["exponent"], row["exponent_err"] = (
        (v.get("exponent", nan), v.get("exponent_err", nan)) if law != "unresolved" else (nan, nan)
    )
    row["law"] = law
    deb = v.get("debye_frequency") or {}
    row["debye"], row["debye_err"] = deb.get("THz", nan), deb.get("THz_err", nan)
    series = results.get("series") or {}
    # a Li argyrodite's cage-to-cage fit when the study has one (the plain MSD of short runs fills the cages)
    cage = series.get("arrhenius_cage") or {}
    arr = cage or series.get("arrhenius") or {}
    row["arrhenius_from"] = ("cage MSD" if cage else "MSD") if arr else None
    # an Arrhenius line through D that have no diffusive regime (MSD slopes of cage filling) is not a barrier
    row["arrhenius_diffusive"] = bool(arr.get("all_fit_ranges_diffusive", True))
    if not row["arrhenius_diffusive"]:
        arr = {}
    row["E_a"], row["E_a_err"] = arr.get("E_a", nan), arr.get("E_a_err", nan)
    row["D_300K"], row["D_300K_err"] = arr.get("D_300K", nan), arr.get("D_300K_err", nan)
    cond = run.get("conductivity") or {}
    sigma_ne = fit_value(cond, "sigma_NE")[0]  # σ_NE/D is the carrier density's factor, resolved or not
    if "sigma_NE_300K" in arr:
        row["sigma_300K"], row["sigma_300K_err"] = arr["sigma_NE_300K"], arr["sigma_NE_300K_err"]
    elif np.isfinite(sigma_ne) and sigma_ne > 0 and row["D"] is not None and np.isfinite(row["D_300K"]):
        per_d = sigma_ne / row["D"] * t_rank / 300.0  # σ_NE ∝ n q² D / T at the same carrier density
        row["sigma_300K"], row["sigma_300K_err"] = per_d * row["D_300K"], per_d * row["D_300K_err"]
    else:
        row["sigma_300K"], row["sigma_300K_err"] = nan, nan
    row["enhancement"], row["enhancement_err"], row["enhancement_kind"] = nan, nan, None
    for e in (series.get("phonon_enhancement") or {}).values():
        if abs(float(e["temperature_K"]) - t_rank) > 1e-6:
            continue
        if "ratio_cage" in e:
            row.update(enhancement=e["ratio_cage"], enhancement_err=e["ratio_cage_err"], enhancement_kind="cage MSD")
        elif e.get("fit_ranges_diffusive"):
            row.update(enhancement=e["ratio"], enhancement_err=e["ratio_err"], enhancement_kind="MSD")
        elif "ratio_lower" in e:
            row["enhancement_lower"] = e["ratio_lower"]
        break
    lat = _lattice_run_entry(summary, t_rank)
    nmd, inm = lat.get("nmd") or {}, lat.get("inm") or {}
    row["overdamped"], row["overdamped_err"] = (
        nmd.get("overdamped_fraction", nan),
        nmd.get("overdamped_fraction_err", nan),
    )
    bands = nmd.get("bands") or []
    n_modes = sum(b["modes"] for b in bands)
    # share of the modes whose verdict lies within 2σ of the border Γ/2 = ν₀: the binomial error leaves it out
    row["overdamped_undecided"] = sum(b["undecided"] for b in bands) / n_modes if n_modes else nan
    # the verdicts depend on both (docs/screening.md): the report says which were used
    row["overdamped_segment_ps"] = nmd.get("segment_ps", nan)
    row["overdamped_follow_hops"] = nmd.get("follow_hops")
    acoustic = lat.get("acoustic") or {}
    row["overdamped_acoustic"] = acoustic.get("overdamped_fraction", nan)
    row["overdamped_acoustic_err"] = acoustic.get("overdamped_fraction_err", nan)
    row["overdamped_acoustic_undecided"] = acoustic.get("undecided_fraction", nan)
    row["f_u"], row["f_u_err"] = inm.get("f_u", nan), inm.get("f_u_err", nan)
    return row


def _lattice_run_entry(summary: dict, temperature: float) -> dict:
    """The lattice stage's entry of the free run at `temperature` ({} without the lattice stage)."""
    for e in ((summary.get("lattice") or {}).get("runs") or {}).values():
        if abs(float(e.get("temperature_K", -1)) - temperature) < 1e-6:
            return e
    return {}


def spearman_bootstrap(
    x: np.ndarray,
    y: np.ndarray,
    n_boot: int = 2000,
    seed: int = 0,
    x_err: np.ndarray | None = None,
    y_err: np.ndarray | None = None,
) -> dict[str, Any]:
    """Spearman's ρ of x with y over the finite pairs, and its 16–84 % bootstrap interval.

    Each resample draws the materials with replacement and, where σ are given (x_err, y_err; NaN = none),
    every value from N(value, σ): two materials whose D agree within σ have no fixed order, and the interval
    says so. Fewer than 3 finite pairs give ρ = NaN with the reason: a rank correlation of two points means nothing.
    """
    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 3:
        return {"rho": float("nan"), "low": float("nan"), "high": float("nan"), "n": n, "why": "needs ≥ 3 materials"}
    sx, sy = (np.nan_to_num(np.zeros_like(x) if e is None else np.asarray(e, float))[ok] for e in (x_err, y_err))
    x, y = x[ok], y[ok]
    rho = float(spearmanr(x, y).statistic)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        k = rng.integers(0, n, n)
        xb, yb = x[k] + rng.normal(0.0, 1.0, n) * sx[k], y[k] + rng.normal(0.0, 1.0, n) * sy[k]
        if np.ptp(xb) > 0 and np.ptp(yb) > 0:  # a resample with one distinct value has no ranks
            boot.append(spearmanr(xb, yb).statistic)
    low, high = np.percentile(boot, [16, 84]) if boot else (np.nan, np.nan)
    return {"rho": rho, "low": float(low), "high": float(high), "n": n}


def shared_rank_temperature(rows: list[dict]) -> float | None:
    """The screen's ranking temperature (K): the most common one of the materials on the shared ladder (of all rows
    when every material has its own; None without rows). D measured at another temperature is not ranked.
    """
    temps = [r["T_rank_K"] for r in rows if not r.get("own_ladder")] or [r["T_rank_K"] for r in rows]
    if not temps:
        return None
    values, counts = np.unique(temps, return_counts=True)
    return float(values[np.argmax(counts)])


def ranked(row: dict, t_rank: float | None) -> bool:
    """Whether the row's D is ranked: diffusive and measured at the ranking temperature `t_rank` (K)."""
    return bool(row.get("D_diffusive")) and row.get("D") is not None and row["T_rank_K"] == t_rank


def rank_correlations(
    rows: list[dict], n_boot: int = 2000, seed: int = 0, t_rank: float | None = None
) -> dict[str, dict]:
    """Spearman ρ of every descriptor with D at the ranking temperature `t_rank` (K; default:
    `shared_rank_temperature`), across the rows (materials); a row ranked at another temperature has no D here.
    """
    from ..results import fit_value

    if t_rank is None:
        t_rank = shared_rank_temperature(rows)
    d = np.array([r["D"] if ranked(r, t_rank) else np.nan for r in rows], float)
    d_err = np.array([fit_value(r)[1] for r in rows], float)
    out = {}
    for k in DESCRIPTORS:
        x = np.array([r.get(k, np.nan) for r in rows], float)
        x_err = np.array([r.get(f"{k}_err", np.nan) for r in rows], float)
        out[k] = spearman_bootstrap(x, d, n_boot, seed, x_err, d_err)
    return out


def run_screen(cfg: ScreenConfig, overwrite: bool = False, progress=None) -> Path:
    """Run (or resume) every material's study, then write ``screen.json`` and ``screen.html``; returns the report."""
    from ..results import write_json
    from .study import run_study

    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    rows, failed = [], []
    for (label, study), entry in zip(cfg.studies(), cfg.materials):
        try:
            run_study(study, progress=progress, overwrite=overwrite)
            summary = json.loads((Path(study.output) / "summary.json").read_text())
            row = descriptors(summary, cfg.rank_temperature_of(entry))
            rows.append({"label": label, **row, "own_ladder": bool(entry.temperatures)})
        except InputError as err:  # one material's refusal does not sink the screen
            failed.append({"label": label, "error": str(err)})
    corr = rank_correlations(rows, cfg.n_boot, cfg.seed)
    write_json(
        out / "screen.json", {"config": cfg.model_dump(), "rows": rows, "rank_correlations": corr, "failed": failed}
    )
    from ..report.screen import write_screen_report

    return write_screen_report(out, cfg.name, rows, corr, failed)
