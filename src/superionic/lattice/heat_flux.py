"""Heat flux of LAMMPS runs, for Green–Kubo thermal conductivity (docs/thermal_conductivity.md).

A run: velocities drawn at T, NVT equilibration (CSVR thermostat of Bussi, Donadio and Parrinello: canonical,
keeps the total momentum zero), then NVE production during which the heat flux is sampled every
`sample_every` steps. The flux is extensive, as LAMMPS' ``compute heat/flux`` defines it (no 1/V):

    J = Σ_i e_i v_i  +  Σ_i W_i · v_i ,     e_i = ½ m_i v_i² + U_i

with U_i the potential energy LAMMPS assigns to atom i (``pe/atom``) and W_i its per-atom virial. The first
sum is the *convective* part (energy carried by moving atoms: the diffusing Li in a superionic conductor),
the second the *virial* or conduction part (energy passed on by forces). They are stored separately.

Many-body potentials. For a potential U = Σ_i U_i({r_j}) the exact virial part is (Fan et al., PRB 92,
094301 (2015); Surblys et al., PRE 99, 051301 (2019); Boone, Babaei and Wilmer, JCTC 15, 5579 (2019))

    J_vir = Σ_i Σ_j (r_i − r_j) (∂U_i/∂r_j · v_j)      (r_i − r_j: the minimum-image vector)

which LAMMPS computes with ``compute centroid/stress/atom``. The older ``stress/atom`` splits every term half
to i and half to j, which is exact for pair potentials only. LAMMPS refuses ``centroid/stress/atom`` for
``pair_style snap`` (and ``mliap``): their per-atom virial is available only in the split form. For SNAP this
module therefore takes the split form from LAMMPS (exact for the pairwise parts of a hybrid potential: ZBL,
tables) and replaces its SNAP share by the exact form, built from the derivatives ∂U_i/∂r_j of the SNAP atomic
energies: ``compute snap … dgradflag 1`` gives ∂B_i/∂r_j for every pair and the SNAP coefficients give
∂U_i/∂B_i. The energy-moment test (an isolated cluster, where dΣ_i r_i e_i/dt = J exactly) checks the result.

Units: LAMMPS metal inside; the Dataset holds fluxes in eV·Å/fs, velocities in Å/fs, time in fs, energies eV.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from ase import Atoms

from .. import units
from ..errors import InputError
from ..potentials.lammps_potentials import LammpsPotential, LammpsSession, get_lammps_potential

#: heat-flux virial forms: exact for any potential LAMMPS supports (centroid), exact for SNAP through the
#: pair derivatives (snap-centroid), the half/half split (pairwise-split: exact for pair potentials only)
METHODS = ("auto", "centroid", "snap-centroid", "pairwise-split")
FLUX_METAL_TO_ASE = 1e-3  # eV·Å/ps → eV·Å/fs


@dataclass
class HeatFluxSettings:
    """One heat-flux run: temperature (K), time step (fs), NVT equilibration and NVE production steps, sampling
    interval (steps), seed of the initial velocities and of the thermostat, CSVR damping time (fs).
    """

    temperature: float
    dt: float = 2.0
    equilibration_steps: int = 5000
    steps: int = 50_000
    sample_every: int = 5
    seed: int = 1
    thermostat_damping: float = 100.0
    rescale: bool = True  # velocities scaled to exactly `temperature` when NVE starts

    def validate(self) -> None:
        """InputError naming the first setting out of range."""
        for name, lo in (("temperature", 0.0), ("dt", 0.0), ("thermostat_damping", 0.0)):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v > lo):
                raise InputError(f"heat flux: {name} must be a positive number, got {v}")
        if int(self.sample_every) < 1:
            raise InputError(f"heat flux: sample_every must be ≥ 1 step, got {self.sample_every}")
        if int(self.steps) < 10 * int(self.sample_every):
            raise InputError(
                f"heat flux: {self.steps} production steps give fewer than 10 samples at one per "
                f"{self.sample_every} steps; run longer"
            )
        if int(self.equilibration_steps) < 0:
            raise InputError("heat flux: equilibration_steps must be ≥ 0")
        if not 1 <= int(self.seed) < 900_000_000:
            raise InputError(f"heat flux: seed must be in 1 … 899999999 (LAMMPS), got {self.seed}")


# -- SNAP: parameters, atomic-energy gradients, the exact many-body flux ---------------------------------


def _snap_ncoeff(twojmax: int) -> int:
    """Number of bispectrum components for a band limit 2J (LAMMPS compute sna/atom ordering)."""
    k = 0
    for j1 in range(twojmax + 1):
        for j2 in range(j1 + 1):
            for j in range(j1 - j2, min(twojmax, j1 + j2) + 1, 2):
                if j >= j1:
                    k += 1
    return k


def _clean_lines(path: Path) -> list[str]:
    return [ln.split("#")[0].strip() for ln in path.read_text().splitlines() if ln.split("#")[0].strip()]


@dataclass
class SnapModel:
    """A SNAP potential read from its .snapcoeff/.snapparam files: what the exact heat flux needs."""

    elements: list[str]  # element of each LAMMPS type (type 1 first)
    rcutfac: float
    twojmax: int
    rfac0: float
    rmin0: float
    switchflag: int
    bzeroflag: int
    quadratic: bool
    radius: dict[str, float]
    weight: dict[str, float]
    coefficients: dict[str, np.ndarray]  # per element: c0, linear (K), upper-triangle quadratic (K(K+1)/2)

    @property
    def ncoeff(self) -> int:
        """Bispectrum components K."""
        return _snap_ncoeff(self.twojmax)

    @property
    def cutoff(self) -> float:
        """Largest SNAP pair cutoff (Å): (R_a + R_b)·rcutfac."""
        r = max(self.radius[e] for e in self.elements)
        return 2.0 * r * self.rcutfac

    def compute_command(self, cid: str) -> str:
        """The ``compute snap`` line giving B_i and ∂B_i/∂r_j for every pair (``dgradflag 1``)."""
        rad = " ".join(repr(self.radius[e]) for e in self.elements)
        w = " ".join(repr(self.weight[e]) for e in self.elements)
        return (
            f"compute {cid} all snap {self.rcutfac!r} {self.rfac0!r} {self.twojmax} {rad} {w} "
            f"rmin0 {self.rmin0!r} switchflag {self.switchflag} bzeroflag {self.bzeroflag} "
            "quadraticflag 0 bikflag 1 dgradflag 1"
        )

    def beta(self, B: np.ndarray, symbols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(β_i = ∂U_i/∂B_i, U_i) for descriptors B (N, K): U_i = c0 + c·B_i + ½ B_iᵀ Q B_i."""
        K = self.ncoeff
        beta = np.zeros_like(B)
        energy = np.zeros(len(B))
        iu = np.triu_indices(K)
        for el in dict.fromkeys(symbols):
            sel = np.asarray(symbols) == el
            c = self.coefficients[el]
            lin = c[1 : K + 1]
            b = B[sel]
            beta[sel] = lin
            energy[sel] = c[0] + b @ lin
            if self.quadratic:
                Q = np.zeros((K, K))
                Q[iu] = c[K + 1 :]
                Q = Q + Q.T - np.diag(np.diag(Q))
                beta[sel] += b @ Q
                energy[sel] += 0.5 * np.einsum("ik,kl,il->i", b, Q, b)
        return beta, energy


