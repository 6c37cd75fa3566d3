"""Bottleneck breathing: the anion triangles that mobile ions squeeze through, and how they breathe.

Definitions (the project defines these; shared/SCIENCE.md §5):

- *Tessellation.* The anion framework of a reference structure (time-averaged unwrapped anion positions,
  or frame 0) is cut into tetrahedra by a periodic Delaunay tessellation: scipy's Delaunay on the
  anions plus enough periodic images (padding ≥ 2.2 × the largest circumradius, so every tetrahedron
  that touches the cell is exact), each tetrahedron kept once (the image whose centroid lies in the
  cell). Any triclinic cell works. The reference positions get a deterministic 1e-5 Å jitter so that
  perfect lattices (cospherical points) have one consistent tessellation.
- *Membership.* A mobile ion is in the tetrahedron where its four barycentric coordinates are all ≥ 0
  (candidates: the 16 nearest tetrahedron centroids), the position taken in fractional coordinates of its
  frame's cell, minus the framework drift (mean minimum-image fractional displacement of the anions from
  the reference), and mapped to the reference cell.
- *Li sites* are the tetrahedra with time-averaged occupation (mean number of mobile ions inside) of at
  least `min_occupancy` (default 0.05). *Windows* are the triangular faces shared by two Li sites.
- *Geometry.* Edges a, b, c are minimum-image anion–anion distances in each frame's cell. Area
  A = √[s(s−a)(s−b)(s−c)] (Heron, in the cancellation-free ordering), in-radius r = 2A/(a+b+c),
  circumradius R_c = abc/4A. With anion radii R_i: free radius r − R̄ (as SCIENCE.md asks) and the
  hard-sphere passage radius ρ − R̄, ρ = R_c for acute triangles and half the longest edge otherwise
  (the largest sphere through the window plane that clears three anion spheres of radius R̄ = mean R_i).
- *Breathing spectrum.* δr(t) = r(t) − <r>_t per window; C(t) = <δr(0)δr(t)> (all origins, mean over
  windows); S(ν) = 4∫₀^∞ w(t) C(t) cos(2πνt) dt (w: lag window, w(0) = 1), ν in THz, S in Å²/THz.
  Normalisation: ∫₀^{ν_Nyquist} S dν = C(0) = <δr²> exactly (trapezoid rule on the output grid; Parseval).
- *Crossing.* Per ion, the membership sequence is cut into runs; runs of at least `min_residence_fs`
  (default max(2Δt, 100 fs)) are *established* stays, shorter ones (rattling, transit) are ignored. A change
  between consecutive established stays in two tetrahedra joined by a window is a crossing of that
  window, at the first frame of the new stay. Other changes (no shared window) are counted as
  `n_unassigned` in attrs. An ion that rattles across a face and returns within the threshold counts none.
- *Hop statistics.* The window variable (in-radius by default) at the crossing frames is compared with
  the same windows at all times (each window weighted by its number of crossings). mean_shift = mean over
  crossings of [r_w(t_c) − <r_w>_t], bootstrap 1σ over crossings (treated as independent); two-sample KS
  statistic between the two weighted distributions, p-value treating the all-time one as the population.
- *Hop-triggered averages.* For lags −τ … +τ about each crossing: the mean displacement magnitude of the
  window's three anions from their mean positions (framework drift removed), and the in-radius.

This module builds the tessellation, the windows and their geometry per frame; the statistics over time
(spectrum, crossings, hop statistics, hop-triggered averages, the study summary) are in
`analysis.bottleneck_stats`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.spatial import Delaunay, cKDTree

from .. import units
from ..errors import InputError
from ..geometry import minimum_image
from ..trajectory.model import Trajectory
from ..trajectory.unwrap import unwrap_positions

_JITTER_A = 1e-5  # Å, breaks lattice degeneracy identically in every periodic image
_B = 16  # base for the packed (atom, image) vertex codes; images in [−8, 8)


# ----------------------------------------------------------------------------- tessellation
def _widths(cell: np.ndarray) -> np.ndarray:
    """Perpendicular widths of the cell (distance between opposite faces), Å."""
    vol = abs(np.linalg.det(cell))
    return vol / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)


def _circumradius(p: np.ndarray) -> np.ndarray:
    """Circumradii (Å) of tetrahedra p (T, 4, 3)."""
    a = 2.0 * (p[:, 1:] - p[:, :1])
    b = (p[:, 1:] ** 2).sum(-1) - (p[:, :1] ** 2).sum(-1)
    c = np.linalg.solve(a, b[..., None])[..., 0]
    return np.linalg.norm(c - p[:, 0], axis=-1)


def _code(atom, img):
    img = img + _B // 2
    return ((atom * _B + img[..., 0]) * _B + img[..., 1]) * _B + img[..., 2]


def _decode(code):
    z = code % _B
    y = (code // _B) % _B
    x = (code // _B**2) % _B
    return code // _B**3, np.stack([x, y, z], axis=-1) - _B // 2


def _canonical(frac: np.ndarray, verts: np.ndarray, n: int, shifts: np.ndarray):
    """Packed keys (S, k) of simplices (S, k) of padded points, each shifted so its centroid is in the cell."""
    atom, img = verts % n, shifts[verts // n]
    home = np.floor((frac[atom] + img).mean(axis=1) + 1e-12).astype(int)
    return np.sort(_code(atom, img - home[:, None, :]), axis=1), np.all(home == 0, axis=1)


class _Tess:
    """Periodic Delaunay tessellation of reference anion positions `ref` (N, 3) Å in `cell` (3, 3)."""

    def __init__(self, ref: np.ndarray, cell: np.ndarray):
        n = len(ref)
        if n < 4:
            raise InputError(f"{n} anions found; a tessellation needs at least 4 (check the `anions` species)")
        self.cell = cell
        self.inv = inv = np.linalg.inv(cell)
        jit = np.random.default_rng(0).normal(scale=_JITTER_A, size=ref.shape)
        frac = np.mod(ref @ inv + jit @ inv, 1.0)
        widths = _widths(cell)
        pad = np.full(3, 3.0 * (abs(np.linalg.det(cell)) / n) ** (1 / 3))
        for _ in range(4):
            pf = np.minimum(1.0, pad / widths)
            rng = [np.arange(-int(np.ceil(p)), 1 + int(np.ceil(p))) for p in pf]
            sh = np.array(np.meshgrid(*rng, indexing="ij")).reshape(3, -1).T
            pts = frac[None] + sh[:, None]  # (images, N, 3)
            keep = np.all((pts >= -pf) & (pts < 1 + pf), axis=-1).ravel()
            pidx = np.flatnonzero(keep)
            tri = Delaunay((pts.reshape(-1, 3) @ cell)[keep])
            verts = pidx[tri.simplices]
            keys, home = _canonical(frac, verts, n, sh)
            uniq, inv_k = np.unique(keys, axis=0, return_inverse=True)
            is_tet = np.zeros(len(uniq), bool)
            is_tet[inv_k.ravel()[home]] = True
            tet_keys = uniq[is_tet]
            atom, img = _decode(tet_keys)
            xyz = (frac[atom] + img) @ cell  # (T, 4, 3)
            r_max = float(_circumradius(xyz).max())
            need = 2.2 * r_max
            if np.all((pad >= need) | (pf >= 1.0)):
                break
            pad = np.maximum(pad, need)
        if np.any(pad < need):
            raise InputError(
                f"the cell is too small for a periodic tessellation of its anions (largest "
                f"empty sphere {r_max:.2f} Å vs cell widths {np.round(widths, 2).tolist()} Å); "
                f"replicate the cell (a supercell) before the analysis"
            )
        vol = (
            np.abs(np.einsum("ti,ti->t", np.cross(xyz[:, 1] - xyz[:, 0], xyz[:, 2] - xyz[:, 0]), xyz[:, 3] - xyz[:, 0]))
            / 6.0
        )
        if abs(vol.sum() / abs(np.linalg.det(cell)) - 1) > 1e-6:
            raise InputError(
                "the periodic tessellation of the anions does not fill the cell "
                f"({vol.sum():.4g} vs {abs(np.linalg.det(cell)):.4g} Å³): anions overlap or the "
                "reference structure is broken; check `anions` and `reference`"
            )
        self.tri, self.frac, self.keys, self.atom, self.xyz, self.volume = tri, frac, tet_keys, atom, xyz, vol
        self.r_max, self.pad = r_max, pad
        # map every padded simplex to its canonical tetrahedron (−1: not an exact one); keep the exact ones
        # near the cell, with their barycentric transforms, for point location
        to_tet = np.where(is_tet, np.cumsum(is_tet) - 1, -1)[inv_k.ravel()]
        p = tri.points[tri.simplices]
        cf = p.mean(axis=1) @ inv
        near = (to_tet >= 0) & np.all((cf > -r_max / widths) & (cf < 1 + r_max / widths), axis=1)
        self.loc_tet, self.loc_p0 = to_tet[near], p[near, 0]
        self.loc_inv = np.linalg.inv(np.transpose(p[near, 1:] - p[near, :1], (0, 2, 1)))
        self.loc_tree = cKDTree(p[near].mean(axis=1))
        self.simplex_to_tet = to_tet

    def faces(self):
        """Faces shared by two tetrahedra: (F, 3) local anion indices and (F, 2) tetrahedron ids."""
        t = len(self.keys)
        atom, img = _decode(self.keys)
        drop = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
        fa, fi = atom[:, drop], img[:, drop]  # (T, 4, 3), (T, 4, 3, 3)
        home = np.floor((self.frac[fa] + fi).mean(axis=2) + 1e-12).astype(int)
        fk = np.sort(_code(fa, fi - home[:, :, None, :]), axis=-1).reshape(4 * t, 3)
        uniq, inv, cnt = np.unique(fk, axis=0, return_inverse=True, return_counts=True)
        if np.any(cnt != 2):
            raise InputError(
                "the anion tessellation is not closed (a face not shared by exactly two "
                "tetrahedra); the cell is probably too small: use a supercell"
            )
        order = np.argsort(inv.ravel(), kind="stable")
        pairs = (order // 4).reshape(-1, 2)
        return _decode(uniq)[0], pairs

    def locate(self, cart: np.ndarray, k: int = 16, block: int = 65536) -> np.ndarray:
        """Tetrahedron id of Cartesian points (…, 3) inside the reference cell (−1 if none): the candidate
        among the k nearest tetrahedron centroids whose smallest barycentric coordinate is largest (≥ 0
        when inside); rare unresolved points fall back to scipy's exhaustive search.
        """
        x = cart.reshape(-1, 3)
        out = np.empty(len(x), int)
        k = min(k, len(self.loc_tet))
        for s in range(0, len(x), block):
            xb = x[s : s + block]
            cand = self.loc_tree.query(xb, k=k)[1].reshape(len(xb), k)
            lam = np.einsum("pkij,pkj->pki", self.loc_inv[cand], xb[:, None] - self.loc_p0[cand])
            lmin = np.minimum(lam.min(axis=-1), 1.0 - lam.sum(axis=-1))  # (P, k)
            best = lmin.argmax(axis=1)
            ok = lmin[np.arange(len(xb)), best] >= -1e-9
            res = self.loc_tet[cand[np.arange(len(xb)), best]]
            if not ok.all():
                sx = self.tri.find_simplex(xb[~ok], bruteforce=True)
                res[~ok] = np.where(sx >= 0, self.simplex_to_tet[sx], -1)
            out[s : s + block] = res
        return out.reshape(cart.shape[:-1])


# ----------------------------------------------------------------------------- helpers
def _anion_indices(traj: Trajectory, anions) -> tuple[np.ndarray, list[str]]:
    anions = [anions] if isinstance(anions, str) else list(anions)
    present = [s for s in anions if s in traj.species]
    if not present:
        raise InputError(
            f"none of the anion species {anions} is in this trajectory (it has "
            f"{', '.join(traj.species)}); pass anions=(...) with the framework species"
        )
    return np.flatnonzero(np.isin(np.asarray(traj.symbols), present)), present


def _need_frames(traj: Trajectory, n: int, what: str):
    if traj.n_frames < n:
        raise InputError(f"the trajectory has {traj.n_frames} frame(s); {what} needs at least {n}")


def _reference(traj: Trajectory, idx: np.ndarray, reference: str):
    """Reference anion positions (Å, unwrapped) and cell."""
    un = unwrap_positions(traj.positions[:, idx], traj.cells)
    if reference == "mean":
        cell = traj.cells.mean(axis=0)
        return np.einsum("fai,fij->faj", un, np.linalg.inv(traj.cells)).mean(axis=0) @ cell, cell
    if reference in ("frame0", "first"):
        return un[0], traj.cells[0]
    raise InputError(f"reference must be 'mean' (time-averaged anions) or 'frame0', got {reference!r}")


def _checksum(traj: Trajectory, idx: np.ndarray) -> float:
    return float(np.sum(traj.positions[:, idx], dtype=float))


def _membership(traj: Trajectory, ws: xr.Dataset, mobile: str, tess: _Tess | None = None) -> np.ndarray:
    """(F, n_mobile) tetrahedron id of each mobile ion per frame (−1 outside all).

    Positions are taken in fractional coordinates of their frame's cell, minus the framework drift (mean
    minimum-image fractional displacement of the anions from the reference), and placed in the reference cell.
    """
    idx = traj.indices(mobile)
    if (
        "membership" in ws
        and ws.attrs.get("mobile") == mobile
        and ws.membership.shape == (traj.n_frames, idx.size)
        and ws.attrs.get("membership_checksum") == _checksum(traj, idx)
    ):
        return ws.membership.values  # same trajectory: reuse
    aidx = ws.anion_index.values
    if aidx.max() >= traj.n_atoms or any(traj.symbols[i] not in ws.attrs["anions"].split(",") for i in aidx):
        raise InputError(
            "these windows were built from another system (anion indices do not match); "
            "call windows() on this trajectory"
        )
    tess = tess or _Tess(ws.reference_positions.values, ws.reference_cell.values)
    inv = np.linalg.inv(traj.cells)
    d = np.einsum("fai,fij->faj", traj.positions[:, aidx], inv) - (ws.reference_positions.values @ tess.inv)
    drift = (d - np.round(d)).mean(axis=1)  # (F, 3) fractional
    frac = np.mod(np.einsum("fai,fij->faj", traj.positions[:, idx], inv) - drift[:, None], 1.0)
    return tess.locate(frac @ tess.cell)


def _triangle(a, b, c):
    """Area (Heron, stable ordering), in-radius, circumradius, passage radius ρ from edge lengths."""
    e = np.sort(np.stack([a, b, c]), axis=0)[::-1]  # a ≥ b ≥ c
    a, b, c = e
    q = (a + (b + c)) * (c - (a - b)) * (c + (a - b)) * (a + (b - c))
    area = 0.25 * np.sqrt(np.clip(q, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        rin = 2.0 * area / (a + b + c)
        rc = a * b * c / (4.0 * area)
    rho = np.where(a**2 < b**2 + c**2, rc, 0.5 * a)
    return area, rin, rc, rho


# ----------------------------------------------------------------------------- public API
def windows(
    traj: Trajectory, anions=("S", "Cl"), mobile: str = "Li", reference: str = "mean", min_occupancy: float = 0.05
) -> xr.Dataset:
    """Tetrahedra of the anion framework, their mobile-ion occupation, and the bottleneck windows.

    anions: framework species (those present are used). reference: 'mean' (time-averaged unwrapped anion
    positions in the mean cell) or 'frame0'. min_occupancy: a tetrahedron is a site when its mean number
    of `mobile` ions is ≥ this (0 → every tetrahedron). Windows = faces shared by two sites.
    Returns `anions` (window, vertex) atom indices, `tetrahedra` (window, side) tetrahedron ids,
    per-tetrahedron `tet_anions`, `tet_occupancy`, `tet_volume` (Å³), `tet_centroid` (Å), reference
    window `ref_area` (Å²) / `ref_inradius` (Å), and the reference framework.
    """
    aidx, present = _anion_indices(traj, anions)
    traj.indices(mobile)
    if min_occupancy < 0:
        raise InputError(f"min_occupancy must be ≥ 0 (mean ions per tetrahedron), got {min_occupancy}")
    ref, cell = _reference(traj, aidx, reference)
    tess = _Tess(ref, cell)
    t = len(tess.keys)
    attrs = {"analysis": "bottleneck windows", "anions": ",".join(present), "mobile": mobile, "reference": reference}
    ws = xr.Dataset(
        {
            "anion_index": ("anion", aidx, {"units": units.DIMENSIONLESS}),
            "reference_positions": (("anion", "xyz"), ref, {"units": units.LENGTH}),
            "reference_cell": (("cell_vector", "xyz"), cell, {"units": units.LENGTH}),
        },
        attrs=attrs,
    )
    member = _membership(traj, ws, mobile, tess)
    occ = np.bincount(member[member >= 0], minlength=t) / traj.n_frames
    site = occ >= min_occupancy
    fatoms, pairs = tess.faces()
    sel = site[pairs].all(axis=1)
    fatoms, pairs = fatoms[sel], pairs[sel]
    pk = np.sort(pairs, axis=1)
    if len(pk) and len(np.unique(pk, axis=0)) < len(pk):
        raise InputError(
            "two tetrahedra share more than one face through periodic images; the cell is too "
            "small for window analysis: use a supercell"
        )
    order = np.lexsort(pk.T[::-1])
    fatoms, pk = fatoms[order], pk[order]
    p = ref[fatoms]  # (W, 3, 3)
    e = np.linalg.norm(minimum_image(p[:, [1, 2, 0]] - p, cell, np.linalg.inv(cell)), axis=-1).T
    area, rin, _, _ = _triangle(*e)
    centroid = np.mod(tess.xyz.mean(axis=1) @ np.linalg.inv(cell), 1.0) @ cell
    ws = ws.assign(
        {
            "anions": (
                ("window", "vertex"),
                aidx[fatoms].reshape(-1, 3),
                {"units": units.DIMENSIONLESS, "long_name": "atom indices of the window"},
            ),
            "tetrahedra": (("window", "side"), pk.reshape(-1, 2), {"units": units.DIMENSIONLESS}),
            "ref_area": ("window", area, {"units": "angstrom2", "long_name": "area in the reference"}),
            "ref_inradius": ("window", rin, {"units": units.LENGTH, "long_name": "in-radius in the reference"}),
            "tet_anions": (("tetrahedron", "corner"), aidx[tess.atom], {"units": units.DIMENSIONLESS}),
            "tet_occupancy": (
                "tetrahedron",
                occ,
                {"units": units.DIMENSIONLESS, "long_name": f"mean number of {mobile} inside"},
            ),
            "tet_site": ("tetrahedron", site, {"units": units.DIMENSIONLESS}),
            "tet_volume": ("tetrahedron", tess.volume, {"units": "angstrom3"}),
            "tet_centroid": (("tetrahedron", "xyz"), centroid, {"units": units.LENGTH}),
        }
    )
    ws["membership"] = (
        ("time", "ion"),
        member.astype(np.int32),
        {"units": units.DIMENSIONLESS, "long_name": f"tetrahedron of each {mobile} (−1: none)"},
    )
    ws = ws.assign_coords(ion=("ion", traj.indices(mobile), {"units": units.DIMENSIONLESS, "long_name": "atom index"}))
    ws.attrs.update(
        membership_checksum=_checksum(traj, traj.indices(mobile)),
        min_occupancy=float(min_occupancy),
        n_tetrahedra=t,
        n_sites=int(site.sum()),
        n_windows=len(pk),
        padding_A=float(tess.pad.min()),
        largest_circumradius_A=tess.r_max,
        definition="windows = faces shared by two tetrahedra with mean occupation >= min_occupancy",
    )
    return ws


def window_geometry(traj: Trajectory, windows, radii: dict | None = None, block: int = 4_000_000) -> xr.Dataset:
    """Per frame and window: area (Å², Heron), in-radius r = 2A/perimeter (Å), circumradius (Å).

    windows: the Dataset from `windows()` or an (W, 3) array of atom indices. Edges are minimum-image
    distances in each frame's cell. radii: {species: R in Å} → also `free_radius` = r − R̄ and
    `passage_radius` = ρ − R̄ (ρ: circumradius for acute windows, half the longest edge otherwise;
    R̄: mean radius of the three anions).
    """
    tri = np.asarray(windows.anions.values if isinstance(windows, xr.Dataset) else windows, dtype=int)
    if tri.ndim != 2 or tri.shape[1] != 3:
        raise InputError(f"windows must be (n_windows, 3) atom indices, got shape {tri.shape}")
    if tri.size and (tri.min() < 0 or tri.max() >= traj.n_atoms):
        raise InputError(f"window atom indices must lie in 0…{traj.n_atoms - 1}")
    nf, nw = traj.n_frames, len(tri)
    out = {k: np.empty((nf, nw)) for k in ("area", "inradius", "circumradius", "passage")}
    inv = np.linalg.inv(traj.cells)
    step = max(1, block // max(1, 9 * nw))
    for s in range(0, nf, step):
        sl = slice(s, min(nf, s + step))
        p = traj.positions[sl][:, tri]  # (f, W, 3, 3)
        e = np.linalg.norm(minimum_image(p[:, :, [1, 2, 0]] - p, traj.cells[sl], inv[sl]), axis=-1)
        res = _triangle(e[..., 0], e[..., 1], e[..., 2])
        for k, v in zip(out, res):
            out[k][sl] = v
    dims = ("time", "window")
    ds = xr.Dataset(
        {
            "area": (dims, out["area"], {"units": "angstrom2", "long_name": "window area (Heron)"}),
            "inradius": (dims, out["inradius"], {"units": units.LENGTH, "long_name": "in-radius 2A/perimeter"}),
            "circumradius": (dims, out["circumradius"], {"units": units.LENGTH}),
            "anions": (("window", "vertex"), tri, {"units": units.DIMENSIONLESS}),
        },
        coords={
            "time": ("time", traj.times, {"units": units.TIME}),
            "window": ("window", np.arange(nw), {"units": units.DIMENSIONLESS}),
        },
        attrs={
            "analysis": "bottleneck geometry",
            "dt_fs": traj.dt,
            "definition": "A = Heron(minimum-image edges); r = 2A/(a+b+c); R_c = abc/4A",
        },
    )
    if radii:
        missing = sorted({traj.symbols[i] for i in tri.ravel()} - set(radii))
        if missing:
            raise InputError(f"radii lack the window species {missing}; give e.g. radii={{'S': 1.84, 'Cl': 1.81}}")
        rbar = np.array([[radii[traj.symbols[i]] for i in t] for t in tri]).mean(axis=1)
        ds["free_radius"] = (dims, out["inradius"] - rbar, {"units": units.LENGTH, "long_name": "r − mean R"})
        ds["passage_radius"] = (
            dims,
            out["passage"] - rbar,
            {"units": units.LENGTH, "long_name": "largest hard sphere through the window plane"},
        )
        ds.attrs["radii_A"] = str(dict(radii))
    return ds
