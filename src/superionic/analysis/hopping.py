"""Site hopping: sites, jump events with a residence threshold, rates, residence times, correlation factor.

Definitions (the project defines these; SCIENCE.md §4, §6):
- A *site* is a point (Å). An atom is *in* a site when it is closer than `radius` (default half the
  shortest site–site distance, so cores never overlap); otherwise it is in transit and keeps its last site.
- A *visit* starts when the atom enters a site's core. A visit is *established* when the time from its
  start to the start of the next visit to a different site is at least `residence` (fs); short
  excursions (rattling into a neighbouring site and back) are removed and the visits around them
  merge, so rattling between two close sites with no net transport counts no jump.
- A *jump* is a change of site between consecutive established visits. Its length is the
  minimum-image distance between the two sites.
- Rate Γ = jumps / (N_atoms · t_total) (per atom, 1/ps); residence times are the durations of the
  established visits that start and end inside the trajectory (censored first/last visits excluded).
- Uncorrelated jump diffusion D_jump = Σ l² / (6 N t_total); correlation factor f = D*/D_jump with D*
  from the MSD (f = 1 for a random walk; back-and-forth jumps give f < 1).
- Argyrodites (Li6PS5Cl): sites = all 48h Li sites; pairs = doublets; 12 sites form a cage around each
  4c anion. A jump is *doublet* (same pair), *intra-cage* (same cage, other pair) or *inter-cage*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from .. import units
from ..errors import InputError
from ..geometry import pair_distances, pair_vectors
from ..trajectory.model import Trajectory


@dataclass
class Sites:
    """Site positions (S, 3) Å in `cell` (3, 3), labels (S,), optional doublet/cage ids (−1 if none)."""

    positions: np.ndarray
    cell: np.ndarray
    labels: list[str]
    doublet: np.ndarray = None  # type: ignore[assignment]   # None → no doublets (−1 everywhere)
    cage: np.ndarray = None  # type: ignore[assignment]      # None → no cages
    source: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.positions = np.atleast_2d(np.asarray(self.positions, float))
        self.cell = np.asarray(self.cell, float)
        n = len(self.positions)
        if n < 2:
            raise InputError("at least two sites are needed to detect jumps")
        self.labels = [str(x) for x in self.labels] if self.labels is not None else ["site"] * n
        self.doublet = np.full(n, -1) if self.doublet is None else np.asarray(self.doublet, int)
        self.cage = np.full(n, -1) if self.cage is None else np.asarray(self.cage, int)

    def __len__(self):
        return len(self.positions)

    def distances(self) -> np.ndarray:
        """Minimum-image site–site distances (S, S), Å."""
        return pair_distances(self.positions, self.positions, self.cell)


# ----------------------------------------------------------------------------- geometry
def nearest_site(
    positions: np.ndarray, sites: Sites, cell: np.ndarray | None = None, block: int = 2_000_000
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest site and its distance (Å) for positions (..., 3), periodic in `cell`.

    Sites are given in `sites.cell`; they are mapped to `cell` (e.g. a frame's cell) by fractional
    coordinates. Uses a periodic k-d tree for orthorhombic cells, blocked brute force otherwise.
    """
    cell = sites.cell if cell is None else np.asarray(cell, float)
    frac_sites = sites.positions @ np.linalg.inv(sites.cell)
    sp = frac_sites @ cell
    shape = positions.shape[:-1]
    pos = positions.reshape(-1, 3)
    off = np.abs(cell - np.diag(np.diag(cell))).max()
    if off < 1e-6 * np.abs(np.diag(cell)).max():
        from scipy.spatial import cKDTree

        box = np.diag(cell)

        def wrap(x):
            x = np.mod(x, box)
            return np.where(x >= box, 0.0, x)

        tree = cKDTree(wrap(sp), boxsize=box)
        d, i = tree.query(wrap(pos))
    else:
        i = np.empty(len(pos), int)
        d = np.empty(len(pos))
        step = max(1, block // len(sp))
        for s in range(0, len(pos), step):
            dd = pair_distances(pos[s : s + step], sp, cell)
            i[s : s + step] = dd.argmin(axis=1)
            d[s : s + step] = dd[np.arange(len(dd)), i[s : s + step]]
    return i.reshape(shape), d.reshape(shape)


# ----------------------------------------------------------------------------- sites
def sites_from_structure(atoms, species: str = "Li", symprec: float = 1e-3) -> Sites:
    """Sites = positions of `species` in a structure (ASE Atoms), labelled by Wyckoff letter (spglib)."""
    sym = np.array(atoms.get_chemical_symbols())
    idx = np.flatnonzero(sym == species)
    if idx.size < 2:
        raise InputError(f"the structure has {idx.size} {species} atoms; sites need at least two")
    labels = [species] * idx.size
    try:
        import spglib

        data = spglib.get_symmetry_dataset(
            (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers), symprec=symprec
        )
        if data is not None:
            eq = np.asarray(data.equivalent_atoms)
            mult = np.bincount(eq, minlength=len(atoms))
            labels = [f"{mult[eq[i]]}{data.wyckoffs[i]}" for i in idx]  # multiplicity in the given cell
    except Exception:  # spglib missing or failing: plain species labels
        pass
    return Sites(atoms.positions[idx], np.asarray(atoms.cell[:]), labels, source="structure")


def argyrodite_sites(traj: Trajectory | None = None, supercell=None, a: float | None = None, anion: str = "P") -> Sites:
    """All 48h Li sites of Li6PS5Cl (F-43m) with doublet and cage (nearest 4c anion) ids.

    With `traj`, the supercell is taken from its cell (≈ 9.9 Å per conventional cell), the sites are
    scaled to the mean cell and shifted (and, if needed, inverted) so that the builder's `anion`
    positions (P on 4b) match the time-averaged ones of the trajectory; the residual RMS misfit (Å) is in
    `info['alignment_rms']`. P alone fits F-43m and its inverse equally well (4b is centrosymmetric, the PS4
    tetrahedra and the 48h cages are not): the orientation is the one whose halide and sulfide sites (S and Cl
    together, so S/Cl exchange does not matter) fit the trajectory's best, RMS misfit in `info['anion_rms']`.
    """
    from ..materials.argyrodite import A_LI6PS5CL, li6ps5cl_full_sites, li_doublets

    full = li6ps5cl_full_sites(a or A_LI6PS5CL)
    sym = np.array(full.get_chemical_symbols())
    frac = full.get_scaled_positions()
    li = np.flatnonzero(sym == "Li")
    pair_of = np.full(len(full), -1)
    for k, (i, j) in enumerate(li_doublets(full)):
        pair_of[i] = pair_of[j] = k
    c4 = np.flatnonzero((sym == "S") & np.all(np.isclose(np.mod(frac, 0.5), 0.25, atol=1e-3), axis=1))
    cage_of = pair_distances(full.positions[li], full.positions[c4], np.asarray(full.cell[:])).argmin(axis=1)
    if traj is not None:
        cell = traj.cells.mean(axis=0)
        reps = tuple(int(max(1, round(np.linalg.norm(cell[k]) / (a or A_LI6PS5CL)))) for k in range(3))
    else:
        reps = tuple(supercell or (1, 1, 1))
        cell = np.asarray(full.cell[:]) * np.array(reps)[:, None]
    shifts = np.array([(i, j, k) for i in range(reps[0]) for j in range(reps[1]) for k in range(reps[2])], float)
    nrep = len(shifts)

    def tile(fr):
        return ((fr[None, :, :] + shifts[:, None, :]) / np.array(reps)).reshape(-1, 3)

    li_frac = tile(frac[li])
    doublet = (pair_of[li][None, :] + 24 * np.arange(nrep)[:, None]).ravel()
    cage = (cage_of[None, :] + len(c4) * np.arange(nrep)[:, None]).ravel()
    info: dict[str, Any] = {"supercell": list(reps)}
    if traj is not None and anion in traj.species and anion in set(sym):
        from ..trajectory.unwrap import unwrap_positions

        def mean_frac(species: list[str]) -> np.ndarray:
            idx = np.concatenate([traj.indices(x) for x in species])
            return np.mod(unwrap_positions(traj.positions[:, idx], traj.cells).mean(axis=0) @ np.linalg.inv(cell), 1.0)

        def misfit(host_frac: np.ndarray, ref: np.ndarray) -> float:
            """RMS distance (Å) from each host atom to the nearest reference site."""
            d = pair_distances(host_frac @ cell, np.mod(ref, 1.0) @ cell, cell).min(axis=1)
            return float(np.sqrt(np.mean(d**2)))

        host_frac = mean_frac([anion])
        ref = tile(frac[sym == anion])
        others: list[str] = [x for x in ("S", "Cl", "Br", "I") if x != anion and x in traj.species and x in set(sym)]
        others_frac = mean_frac(others) if others else None
        others_ref = tile(frac[np.isin(sym, others)]) if others else None
        candidates = []  # per orientation: (P misfit, anion misfit, sign, shift) of its best-fitting origin
        for sign in (1.0, -1.0):
            r = np.mod(sign * ref, 1.0)
            rms, shift = min(((misfit(host_frac, r + sh), sh) for sh in host_frac[0] - r), key=lambda c: c[0])
            other = (
                misfit(others_frac, sign * others_ref + shift)
                if others_frac is not None and others_ref is not None
                else 0.0
            )
            candidates.append((rms, other, sign, shift))
        rms, other, sign, shift = min(candidates, key=lambda c: c[0] + c[1])
        li_frac = np.mod(sign * li_frac + shift, 1.0)
        info.update(alignment_rms=rms, anion_rms=other, inverted=int(sign < 0), origin_shift=[float(x) for x in shift])
    return Sites(li_frac @ cell, cell, ["48h"] * len(li_frac), doublet, cage, source="argyrodite 48h", info=info)


def sites_from_density(
    traj: Trajectory,
    species: str = "Li",
    spacing: float = 0.2,
    smooth: float = 0.3,
    min_separation: float = 1.0,
    threshold: float = 0.05,
) -> Sites:
    """Sites = maxima of the time-averaged density of `species` (grid `spacing` Å, Gaussian smoothing
    `smooth` Å), at least `min_separation` Å apart and above `threshold` × the highest peak, each
    refined to the mean position of the atoms within min_separation/2 of it.
    """
    from scipy import ndimage

    cell = traj.cells.mean(axis=0)
    pos = traj.positions[:, traj.indices(species)].reshape(-1, 3)
    frac = np.mod(pos @ np.linalg.inv(cell), 1.0)
    lengths = np.linalg.norm(cell, axis=1)
    nb = np.maximum(4, np.ceil(lengths / spacing).astype(int))
    h, _ = np.histogramdd(frac, bins=nb, range=[(0, 1)] * 3)
    h = ndimage.gaussian_filter(h, sigma=smooth / (lengths / nb), mode="wrap")
    peaks = (h == ndimage.maximum_filter(h, size=3, mode="wrap")) & (h > threshold * h.max())
    idx = np.argwhere(peaks)
    order = np.argsort(-h[peaks])
    cand = ((idx[order] + 0.5) / nb) @ cell
    kept: list[np.ndarray] = []
    for c in cand:
        if not kept or pair_distances(c[None], np.array(kept), cell).min() >= min_separation:
            kept.append(c)
    sites = Sites(np.array(kept), cell, ["density"] * len(kept), source="density")
    # refine: mean of the nearby positions (minimum image about the peak)
    i, d = nearest_site(pos, sites, cell)
    refined = sites.positions.copy()
    for k in range(len(sites)):
        m = (i == k) & (d < min_separation / 2)
        if m.any():
            v = pair_vectors(sites.positions[k][None], pos[m], cell)[0]
            refined[k] = sites.positions[k] + v.mean(axis=0)
    sites.positions = refined
    return sites


# ----------------------------------------------------------------------------- jumps
def _visits(core: np.ndarray) -> list[tuple[int, int]]:
    """(site, first frame) of each entry into a new site's core; core = site index or −1 per frame."""
    inside = np.flatnonzero(core >= 0)
    if inside.size == 0:
        return []
    s = core[inside]
    change = np.concatenate([[True], s[1:] != s[:-1]])
    return list(zip(s[change].tolist(), inside[change].tolist()))


def _established(visits: list[tuple[int, int]], n_frames: int, min_frames: float):
    """Drop visits shorter than min_frames (to the next different-site entry), merge repeats."""
    out: list[list[int]] = []
    for k, (site, start) in enumerate(visits):
        end = visits[k + 1][1] if k + 1 < len(visits) else n_frames
        if end - start < min_frames and k + 1 < len(visits):
            continue
        if end - start < min_frames and k + 1 == len(visits) and out:
            continue  # final short excursion: not established
        if out and out[-1][0] == site:
            continue  # rattle back: same site resumes
        out.append([site, start])
    return out


def jump_class(sites: Sites, i: int, j: int) -> str:
    """Kind of a jump from site i to site j: 'doublet', 'intra-cage', 'inter-cage', or 'label_i-label_j'."""
    if sites.doublet[i] >= 0 and sites.doublet[i] == sites.doublet[j]:
        return "doublet"
    if sites.cage[i] >= 0 and sites.cage[j] >= 0:
        return "intra-cage" if sites.cage[i] == sites.cage[j] else "inter-cage"
    return f"{sites.labels[i]}-{sites.labels[j]}"


def _site_cores(traj: Trajectory, sites: Sites, species: str, radius: float | None, residence: float | None):
    """(atom indices, radius Å, residence fs, site core per frame and atom (T, n), −1 in transit, site–site
    distances (S, S) Å with an infinite diagonal).
    """
    idx = traj.indices(species)
    dist = sites.distances()
    np.fill_diagonal(dist, np.inf)
    dmin = float(dist.min())
    radius = 0.5 * dmin if radius is None else float(radius)
    if radius <= 0:
        raise InputError(f"radius must be positive, got {radius}")
    residence = max(2 * traj.dt, 100.0) if residence is None else float(residence)
    if residence < 0:
        raise InputError(f"residence must be ≥ 0 fs, got {residence}")
    n_frames = traj.n_frames
    core = np.full((n_frames, idx.size), -1)
    if np.allclose(traj.cells, traj.cells[0], atol=1e-6):
        i, d = nearest_site(traj.positions[:, idx], sites, traj.cells[0])
        core = np.where(d < radius, i, -1)
    else:
        for f in range(n_frames):
            i, d = nearest_site(traj.positions[f, idx], sites, traj.cells[f])
            core[f] = np.where(d < radius, i, -1)
    return idx, radius, residence, core, dist


def established_sites(
    traj: Trajectory, sites: Sites, species: str = "Li", radius: float | None = None, residence: float | None = None
) -> np.ndarray:
    """Site of each atom of `species` per frame (T, n): the site of its last established visit (`hopping`'s
    rattling filter); before its first one, the site of that first visit; an atom never in a core keeps
    its nearest site at the first frame.
    """
    idx, _, residence, core, _ = _site_cores(traj, sites, species, radius, residence)
    n_frames = traj.n_frames
    out = np.empty((n_frames, idx.size), int)
    first, _ = nearest_site(traj.positions[0, idx], sites, traj.cells[0])
    for a in range(idx.size):
        est = _established(_visits(core[:, a]), n_frames, residence / traj.dt)
        out[:, a] = est[0][0] if est else first[a]
        for site, start in est[1:]:
            out[start:, a] = site
    return out


def hopping(
    traj: Trajectory,
    sites: Sites,
    species: str = "Li",
    radius: float | None = None,
    residence: float | None = None,
    d_tracer: float | None = None,
    n_bins: int = 50,
) -> xr.Dataset:
    """Jump events, rates per jump type, residence-time distribution and correlation factor.

    radius (Å): site core radius, default half the shortest site–site distance. residence (fs): minimum
    time in a new site for a jump to count, default 2 frames (at least 100 fs). d_tracer (cm²/s): tracer D*
    for the correlation factor (e.g. from `diffusion`); omitted → f is NaN.
    """
    idx, radius, residence, core, dist = _site_cores(traj, sites, species, radius, residence)
    n_frames = traj.n_frames
    min_frames = residence / traj.dt
    src_l: list[int] = []
    dst_l: list[int] = []
    when_l: list[int] = []
    dwell: list[int] = []
    for a in range(idx.size):
        est = _established(_visits(core[:, a]), n_frames, min_frames)
        for k in range(1, len(est)):
            src_l.append(est[k - 1][0])
            dst_l.append(est[k][0])
            when_l.append(est[k][1])
        for k in range(1, len(est) - 1):
            dwell.append(est[k + 1][1] - est[k][1])
    src, dst, when = np.array(src_l, int), np.array(dst_l, int), np.array(when_l, int)
    t_total = (n_frames - 1) * traj.dt
    length = dist[src, dst] if src.size else np.zeros(0)
    kinds = [jump_class(sites, i, j) for i, j in zip(src, dst)]
    types = sorted(set(kinds))
    n_at = idx.size
    count = np.array([kinds.count(k) for k in types], int)
    rate = count / (n_at * t_total) * 1e3  # 1/ps per atom
    mean_len = np.array([length[np.array(kinds) == k].mean() for k in types]) if types else np.zeros(0)
    d_jump = float((length**2).sum() / (6 * n_at * t_total)) * units.A2_PER_FS_TO_CM2_PER_S
    dwell_t = np.array(dwell, float) * traj.dt
    t_max = max(traj.dt, dwell_t.max() if dwell_t.size else t_total)
    edges = np.linspace(0, t_max, n_bins + 1)
    hist, _ = np.histogram(dwell_t, bins=edges, density=dwell_t.size > 0)
    corr_f = d_tracer / d_jump if (d_tracer is not None and d_jump > 0) else np.nan
    occupancy = np.bincount(core[core >= 0], minlength=len(sites)) / n_frames
    ds = xr.Dataset(
        {
            "jump_count": ("jump_type", count, {"units": units.DIMENSIONLESS}),
            "jump_rate": ("jump_type", rate, {"units": "ps-1", "long_name": "jumps per atom per ps"}),
            "jump_rate_err": (
                "jump_type",
                np.sqrt(count) / (n_at * t_total) * 1e3,
                {"units": "ps-1", "long_name": "Poisson 1σ"},
            ),
            "jump_length": ("jump_type", mean_len, {"units": units.LENGTH, "long_name": "mean jump length"}),
            "total_rate": ((), count.sum() / (n_at * t_total) * 1e3, {"units": "ps-1"}),
            "D_jump": ((), d_jump, {"units": units.DIFFUSION, "long_name": "Σl²/(6 N t): uncorrelated jump D"}),
            "correlation_factor": ((), corr_f, {"units": units.DIMENSIONLESS, "long_name": "f = D*/D_jump"}),
            "mean_residence": (
                (),
                dwell_t.mean() if dwell_t.size else np.nan,
                {"units": units.TIME, "long_name": "mean residence time (uncensored visits)"},
            ),
            "residence_hist": ("residence_time", hist, {"units": "fs-1", "long_name": "residence-time density"}),
            "site_occupancy": (
                "site",
                occupancy,
                {"units": units.DIMENSIONLESS, "long_name": "mean number of atoms in the site core"},
            ),
            "site_position": (("site", "xyz"), sites.positions, {"units": units.LENGTH}),
            "jump_time": ("jump", when * traj.dt, {"units": units.TIME, "long_name": "arrival in the new site"}),
            "jump_from": ("jump", src, {"units": units.DIMENSIONLESS}),
            "jump_to": ("jump", dst, {"units": units.DIMENSIONLESS}),
            "jump_distance": ("jump", length, {"units": units.LENGTH}),
        },
        coords={
            "jump_type": ("jump_type", types, {"units": units.DIMENSIONLESS}),
            "residence_time": ("residence_time", 0.5 * (edges[1:] + edges[:-1]), {"units": units.TIME}),
            "site": ("site", np.arange(len(sites)), {"units": units.DIMENSIONLESS}),
            "xyz": ("xyz", ["x", "y", "z"], {"units": units.DIMENSIONLESS}),
        },
    )
    ds.attrs.update(
        analysis="hopping",
        species=species,
        radius_A=radius,
        residence_fs=residence,
        sites=sites.source,
        n_sites=len(sites),
        n_atoms=int(n_at),
        duration_fs=t_total,
        site_info=str(sites.info),
        definition="jump = change of site between visits lasting ≥ residence; rattling removed",
    )
    return ds