def snap_model(potential: LammpsPotential) -> SnapModel | None:
    """The SNAP part of a LAMMPS potential (plain ``snap`` or a ``hybrid`` holding it), None when it has none.

    InputError for SNAP variants the exact flux does not cover yet (chem, switchinner, bnorm).
    """
    coeff_file = param_file = None
    elements: list[str] = []
    for line in potential.commands():
        toks = line.split()
        if toks[:1] != ["pair_coeff"]:
            continue
        cf = [i for i, t in enumerate(toks) if t.endswith(".snapcoeff")]
        if cf:
            i = cf[0]
            coeff_file, param_file = Path(toks[i]), Path(toks[i + 1])
            elements = toks[i + 2 :]
    if coeff_file is None or param_file is None:
        return None
    params: dict[str, str] = {}
    for ln in _clean_lines(param_file):
        k, *v = ln.split()
        params[k] = " ".join(v)
    for key in ("chemflag", "switchinnerflag", "bnormflag"):
        if int(float(params.get(key, "0"))):
            raise InputError(f"the exact SNAP heat flux does not cover {key} = 1 yet ({param_file})")
    lines = _clean_lines(coeff_file)
    nelem, ncall = (int(x) for x in lines[0].split()[:2])
    radius, weight, coefficients = {}, {}, {}
    p = 1
    for _ in range(nelem):
        head = lines[p].split()
        el = head[0]
        radius[el], weight[el] = float(head[1]), float(head[2])
        coefficients[el] = np.array([float(x) for x in lines[p + 1 : p + 1 + ncall]])
        p += 1 + ncall
    model = SnapModel(
        elements=[e for e in elements],
        rcutfac=float(params["rcutfac"]),
        twojmax=int(float(params["twojmax"])),
        rfac0=float(params.get("rfac0", "0.99363")),
        rmin0=float(params.get("rmin0", "0.0")),
        switchflag=int(float(params.get("switchflag", "1"))),
        bzeroflag=int(float(params.get("bzeroflag", "1"))),
        quadratic=bool(int(float(params.get("quadraticflag", "0")))),
        radius=radius,
        weight=weight,
        coefficients=coefficients,
    )
    missing = sorted(set(model.elements) - set(coefficients) - {"NULL"})
    if missing:
        raise InputError(f"SNAP file {coeff_file} has no coefficients for {missing}")
    K = model.ncoeff
    expect = 1 + K + (K * (K + 1) // 2 if model.quadratic else 0)
    if ncall != expect:
        raise InputError(f"SNAP file {coeff_file}: {ncall} coefficients per element, expected {expect} for 2J={K}")
    return model


def snap_energy_gradients(sess: LammpsSession, model: SnapModel, cid: str = "hf_snap") -> tuple[np.ndarray, np.ndarray]:
    """(G, U): G[i, j] = ∂U_i/∂r_j (eV/Å, LAMMPS frame, (N, N, 3); zero for j outside i's SNAP sphere and for
    j = i) and the SNAP atomic energies U_i (eV), from ``compute snap`` on the session's current state.
    """
    n = sess.n
    arr = np.asarray(sess.lmp.numpy.extract_compute(cid, 0, 2))
    K = model.ncoeff
    B = arr[:n, 3 : 3 + K]
    beta, energy = model.beta(B, sess.symbols)
    g = arr[n : n + 3 * n * n]
    ii, jj, aa = (g[:, c].astype(np.int64) for c in range(3))
    # compute snap's rows hold −∂B_i/∂r_j (as snad/atom)
    val = -np.einsum("rk,rk->r", beta[ii], g[:, 3 : 3 + K])
    G = np.zeros((n, n, 3))
    G[ii, jj, aa] = val
    G[np.arange(n), np.arange(n)] = 0.0
    return G, energy


def _minimum_image(x: np.ndarray, L: np.ndarray) -> np.ndarray:
    """d[i, j] = x_i − x_j, minimum image in the lower-triangular LAMMPS cell L (rows a, b, c)."""
    d = x[:, None, :] - x[None, :, :]
    frac = d @ np.linalg.inv(L)
    frac -= np.round(frac)
    return frac @ L


def manybody_fluxes(G: np.ndarray, x: np.ndarray, v: np.ndarray, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(J_centroid, J_split) of atomic energies with gradients G[i, j] = ∂U_i/∂r_j.

    J_centroid = Σ_ij (r_i − r_j)(∂U_i/∂r_j · v_j), the exact virial flux; J_split the same terms split half
    to i and half to j and contracted as LAMMPS' heat/flux contracts a 6-component ``stress/atom`` (symmetric
    tensor from xx yy zz xy xz yz). x: positions (N, 3), v: velocities (N, 3), L: cell; units in = units out.
    """
    d = _minimum_image(x, L)
    j_centroid = np.einsum("ija,ijb,jb->a", d, G, v)
    w = np.stack(
        [
            d[..., 0] * G[..., 0],
            d[..., 1] * G[..., 1],
            d[..., 2] * G[..., 2],
            d[..., 0] * G[..., 1],
            d[..., 0] * G[..., 2],
            d[..., 1] * G[..., 2],
        ],
        axis=-1,
    )
    W = 0.5 * (w.sum(axis=1) + w.sum(axis=0))  # (N, 6) per-atom virial, half of every pair term
    j_split = np.stack(
        [
            (W[:, 0] * v[:, 0] + W[:, 3] * v[:, 1] + W[:, 4] * v[:, 2]).sum(),
            (W[:, 3] * v[:, 0] + W[:, 1] * v[:, 1] + W[:, 5] * v[:, 2]).sum(),
            (W[:, 4] * v[:, 0] + W[:, 5] * v[:, 1] + W[:, 2] * v[:, 2]).sum(),
        ]
    )
    return j_centroid, j_split


# -- the run ------------------------------------------------------------------------------------------


def _widths(L: np.ndarray) -> np.ndarray:
    vol = abs(np.linalg.det(L))
    a, b, c = L
    return vol / np.array(
        [np.linalg.norm(np.cross(b, c)), np.linalg.norm(np.cross(c, a)), np.linalg.norm(np.cross(a, b))]
    )


def _choose_stress(sess: LammpsSession, method: str, snap: SnapModel | None) -> str:
    """Define compute hf_st and return the method used (see METHODS)."""
    c = sess.command
    if method in ("auto", "centroid"):
        c("compute hf_st all centroid/stress/atom NULL virial")
        try:
            sess.command("run 0 post no")
            return "centroid"
        except Exception as err:  # LAMMPS: "Pair style does not support compute centroid/stress/atom"
            if "does not support" not in str(err):
                raise
            c("uncompute hf_st")
            if method == "centroid" or snap is None:
                raise InputError(
                    f"LAMMPS has no centroid per-atom stress for pair_style {sess.potential.pair_style.split()[0]} "
                    "and the exact many-body flux is implemented here for SNAP only; method='pairwise-split' gives "
                    "the half/half split (exact for pair potentials only)"
                ) from None
            method = "snap-centroid"
    c("compute hf_st all stress/atom NULL virial")
    if method == "snap-centroid":
        if snap is None:
            raise InputError("method 'snap-centroid' needs a potential with a SNAP part")
        w = _widths(sess.L)
        if snap.cutoff >= 0.5 * w.min():
            raise InputError(
                f"the SNAP cutoff {snap.cutoff:.2f} Å must stay below half the cell width ({0.5 * w.min():.2f} Å) for "
                "the exact many-body flux (one image per neighbour): use a larger supercell"
            )
    return method


def run_heat_flux(
    atoms: Atoms,
    potential: str | LammpsPotential | dict | Path,
    settings: HeatFluxSettings,
    *,
    method: str = "auto",
    threads: int = 1,
    progress: Callable[[int, int, float], None] | None = None,
    energy_moment: bool = False,
) -> xr.Dataset:
    """NVT equilibration then NVE production on LAMMPS, sampling the heat flux; returns an xarray Dataset.

    atoms: the structure (ASE units); potential: a shipped LAMMPS potential name, a ``.lammps.json`` file or a
    `LammpsPotential`; settings: `HeatFluxSettings`. method: see `METHODS` ("auto": centroid/stress/atom where
    LAMMPS has it, else the SNAP pair-derivative form). progress(step, steps, temperature) is called now and then.
    energy_moment: also record Σ_i x_i e_i (wrapped positions): its time derivative equals J only for an isolated
    cluster that never crosses the box, which is how the tests check the flux.

    Variables (time in fs from the start of NVE; direction x y z of the caller's frame):
    flux_convection Σ e_i v_i and flux_virial Σ W_i·v_i (eV·Å/fs; total J = their sum), flux_virial_split
    (SNAP runs: the half/half split LAMMPS' stress/atom gives, for comparison), species_number_flux Σ_{i∈α} v_i
    (Å/fs), species_convection Σ_{i∈α} e_i v_i (eV·Å/fs), species_energy Σ_{i∈α} e_i (eV), temperature (K),
    total_energy (eV). attrs: volume_A3, temperature_K, n_atoms, counts, dt_fs, sample_every, method, …
    """
    settings.validate()
    if method not in METHODS:
        raise InputError(f"heat-flux method {method!r} is not one of {', '.join(METHODS)}")
    pot = get_lammps_potential(potential)
    snap = snap_model(pot)
    atoms = atoms.copy()
    symbols = atoms.get_chemical_symbols()
    n = len(atoms)
    t0 = time.time()
    sess = LammpsSession(atoms, pot, threads=threads)
    c = sess.command
    every, steps, T = int(settings.sample_every), int(settings.steps), float(settings.temperature)
    steps = every * (steps // every)
    types_present = [t for t in range(1, len(pot.elements) + 1) if np.any(sess.types == t)]
    species = [pot.elements[t - 1] for t in types_present]
    tmp = tempfile.TemporaryDirectory(prefix="superionic-heatflux-")
    try:
        rng = np.random.default_rng(settings.seed)
        c(f"timestep {settings.dt / 1000.0!r}")
        c(f"velocity all create {T!r} {int(settings.seed)} mom yes rot no dist gaussian loop geom")
        c("fix hf_nve all nve")
        if settings.equilibration_steps:
            seed2 = int(rng.integers(1, 900_000_000))
            c(f"fix hf_csvr all temp/csvr {T!r} {T!r} {settings.thermostat_damping / 1000.0!r} {seed2}")
            c(f"run {int(settings.equilibration_steps)}")
            c("unfix hf_csvr")
        if settings.rescale:
            c(f"velocity all scale {T!r}")
        c("reset_timestep 0")
        c("compute hf_ke all ke/atom")
        c("compute hf_pe all pe/atom")
        used = _choose_stress(sess, method, snap)
        c("compute hf_flux all heat/flux hf_ke hf_pe hf_st")
        c("compute hf_ket all ke")
        values = ["c_hf_flux[*]", "c_thermo_temp", "c_thermo_pe", "c_hf_ket"]
        for t in types_present:
            c(f"group hf_g{t} type {t}")
            c(f"compute hf_flux{t} hf_g{t} heat/flux hf_ke hf_pe hf_st")
            c(f"compute hf_e{t} hf_g{t} reduce sum c_hf_ke c_hf_pe")
            for ax in "xyz":
                c(f"variable hf_n{t}{ax} equal vcm(hf_g{t},{ax})*count(hf_g{t})")
            values += [f"c_hf_flux{t}[4]", f"c_hf_flux{t}[5]", f"c_hf_flux{t}[6]"]
            values += [f"v_hf_n{t}x", f"v_hf_n{t}y", f"v_hf_n{t}z", f"c_hf_e{t}[1]", f"c_hf_e{t}[2]"]
        if energy_moment:
            for ax in "xyz":
                c(f"variable hf_m{ax} atom {ax}*(c_hf_ke+c_hf_pe)")
            c("compute hf_mom all reduce sum v_hf_mx v_hf_my v_hf_mz")
            values += ["c_hf_mom[1]", "c_hf_mom[2]", "c_hf_mom[3]"]
        out_file = Path(tmp.name) / "flux.dat"
        c(f"fix hf_out all ave/time 1 1 {every} {' '.join(values)} file {out_file} format ' %.15g'")
        corrections: list[np.ndarray] = []
        split_python: list[np.ndarray] = []
        if used == "snap-centroid":
            assert snap is not None
            c(snap.compute_command("hf_snap"))
            c("run 0")

            def correct() -> None:
                G, _ = snap_energy_gradients(sess, snap)
                jc, js = manybody_fluxes(G, sess._local("x"), sess._local("v"), sess.L)
                corrections.append(jc - js)
                split_python.append(js)

            correct()
            for k in range(steps // every):
                c(f"run {every} pre no post no")
                correct()
                if progress and (k + 1) % max(1, steps // every // 20) == 0:
                    progress((k + 1) * every, steps, float(sess.lmp.get_thermo("temp")))
        else:
            chunk = every * max(1, steps // every // 20)
            done, first = 0, True
            while done < steps:
                m = min(chunk, steps - done)
                c(f"run {m}" + ("" if first else " pre no post no"))
                done, first = done + m, False
                if progress:
                    progress(done, steps, float(sess.lmp.get_thermo("temp")))
        c("unfix hf_out")
        data = np.loadtxt(out_file, comments="#", ndmin=2)
    finally:
        sess.close()
        tmp.cleanup()
    # rows: one per sample, steps 0, every, 2·every … (drop repeats of a step)
    _, keep = np.unique(data[:, 0], return_index=True)
    data = data[np.sort(keep)]
    nsamp = steps // every + 1
    if len(data) != nsamp or not np.array_equal(data[:, 0], np.arange(nsamp) * every):
        raise RuntimeError(f"heat flux: expected {nsamp} samples every {every} steps, LAMMPS wrote {len(data)}")
    R = sess.Q.T  # LAMMPS frame → caller frame: r @ Q.T
    col = 1
    j_total = data[:, col : col + 3]
    j_conv = data[:, col + 3 : col + 6]
    col += 6
    temp, pe, ke = data[:, col], data[:, col + 1], data[:, col + 2]
    col += 3
    sp_conv, sp_num, sp_e = [], [], []
    for _ in types_present:
        sp_conv.append(data[:, col : col + 3])
        sp_num.append(data[:, col + 3 : col + 6])
        sp_e.append(data[:, col + 6] + data[:, col + 7])
        col += 8
    j_vir_lmp = j_total - j_conv
    j_vir = j_vir_lmp.copy()
    if used == "snap-centroid":
        j_vir = j_vir + np.asarray(corrections)
    time_fs = np.arange(nsamp) * every * float(settings.dt)
    direction = ["x", "y", "z"]
    f = FLUX_METAL_TO_ASE
    dv: dict[str, Any] = {
        "flux_convection": (("time", "direction"), j_conv @ R * f, {"units": "eV angstrom fs-1"}),
        "flux_virial": (("time", "direction"), j_vir @ R * f, {"units": "eV angstrom fs-1"}),
        "species_number_flux": (
            ("time", "species", "direction"),
            np.stack(sp_num, axis=1) @ R * f,
            {"units": "angstrom fs-1"},
        ),
        "species_convection": (
            ("time", "species", "direction"),
            np.stack(sp_conv, axis=1) @ R * f,
            {"units": "eV angstrom fs-1"},
        ),
        "species_energy": (("time", "species"), np.stack(sp_e, axis=1), {"units": units.ENERGY}),
        "temperature": (("time",), temp, {"units": units.TEMPERATURE}),
        "total_energy": (("time",), pe + ke, {"units": units.ENERGY}),
    }
    for name in dv:
        dv[name][2]["long_name"] = _LONG_NAMES[name]
    if used == "snap-centroid":
        dv["flux_virial_split"] = (
            ("time", "direction"),
            j_vir_lmp @ R * f,
            {"units": "eV angstrom fs-1", "long_name": "virial flux with the half/half per-atom virial (stress/atom)"},
        )
    if energy_moment:
        dv["energy_moment"] = (
            ("time", "direction"),
            data[:, col : col + 3] @ R,
            {"units": "eV angstrom", "long_name": "sum_i x_i e_i (wrapped x; d/dt = J for an isolated cluster)"},
        )
    vol = float(abs(np.linalg.det(np.asarray(atoms.cell))))
    tt = time_fs / 1000.0
    drift = float(np.polyfit(tt, (pe + ke) / n, 1)[0]) if nsamp > 2 else 0.0
    counts = {s: int(np.sum(np.asarray(symbols) == s)) for s in species}
    attrs = {
        "title": "heat flux of an NVE run (LAMMPS)",
        "volume_A3": vol,
        "temperature_K": T,
        "mean_temperature_K": float(temp.mean()),
        "n_atoms": n,
        "counts": json.dumps(counts),
        "formula": atoms.get_chemical_formula(),
        "dt_fs": float(settings.dt),
        "sample_every": every,
        "sample_interval_fs": every * float(settings.dt),
        "method": used,
        "potential": json.dumps(pot.identity()),
        "settings": json.dumps(asdict(settings)),
        "energy_drift_eV_per_atom_per_ps": drift,
        "energy_fluctuation_eV_per_atom": float(np.std(pe + ke) / n),
        "wall_seconds": time.time() - t0,
        "flux_convention": "J = sum_i e_i v_i + sum_i W_i.v_i, extensive (no 1/V); e_i = ke_i + pe_i (LAMMPS)",
    }
    ds = xr.Dataset(
        dv, coords={"time": ("time", time_fs, {"units": units.TIME}), "direction": direction, "species": species}
    )
    ds.attrs.update(attrs)
    return ds


_LONG_NAMES = {
    "flux_convection": "convective heat flux sum_i e_i v_i",
    "flux_virial": "virial (conduction) heat flux sum_i W_i.v_i",
    "species_number_flux": "number flux of each species sum_{i in a} v_i",
    "species_convection": "convective flux of each species sum_{i in a} e_i v_i",
    "species_energy": "energy of each species sum_{i in a} e_i",
    "temperature": "kinetic temperature",
    "total_energy": "total energy (NVE: conserved)",
}
