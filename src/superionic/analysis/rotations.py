"""Anion rotations: orientations of polyanions (PS4), libration vs rotation, reorientation events,
rotational autocorrelation functions and their correlation with Li hops (SCIENCE.md §5).

Definitions (the project pins these; docs/rotations.md):
- An *anion unit* (a molecular anion unit, e.g. a PS4 group) is a centre atom (P) with the ligands (S)
  within `cutoff` Å of it in frame 0 (minimum image). Ligand identities stay fixed for the whole trajectory.
- u_k(t) = b_k/|b_k|, b_k the minimum-image centre→ligand vector of bond k in frame t (Å).
- *Orientation*: the proper rotation R(t) that best maps the reference vectors u_k^ref onto u_k(t)
  (least squares over the bonds, Kabsch/SVD); a unit quaternion (w, x, y, z), w ≥ 0, and its angle
  θ(t) ∈ [0°, 180°]. Reference: frame 0 (default) or the symmetrised time average of each u_k.
- *Symmetry*: the ligand permutations π for which a proper rotation maps the reference onto itself
  (RMS unit-vector misfit < `sym_tol`; for a tetrahedron the 12 even permutations = the group T).
  θ_sym(t) = min_π angle(best rotation of u^ref_π(k) onto u_k(t)) is the misorientation from the nearest
  symmetry-equivalent copy of the reference orientation (θ_sym ≤ θ).
- *Libration*: θ_sym < `libration_angle` (15°); otherwise *rotated* (in transit, or in an orientation
  that is not symmetry-equivalent to the reference).
- *Reorientation event*: the unit settles (θ_sym < libration_angle) in a symmetry-equivalent orientation
  with a ligand assignment π different from the one where it last settled. Distinct orientations of T
  are ≥ 120° apart, so noise cannot make the assignment flicker (hysteresis is built in).
- C_ℓ(t) = <P_ℓ(u(0)·u(t))> over bonds and all time origins, by FFT (ℓ = 1, 2).
- Rotation–hop correlation (after Jun et al., PNAS 121, e2316493121 (2024)): rotation events within
  ±Δt of a Li hop and within Δr of the hopping Li, against circularly time-shifted events.

Times in this module are in ps (trajectory time steps are fs).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np
import xarray as xr

from .. import units
from ..errors import InputError
from ..geometry import minimum_image
from ..trajectory.model import Trajectory
from .correlate import autocorrelation

PS = "ps"
DEG = "degree"
#: matrices held per Kabsch batch (frames × units × symmetry operations)
_BATCH = 200_000


# ----------------------------------------------------------------------------- units
@dataclass
class AnionUnits:
    """Anion units: centre atom indices (U,) and their ligand atom indices (U, k), fixed in time."""

    centre: np.ndarray
    ligands: np.ndarray
    centre_species: str = "P"
    ligand_species: str = "S"
    cutoff: float = 2.5

    def __len__(self) -> int:
        return len(self.centre)

    @property
    def n_ligands(self) -> int:
        """Ligands per unit (4 for PS4)."""
        return self.ligands.shape[1]


def anion_units(
    traj: Trajectory, centre: str = "P", ligand: str = "S", cutoff: float = 2.5, n_ligands: int | None = 4
) -> AnionUnits:
    """The molecular anion units (PS4 groups): each `centre` atom with its ligands, the `ligand` atoms
    within `cutoff` Å of it in frame 0 (minimum image).

    n_ligands: required count per centre (4 for a tetrahedron such as PS4); None accepts any common
    count ≥ 2. A count mismatch or a ligand shared by two centres raises InputError saying what was found.
    """
    try:
        ci, li = traj.indices(centre), traj.indices(ligand)
    except InputError as e:
        raise InputError(f"anion units ({centre}{ligand}_n): {e}") from None
    if cutoff <= 0:
        raise InputError(f"cutoff must be a positive distance in Å, got {cutoff}")
    d = minimum_image(traj.positions[:1, li][:, None, :, :] - traj.positions[:1, ci][:, :, None, :], traj.cells[:1])[0]
    near = np.linalg.norm(d, axis=-1) < cutoff  # (n_centre, n_ligand)
    counts = near.sum(axis=1)
    shared = np.flatnonzero(near.sum(axis=0) > 1)
    if shared.size:
        raise InputError(
            f"{shared.size} {ligand} atoms (e.g. atom {li[shared[0]]}) lie within {cutoff} Å of "
            f"more than one {centre}: reduce `cutoff` (a P–S bond is ≈ 2.05 Å)"
        )
    found = ", ".join(f"{n} {ligand} around {c} {centre}" for n, c in zip(*np.unique(counts, return_counts=True)))
    want = n_ligands if n_ligands is not None else int(counts[0])
    if want < 2 or np.any(counts != want):
        bad = ci[counts != want][:5] if np.any(counts != want) else ci[:5]
        need = (
            f"exactly {n_ligands} (a tetrahedron)"
            if n_ligands == 4
            else (f"exactly {n_ligands}" if n_ligands is not None else "the same number (≥ 2)")
        )
        raise InputError(
            f"each {centre} needs {need} {ligand} within {cutoff} Å in frame 0; found {found} "
            f"(e.g. {centre} atoms {bad.tolist()}): adjust `cutoff` (P–S ≈ 2.05 Å), or set "
            f"`n_ligands` for another anion shape"
        )
    lig = li[np.nonzero(near)[1]].reshape(len(ci), want)
    return AnionUnits(ci, lig, centre, ligand, float(cutoff))


def bond_vectors(traj: Trajectory, anions: AnionUnits) -> np.ndarray:
    """Minimum-image centre→ligand vectors (F, U, k, 3), Å, for every frame."""
    pos = traj.positions
    return minimum_image(pos[:, anions.ligands] - pos[:, anions.centre][:, :, None, :], traj.cells)


def _unit_vectors(traj: Trajectory, anions: AnionUnits) -> np.ndarray:
    b = bond_vectors(traj, anions)
    return b / np.linalg.norm(b, axis=-1, keepdims=True)


# ----------------------------------------------------------------------------- rotation kernels
def _kabsch(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Proper rotations R (..., 3, 3) minimising Σ_k |R ref_k − cur_k|², and the RMS misfit (...,).

    ref, cur: (..., k, 3), broadcastable.
    """
    h = np.swapaxes(ref, -1, -2) @ cur  # Σ_k ref_k cur_kᵀ
    u, s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(u @ vt))
    d[d == 0] = 1.0
    vt[..., 2, :] *= d[..., None]
    r = np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)  # V diag(1, 1, d) Uᵀ
    k = ref.shape[-2]
    sq = (ref**2).sum((-1, -2)) + (cur**2).sum((-1, -2)) - 2 * (s[..., 0] + s[..., 1] + d * s[..., 2])
    return r, np.sqrt(np.maximum(sq, 0.0) / k)


def _angle(r: np.ndarray) -> np.ndarray:
    """Rotation angle (rad, 0–π) of rotation matrices (..., 3, 3); accurate near 0 and π."""
    ax = np.stack([r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]], -1)
    return np.arctan2(0.5 * np.linalg.norm(ax, axis=-1), 0.5 * (np.trace(r, axis1=-2, axis2=-1) - 1.0))


def _symmetry_permutations(ref: np.ndarray, sym_tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Ligand permutations (P, k) that a proper rotation maps the reference onto (identity first), and
    which of them hold for each unit (U, P). Searched among all k! permutations for k ≤ 6.
    """
    k = ref.shape[1]
    cand = np.array(list(permutations(range(k))) if k <= 6 else [tuple(range(k))])
    _, rms = _kabsch(ref[:, cand], ref[:, None])  # (U, P_all)
    ok = rms < sym_tol
    ok[:, 0] = True
    keep = np.flatnonzero(ok.any(axis=0))
    return cand[keep], ok[:, keep]


# ----------------------------------------------------------------------------- orientations
def _orient(u: np.ndarray, ref: np.ndarray, perms: np.ndarray, valid: np.ndarray):
    """Quaternions (F, U, 4) of the best rotation ref → u (identity labels), θ and θ_sym (deg) and the
    nearest symmetry assignment (index into perms) for unit vectors u (F, U, k, 3), ref (U, k, 3).
    """
    from scipy.spatial.transform import Rotation

    n_f, n_u = u.shape[:2]
    refp = ref[:, perms]  # (U, P, k, 3)
    quat = np.empty((n_f, n_u, 4))
    theta, theta_sym = np.empty((n_f, n_u)), np.empty((n_f, n_u))
    assign = np.empty((n_f, n_u), int)
    step = max(1, _BATCH // (n_u * len(perms)))
    for s in range(0, n_f, step):
        r, _ = _kabsch(refp[None], u[s : s + step, :, None])  # (f, U, P, 3, 3)
        ang = np.where(valid[None], _angle(r), np.inf)
        assign[s : s + step] = ang.argmin(axis=-1)
        theta_sym[s : s + step] = ang.min(axis=-1)
        theta[s : s + step] = ang[..., 0]
        q = Rotation.from_matrix(r[..., 0, :, :].reshape(-1, 3, 3)).as_quat(scalar_first=True)
        quat[s : s + step] = (q * np.where(q[:, :1] < 0, -1.0, 1.0)).reshape(-1, n_u, 4)
    return quat, np.degrees(theta), np.degrees(theta_sym), assign


def orientations(
    traj: Trajectory,
    centre: str = "P",
    ligand: str = "S",
    cutoff: float = 2.5,
    n_ligands: int | None = 4,
    anions: AnionUnits | None = None,
    reference: str = "first",
    libration_angle: float = 15.0,
    sym_tol: float = 0.35,
) -> xr.Dataset:
    """Orientation of every anion unit in every frame, libration fraction and reorientation events.

    reference: "first" (frame-0 bond directions) or "mean" (bond directions averaged over all frames
    after relabelling the ligands by their nearest symmetry assignment, renormalised: the mean
    orientation, free of the frame-0 libration; advised for libration statistics).
    libration_angle (deg): θ_sym below it is libration.
    sym_tol: RMS unit-vector misfit (dimensionless) below which a ligand permutation counts as a symmetry
    of the reference shape. Returns `quaternion` (time, unit, quat), `angle` θ and `angle_sym` θ_sym
    (time, unit) in degrees, `assignment` (index into `symmetry_permutation`), `libration_fraction`,
    `rotated_fraction`, per-unit fractions and the events (`event_time` ps, `event_unit`, `event_centre`,
    `event_frame`, `event_angle` deg = rotation since the unit last settled).
    """
    from scipy.spatial.transform import Rotation

    anions = anions or anion_units(traj, centre, ligand, cutoff, n_ligands)
    if reference not in ("first", "mean"):
        raise InputError(f"reference must be 'first' or 'mean', got {reference!r}")
    if not 0 < libration_angle < 90:
        raise InputError(f"libration_angle must be between 0 and 90 degrees, got {libration_angle}")
    u = _unit_vectors(traj, anions)  # (F, U, k, 3)
    n_f, n_u = u.shape[:2]
    ref = u[0]
    perms, valid = _symmetry_permutations(ref, sym_tol)
    quat, theta, theta_sym, assign = _orient(u, ref, perms, valid)
    if reference == "mean":
        # symmetrised time average: relabel each frame's ligands onto the frame-0 labels by the nearest
        # symmetry assignment (so symmetry jumps do not smear the average), then average
        aligned = np.empty_like(u)
        np.put_along_axis(aligned, np.repeat(perms[assign][..., None], 3, -1), u, axis=2)
        ref = aligned.mean(axis=0)
        ref /= np.linalg.norm(ref, axis=-1, keepdims=True)
        quat, theta, theta_sym, assign = _orient(u, ref, perms, valid)

    # events: settled assignment, forward-filled through transit frames; an event = a change of it
    lib = theta_sym < libration_angle
    idx = np.where(lib, np.arange(n_f)[:, None], -1)
    last = np.maximum.accumulate(idx, axis=0)  # last settled frame (−1: none)
    state = np.where(last >= 0, assign[np.maximum(last, 0), np.arange(n_u)], -1)
    change = (state[1:] != state[:-1]) & (state[:-1] >= 0)
    ef, eu = np.nonzero(change)
    ef = ef + 1
    order = np.lexsort((ef, eu))  # by unit, then time
    ef, eu = ef[order], eu[order]
    first_settled = np.where(lib.any(axis=0), lib.argmax(axis=0), 0)
    prev = np.where(np.r_[True, eu[1:] != eu[:-1]], first_settled[eu], np.r_[0, ef[:-1]])
    ev_angle = np.zeros(0)
    if ef.size:  # angle of R(t_event) R(t_prev)ᵀ
        ev_angle = np.degrees(
            (
                Rotation.from_quat(quat[ef, eu], scalar_first=True)
                * Rotation.from_quat(quat[prev, eu], scalar_first=True).inv()
            ).magnitude()
        )
    order = np.lexsort((eu, ef))
    ef, eu, ev_angle = ef[order], eu[order], ev_angle[order]

    dt_ps = traj.dt * 1e-3
    t_total = max(n_f - 1, 1) * dt_ps  # duration, ps
    deg = {"units": DEG}
    one = {"units": units.DIMENSIONLESS}
    ds = xr.Dataset(
        {
            "quaternion": (
                ("time", "unit", "quat"),
                quat,
                {
                    **one,
                    "long_name": "rotation from the reference onto the current bond directions (scalar first, w ≥ 0)",
                },
            ),
            "angle": (("time", "unit"), theta, {**deg, "long_name": "θ: rotation angle from the reference"}),
            "angle_sym": (
                ("time", "unit"),
                theta_sym,
                {**deg, "long_name": "θ_sym: angle from the nearest symmetry-equivalent reference"},
            ),
            "assignment": (
                ("time", "unit"),
                assign,
                {**one, "long_name": "index of the nearest symmetry permutation of the ligands"},
            ),
            "symmetry_permutation": (("symmetry_op", "ligand"), perms, one),
            "ligand_index": (("unit", "ligand"), anions.ligands, {**one, "long_name": "ligand atom indices"}),
            "libration_fraction": (
                (),
                float(lib.mean()),
                {**one, "long_name": f"unit-time fraction with θ_sym < {libration_angle:g}°"},
            ),
            "rotated_fraction": ((), float(1 - lib.mean()), {**one, "long_name": "1 − libration_fraction"}),
            "libration_fraction_unit": ("unit", lib.mean(axis=0), one),
            "n_events": ((), int(ef.size), one),
            "event_rate": ((), ef.size / (n_u * t_total), {"units": "ps-1", "long_name": "events per unit per ps"}),
            "event_time": ("event", ef * dt_ps, {"units": PS}),
            "event_frame": ("event", ef, one),
            "event_unit": ("event", eu, one),
            "event_centre": ("event", anions.centre[eu], {**one, "long_name": "atom index of the centre"}),
            "event_angle": ("event", ev_angle, {**deg, "long_name": "rotation since the unit last settled"}),
        },
        coords={
            "time": ("time", np.arange(n_f) * dt_ps, {"units": PS}),
            "unit": ("unit", np.arange(n_u), one),
            "centre": ("unit", anions.centre, {**one, "long_name": "atom index of the centre"}),
            "quat": ("quat", ["w", "x", "y", "z"], one),
        },
    )
    ds.attrs.update(
        analysis="orientations",
        centre=anions.centre_species,
        ligand=anions.ligand_species,
        cutoff_A=anions.cutoff,
        n_ligands=anions.n_ligands,
        reference=reference,
        libration_angle_deg=float(libration_angle),
        sym_tol=float(sym_tol),
        n_symmetry_operations=len(perms),
        dt_fs=traj.dt,
        definition="R = argmin Σ_k |R u_k^ref − u_k(t)|² (Kabsch, unit vectors); θ_sym = min over "
        "ligand symmetry permutations; event = settling (θ_sym < libration_angle) "
        "with a new ligand assignment",
    )
    return ds


# ----------------------------------------------------------------------------- correlation functions
def _fit_tau(t: np.ndarray, c: np.ndarray, err: np.ndarray, floor: float) -> tuple[float, float, int]:
    """Fit c = A exp(−t/τ) on 0 < t up to the first c < floor: weighted line through ln c with
    σ(ln c) = σ_c/c (σ_c = err where finite and > 0, else uniform). Returns τ, A, points used.
    """
    below = np.flatnonzero(c < floor)
    stop = below[0] if below.size else len(c)
    sel = np.arange(1, stop)
    if sel.size < 3:
        return np.nan, np.nan, int(sel.size)
    e = err[sel]
    w = c[sel] / e if np.all(np.isfinite(e) & (e > 0)) else c[sel]
    slope, icpt = np.polyfit(t[sel], np.log(c[sel]), 1, w=w)
    return (-1.0 / slope if slope < 0 else np.nan), float(np.exp(icpt)), int(sel.size)


def rotational_acf(
    traj: Trajectory,
    centre: str = "P",
    ligand: str = "S",
    cutoff: float = 2.5,
    n_ligands: int | None = 4,
    anions: AnionUnits | None = None,
    max_lag: int | None = None,
    fit_floor: float = 0.1,
) -> xr.Dataset:
    """C_ℓ(t) = <P_ℓ(u(0)·u(t))> for ℓ = 1, 2 over all bonds and time origins (FFT), time in ps.

    C_1 = Σ_a <u_a(0)u_a(t)>; C_2 = (3<(u(0)·u(t))²> − 1)/2 with <(u·u')²> = Σ_ab <u_a u_b(0) u_a u_b(t)>
    from the FFT autocorrelations of the 6 products u_a u_b (off-diagonal weight 2). `C1_err`, `C2_err`:
    standard error from the spread over units. τ_ℓ (ps): fit of A exp(−t/τ) from the first lag to the
    first lag where C_ℓ < fit_floor, weighted by C_ℓ/σ (NaN if C_ℓ does not decay); `tau_extrapolated`
    = 1 when C_ℓ stays above 1/e over all lags. max_lag (frames): default half the trajectory.
    """
    anions = anions or anion_units(traj, centre, ligand, cutoff, n_ligands)
    m = traj.max_lag(max_lag)
    u = _unit_vectors(traj, anions)  # (F, U, k, 3)
    n_f, n_u, k, _ = u.shape
    u = u.reshape(n_f, n_u * k, 3)
    a, b = np.triu_indices(3)
    prod = u[..., a] * u[..., b] * np.where(a == b, 1.0, np.sqrt(2.0))  # weight 2 after squaring
    c1 = autocorrelation(u, m).reshape(m, n_u, k).mean(axis=2)  # per unit
    c2 = (1.5 * autocorrelation(prod, m) - 0.5).reshape(m, n_u, k).mean(axis=2)
    t = np.arange(m) * traj.dt * 1e-3
    one = {"units": units.DIMENSIONLESS}
    data = {}
    taus, amps, npts, extra = [], [], [], []
    for ell, c in ((1, c1), (2, c2)):
        mean = c.mean(axis=1)
        err = c.std(axis=1, ddof=1) / np.sqrt(n_u) if n_u > 1 else np.full(m, np.nan)
        data[f"C{ell}"] = ("time", mean, {**one, "long_name": f"<P{ell}(u(0)·u(t))>"})
        data[f"C{ell}_err"] = ("time", err, {**one, "long_name": "standard error over units"})
        tau, amp, n = _fit_tau(t, mean, err, fit_floor)
        taus.append(tau)
        amps.append(amp)
        npts.append(n)
        extra.append(int(mean[-1] > np.exp(-1)))
    data["tau"] = ("ell", np.array(taus), {"units": PS, "long_name": "τ_ℓ of A exp(−t/τ)"})
    data["tau_amplitude"] = ("ell", np.array(amps), one)
    data["tau_points"] = ("ell", np.array(npts), one)
    data["tau_extrapolated"] = ("ell", np.array(extra), {**one, "long_name": "1 if C_ℓ > 1/e at all lags"})
    ds = xr.Dataset(data, coords={"time": ("time", t, {"units": PS}), "ell": ("ell", [1, 2], one)})
    ds.attrs.update(
        analysis="rotational_acf",
        centre=anions.centre_species,
        ligand=anions.ligand_species,
        n_units=n_u,
        n_ligands=k,
        max_lag=m,
        fit_floor=float(fit_floor),
        dt_fs=traj.dt,
        definition="C_l(t) = <P_l(u(t0)·u(t0+t))> over bonds and all T − m origins (FFT); "
        "u = unit centre→ligand vector, minimum image",
    )
    return ds


# ----------------------------------------------------------------------------- rotation–hop correlation
def _time_ps(values, unit: str | None) -> np.ndarray:
    scale = {"fs": 1e-3, "ps": 1.0, None: 1.0}.get(unit)
    if scale is None:
        raise InputError(f"time unit {unit!r} not understood: give times in fs or ps")
    return np.asarray(values, float) * scale


def _events_array(ev, what: str, first: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(ev, float)
    if a.size == 0:
        return np.zeros(0), np.zeros(0, int)
    if a.ndim != 2 or a.shape[1] != 2:
        raise InputError(
            f"{what} must be an (n, 2) array of ({first}) rows or the Dataset of the matching "
            f"analysis, got shape {a.shape}"
        )
    return a[:, 0], a[:, 1].astype(int)


def rotation_hop_correlation(
    traj: Trajectory,
    hops,
    rotation_events,
    time_window_ps: float,
    distance_window_A: float,
    n_shuffle: int = 200,
    seed: int = 0,
) -> xr.Dataset:
    """Rotation events near Li hops in time and space, against a time-shifted baseline.

    hops: the Dataset of `hopping.hopping` (`jump_time`; the hop position is the minimum-image midpoint of
    the two sites; a `jump_atom` variable, if present, gives the atom instead) or an (n, 2) array of
    (time_ps, atom_index). rotation_events: the Dataset of `orientations` (`event_time`, `event_centre`)
    or an (n, 2) array of (time_ps, centre_atom_index). A (rotation, hop) pair is *near* when
    |t_rot − t_hop| ≤ time_window_ps and the centre is within distance_window_A (Å, minimum image) of the
    hopping atom, both positions taken at the hop frame. Counted: rotation events with ≥ 1 near hop, and
    hops with ≥ 1 near rotation event. Baseline: the same counts after shifting each centre's event times
    by a random whole number of frames, circularly over the trajectory (n_shuffle times). ratio =
    observed / baseline mean; ratio_err = baseline std / baseline mean (the spread of the ratio under no
    correlation); p_value = (1 + #{baseline ≥ observed}) / (1 + n_shuffle).
    """
    if time_window_ps < 0 or distance_window_A <= 0:
        raise InputError(
            f"time_window_ps must be ≥ 0 and distance_window_A > 0, got {time_window_ps}, {distance_window_A}"
        )
    if int(n_shuffle) < 1:
        raise InputError(f"n_shuffle must be ≥ 1, got {n_shuffle}")
    n_f, dt_ps = traj.n_frames, traj.dt * 1e-3
    period = n_f * dt_ps
    # hops → times (ps), frames and positions (Å) at the hop frame
    if isinstance(hops, xr.Dataset):
        if "jump_time" not in hops:
            raise InputError(
                "the hops Dataset has no `jump_time`: pass the result of hopping.hopping or an "
                "(n, 2) array of (time_ps, atom_index)"
            )
        t_hop = _time_ps(hops.jump_time.values, hops.jump_time.attrs.get("units"))
        f_hop = np.clip(np.round(t_hop / dt_ps).astype(int), 0, n_f - 1)
        if "jump_atom" in hops:
            x_hop = traj.positions[f_hop, hops.jump_atom.values.astype(int)]
        else:
            sp = hops.site_position.values
            a, b = sp[hops.jump_from.values.astype(int)], sp[hops.jump_to.values.astype(int)]
            x_hop = a + 0.5 * minimum_image((b - a)[:, None], traj.cells[f_hop])[:, 0]
    else:
        t_hop, atom = _events_array(hops, "hops", "time_ps, atom_index")
        if atom.size and (atom.min() < 0 or atom.max() >= traj.n_atoms):
            raise InputError(f"hop atom indices must be in 0..{traj.n_atoms - 1}")
        f_hop = np.clip(np.round(t_hop / dt_ps).astype(int), 0, n_f - 1)
        x_hop = traj.positions[f_hop, atom]
    if isinstance(rotation_events, xr.Dataset):
        t_rot = _time_ps(rotation_events.event_time.values, rotation_events.event_time.attrs.get("units"))
        c_rot = rotation_events.event_centre.values.astype(int)
    else:
        t_rot, c_rot = _events_array(rotation_events, "rotation_events", "time_ps, centre_atom_index")
    if c_rot.size and (c_rot.min() < 0 or c_rot.max() >= traj.n_atoms):
        raise InputError(f"rotation-event centre indices must be atom indices in 0..{traj.n_atoms - 1}")
    for name, tt in (("hop", t_hop), ("rotation event", t_rot)):
        if tt.size and (tt.min() < -0.5 * dt_ps or tt.max() > period):
            raise InputError(
                f"{name} times must lie within the trajectory (0–{period:g} ps); got "
                f"{tt.min():g}–{tt.max():g} ps: are they in ps?"
            )
    centres, c_of = np.unique(c_rot, return_inverse=True)
    d = (
        minimum_image(traj.positions[f_hop[:, None], centres[None, :]] - x_hop[:, None, :], traj.cells[f_hop])
        if centres.size and t_hop.size
        else np.zeros((t_hop.size, centres.size, 3))
    )
    near = np.linalg.norm(d, axis=-1) <= distance_window_A  # (n_hops, n_centres)

    rng = np.random.default_rng(seed)
    n_rows = int(n_shuffle) + 1  # row 0: observed
    shift = rng.integers(0, n_f, size=(n_rows, centres.size)) * dt_ps
    shift[0] = 0.0
    ev_hit = np.zeros((n_rows, t_rot.size), bool)
    hop_hit = np.zeros((n_rows, t_hop.size), bool)
    span = period + 2 * time_window_ps + 1.0  # row offset keeps rows apart
    off = np.arange(n_rows)[:, None] * span
    for j in range(centres.size):
        ev = np.flatnonzero(c_of == j)
        hp = np.flatnonzero(near[:, j])
        if hp.size == 0:
            continue
        te = np.mod(t_rot[ev][None, :] + shift[:, j : j + 1], period)  # (rows, n_ev)
        th = np.sort(t_hop[hp])
        lo = np.searchsorted(th, te - time_window_ps, "left")
        hi = np.searchsorted(th, te + time_window_ps, "right")
        ev_hit[:, ev] |= hi > lo
        srt = np.sort(te, axis=1) + off  # rows stacked on one time axis
        flat = srt.ravel()
        q = t_hop[hp][None, :] + off
        lo = np.searchsorted(flat, q - time_window_ps, "left")
        hi = np.searchsorted(flat, q + time_window_ps, "right")
        hop_hit[:, hp] |= hi > lo
    counts = np.stack([ev_hit.sum(axis=1), hop_hit.sum(axis=1)])  # (2, rows)
    obs, base = counts[:, 0].astype(float), counts[:, 1:].astype(float)
    mean = base.mean(axis=1)
    std = base.std(axis=1, ddof=1) if n_shuffle > 1 else np.zeros(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mean > 0, obs / mean, np.nan)
        ratio_err = np.where(mean > 0, std / mean, np.nan)
    p = (1 + (base >= obs[:, None]).sum(axis=1)) / (1 + n_shuffle)
    one = {"units": units.DIMENSIONLESS}
    ds = xr.Dataset(
        {
            "observed": ("counted", obs, {**one, "long_name": "items with ≥ 1 partner inside both windows"}),
            "total": ("counted", np.array([t_rot.size, t_hop.size], float), one),
            "fraction": ("counted", obs / np.maximum([t_rot.size, t_hop.size], 1), one),
            "baseline_mean": ("counted", mean, one),
            "baseline_std": ("counted", std, one),
            "ratio": ("counted", ratio, {**one, "long_name": "observed / baseline mean"}),
            "ratio_err": ("counted", ratio_err, {**one, "long_name": "baseline std / baseline mean"}),
            "p_value": ("counted", p, {**one, "long_name": "(1 + #{baseline ≥ observed}) / (1 + n_shuffle)"}),
            "baseline": (("counted", "shuffle"), base, one),
        },
        coords={
            "counted": ("counted", ["rotation_events", "li_hops"], one),
            "shuffle": ("shuffle", np.arange(int(n_shuffle)), one),
        },
    )
    ds.attrs.update(
        analysis="rotation_hop_correlation",
        time_window_ps=float(time_window_ps),
        distance_window_A=float(distance_window_A),
        n_shuffle=int(n_shuffle),
        seed=int(seed),
        baseline="event times of each centre shifted circularly by a random whole number of frames",
        reference="K. Jun et al., PNAS 121, e2316493121 (2024)",
    )
    return ds


# ----------------------------------------------------------------------------- summary
def rotation_summary(
    traj: Trajectory,
    centre: str = "P",
    ligand: str = "S",
    cutoff: float = 2.5,
    n_ligands: int | None = 4,
    reference: str = "first",
    libration_angle: float = 15.0,
    max_lag: int | None = None,
    n_bins: int = 36,
) -> xr.Dataset:
    """Report Dataset: θ and θ_sym distributions (1/deg on `angle_bin`), libration fraction, events
    (`event_time` ps, `event_centre`) and their rate, C_1(t), C_2(t) (time in ps) with errors, τ_1, τ_2 (ps);
    it can stand for the `orientations` Dataset in `rotation_hop_correlation`.
    """
    anions = anion_units(traj, centre, ligand, cutoff, n_ligands)
    ori = orientations(traj, anions=anions, reference=reference, libration_angle=libration_angle)
    acf = rotational_acf(traj, anions=anions, max_lag=max_lag)
    edges = np.linspace(0.0, 180.0, int(n_bins) + 1)
    h = {k: np.histogram(ori[k].values.ravel(), bins=edges, density=True)[0] for k in ("angle", "angle_sym")}
    ds = acf.copy()
    ds["angle_hist"] = ("angle_bin", h["angle"], {"units": "degree-1", "long_name": "distribution of θ"})
    ds["angle_sym_hist"] = ("angle_bin", h["angle_sym"], {"units": "degree-1", "long_name": "distribution of θ_sym"})
    for k in ("libration_fraction", "rotated_fraction", "n_events", "event_rate", "event_time", "event_centre"):
        ds[k] = ori[k]
    ds["mean_angle_sym"] = ((), float(ori.angle_sym.mean()), {"units": DEG})
    ds = ds.assign_coords(angle_bin=("angle_bin", 0.5 * (edges[1:] + edges[:-1]), {"units": DEG}))
    ds.attrs.update(
        analysis="rotation_summary",
        reference=reference,
        libration_angle_deg=float(libration_angle),
        n_units=len(anions),
    )
    return ds
