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
"""

from __future__ import annotations

import numpy as np
import scipy.stats as sstats
import xarray as xr
from scipy.spatial import Delaunay, cKDTree

from .. import units
from ..errors import InputError
from ..geometry import minimum_image
from ..trajectory.model import Trajectory
from ..trajectory.unwrap import unwrap_positions
from .correlate import autocorrelation, cosine_transform
from .windows import WINDOWS, lag_window, resolution_fwhm

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


def breathing_spectrum(
    geometry: xr.Dataset, variable: str = "inradius", max_lag: int | None = None, window: str = "hann"
) -> xr.Dataset:
    """Power spectrum of δx(t) = x(t) − <x>_t of a window variable (default in-radius), mean over windows.

    S(ν) = 4∫₀^∞ w(t) C(t) cos(2πνt) dt with C(t) = <δx(0)δx(t)> (all origins); ν in THz, S in
    (unit of x)²/THz; ∫₀^{ν_Nyq} S dν = <δx²> exactly (trapezoid rule). max_lag (frames): default half
    the trajectory; its resolution (FWHM ≈ 1/(max_lag·Δt)) is in attrs.
    """
    if variable not in geometry:
        raise InputError(
            f"geometry has no variable {variable!r}; choose one of {', '.join(map(str, geometry.data_vars))}"
        )
    x = geometry[variable].values
    t = x.shape[0]
    if t < 8:
        raise InputError(f"the trajectory has {t} frame(s); a breathing spectrum needs at least 8")
    if x.shape[1] == 0:
        raise InputError("no windows to analyse (windows() found none: lower min_occupancy or check species)")
    if window not in WINDOWS:
        raise InputError(f"unknown lag window {window!r}; choose one of {', '.join(WINDOWS)}")
    max_lag = t // 2 if max_lag is None else int(max_lag)
    if not 4 <= max_lag <= t:
        raise InputError(f"max_lag must be between 4 and the number of frames ({t}), got {max_lag}")
    dt = float(geometry.attrs["dt_fs"])
    dx = x - x.mean(axis=0)
    c = autocorrelation(dx, max_lag).mean(axis=1)  # (max_lag,), unit²
    nu, s = cosine_transform(c * lag_window(window, max_lag), dt)
    nu_thz, s_thz = nu * 1e3, s * 1e-3
    u = geometry[variable].attrs.get("units", "")
    ds = xr.Dataset(
        {
            "spectrum": ("frequency", s_thz, {"units": f"{u}2 THz-1", "long_name": f"power spectrum of δ{variable}"}),
            "acf": ("lag_time", c, {"units": f"{u}2", "long_name": f"<δ{variable}(0) δ{variable}(t)>"}),
            "variance": ((), float((dx**2).mean()), {"units": f"{u}2", "long_name": "<δx²> = ∫S dν"}),
        },
        coords={
            "frequency": ("frequency", nu_thz, {"units": units.FREQUENCY}),
            "energy": ("frequency", nu_thz * units.THZ_TO_MEV, {"units": units.ENERGY_MEV}),
            "lag_time": ("lag_time", np.arange(max_lag) * dt, {"units": units.TIME}),
        },
        attrs={
            "analysis": "bottleneck breathing spectrum",
            "variable": variable,
            "window": window,
            "max_lag": max_lag,
            "dt_fs": dt,
            "n_windows": x.shape[1],
            "resolution_fwhm_THz": resolution_fwhm(window, max_lag, dt) * 1e3,
            "normalisation": "S(ν) = 4∫ w C cos(2πνt) dt, one-sided; trapezoid ∫S dν = <δx²>",
        },
    )
    return ds


def window_crossings(
    traj: Trajectory, windows: xr.Dataset, mobile: str | None = None, min_residence_fs: float | None = None
) -> xr.Dataset:
    """Crossings of mobile ions through the windows: `time` (ps), `frame`, `ion` (atom index), `window`,
    `from_tetrahedron`, `to_tetrahedron` (dim `crossing`, sorted by frame).

    A crossing is a change between consecutive stays of ≥ min_residence_fs (default max(2Δt, 100 fs))
    in two tetrahedra joined by a window, dated at the first frame of the new stay.
    """
    _need_frames(traj, 2, "crossing detection")
    mobile = mobile or windows.attrs["mobile"]
    idx = traj.indices(mobile)
    res = max(2 * traj.dt, 100.0) if min_residence_fs is None else float(min_residence_fs)
    if res < 0:
        raise InputError(f"min_residence_fs must be ≥ 0 fs, got {res}")
    min_frames = max(1, int(np.ceil(res / traj.dt - 1e-9)))
    member = _membership(traj, windows, mobile)
    pk = windows.tetrahedra.values
    lookup = {(int(a), int(b)): w for w, (a, b) in enumerate(pk)}
    rows, n_trans, n_unassigned = [], 0, 0
    for j in range(idx.size):
        m = member[:, j]
        start = np.flatnonzero(np.concatenate([[True], m[1:] != m[:-1]]))
        length = np.diff(np.append(start, len(m)))
        ok = (length >= min_frames) & (m[start] >= 0)
        st, tet = start[ok], m[start[ok]]
        ch = np.flatnonzero(tet[1:] != tet[:-1])
        for k in ch:
            a, b = int(tet[k]), int(tet[k + 1])
            n_trans += 1
            w = lookup.get((min(a, b), max(a, b)))
            if w is None:
                n_unassigned += 1
            else:
                rows.append((st[k + 1], idx[j], w, a, b))
    r = np.array(sorted(rows), dtype=int).reshape(-1, 5)
    d = units.DIMENSIONLESS
    ds = xr.Dataset(
        {
            "time": (
                "crossing",
                r[:, 0] * traj.dt * 1e-3,
                {"units": "ps", "long_name": "first frame in the new tetrahedron"},
            ),
            "frame": ("crossing", r[:, 0], {"units": d}),
            "ion": ("crossing", r[:, 1], {"units": d, "long_name": "atom index"}),
            "window": ("crossing", r[:, 2], {"units": d}),
            "from_tetrahedron": ("crossing", r[:, 3], {"units": d}),
            "to_tetrahedron": ("crossing", r[:, 4], {"units": d}),
        },
        attrs={
            "analysis": "window crossings",
            "mobile": mobile,
            "min_residence_fs": res,
            "min_residence_frames": min_frames,
            "dt_fs": traj.dt,
            "n_crossings": len(r),
            "n_transitions": n_trans,
            "n_unassigned": n_unassigned,
            "outside_fraction": float((member < 0).mean()),
            "definition": "change between stays >= min_residence in two tetrahedra sharing a window",
        },
    )
    return ds


def hop_statistics(
    geometry: xr.Dataset,
    crossings: xr.Dataset,
    variable: str = "inradius",
    bins: int = 30,
    n_boot: int = 1000,
    seed: int = 0,
    lag: int = 0,
) -> xr.Dataset:
    """Window `variable` (default in-radius, Å) at crossing frames (+ lag) vs at all times, same windows.

    Returns histograms (`density_hop`, `density_all`, 1/unit), `mean_hop`, `mean_all` (windows weighted by
    their crossings), `mean_shift` = mean over crossings of x_w(t_c) − <x_w>_t with bootstrap `mean_shift_err` (1σ),
    `ks_statistic` and `ks_pvalue` (all-time distribution as the population).
    """
    if variable not in geometry:
        raise InputError(
            f"geometry has no variable {variable!r}; choose one of {', '.join(map(str, geometry.data_vars))}"
        )
    if bins < 1 or n_boot < 2:
        raise InputError(f"bins must be ≥ 1 and n_boot ≥ 2, got {bins} and {n_boot}")
    x = geometry[variable].values
    u = geometry[variable].attrs.get("units", "")
    nf = x.shape[0]
    fr = crossings.frame.values.astype(int) + int(lag)
    w = crossings.window.values.astype(int)
    ok = (fr >= 0) & (fr < nf)
    fr, w = fr[ok], w[ok]
    n = len(fr)
    wins, cnt = np.unique(w, return_counts=True)
    allv = x[:, wins]  # (F, n_wins)
    weights = np.broadcast_to(cnt / (nf * max(n, 1)), allv.shape).ravel()
    allv = allv.ravel()
    lo, hi = (np.nanmin(x), np.nanmax(x)) if n == 0 else (allv.min(), allv.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1e-9, bins + 1)
    hop = x[fr, w]
    h_all, _ = np.histogram(allv, edges, weights=weights, density=True) if n else (np.zeros(bins), None)
    h_hop, _ = np.histogram(hop, edges, density=True) if n else (np.zeros(bins), None)
    if n:
        delta = hop - x[:, w].mean(axis=0)
        shift = float(delta.mean())
        boot = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        shift_err = float(delta[boot].mean(axis=1).std(ddof=1)) if n > 1 else np.nan
        srt = np.argsort(allv)
        va, cw = allv[srt], np.cumsum(weights[srt])
        cw /= cw[-1]
        grid = np.union1d(va, hop)
        f_all = np.concatenate([[0.0], cw])[np.searchsorted(va, grid, side="right")]
        f_hop = np.searchsorted(np.sort(hop), grid, side="right") / n
        ks = float(np.abs(f_all - f_hop).max())
        ks_p = float(sstats.kstwo.sf(ks, n))
        mean_hop, mean_all = float(hop.mean()), float(np.sum(allv * weights) / weights.sum())
    else:
        shift = shift_err = ks = ks_p = mean_hop = mean_all = np.nan
    ds = xr.Dataset(
        {
            "density_hop": ("bin", h_hop, {"units": f"{u}-1", "long_name": f"{variable} at crossings"}),
            "density_all": ("bin", h_all, {"units": f"{u}-1", "long_name": f"{variable} at all times (same windows)"}),
            "mean_hop": ((), mean_hop, {"units": u}),
            "mean_all": ((), mean_all, {"units": u}),
            "mean_shift": ((), shift, {"units": u, "long_name": "mean of x_w(t_c) − <x_w>"}),
            "mean_shift_err": ((), shift_err, {"units": u, "long_name": "bootstrap 1σ over crossings"}),
            "ks_statistic": ((), ks, {"units": units.DIMENSIONLESS}),
            "ks_pvalue": ((), ks_p, {"units": units.DIMENSIONLESS}),
            "n_crossings": ((), n, {"units": units.DIMENSIONLESS}),
        },
        coords={"bin": ("bin", 0.5 * (edges[1:] + edges[:-1]), {"units": u, "long_name": f"{variable} bin centre"})},
        attrs={
            "analysis": "bottleneck hop statistics",
            "variable": variable,
            "lag_frames": int(lag),
            "n_boot": n_boot,
            "seed": seed,
            "definition": "all-time distribution weights each window by its crossings",
        },
    )
    return ds


def hop_triggered_average(
    traj: Trajectory, windows, crossings: xr.Dataset, window_frames: int = 10, geometry: xr.Dataset | None = None
) -> xr.Dataset:
    """Averages over crossings of window quantities at lags −τ … +τ frames (τ = window_frames) of the crossing.

    windows: the Dataset from `windows()` (framework = all its anions) or (W, 3) atom indices (framework =
    those atoms). crossings: from `window_crossings` (only `frame` and `window` are used).

    `anion_displacement` (lag): mean |u| of the window's three anions, u = x − <x> with the framework drift
    removed (Å); `inradius` and `inradius_deviation` = r − <r_w> (Å); `*_err` standard errors over
    crossings; `count`; the all-time `anion_displacement_baseline` and `inradius_baseline` for comparison.
    """
    tau = int(window_frames)
    if tau < 0:
        raise InputError(f"window_frames must be ≥ 0, got {window_frames}")
    tri = np.asarray(windows.anions.values if isinstance(windows, xr.Dataset) else windows, dtype=int)
    geometry = window_geometry(traj, tri) if geometry is None else geometry
    aidx = windows.anion_index.values if isinstance(windows, xr.Dataset) else np.unique(tri)
    un = unwrap_positions(traj.positions[:, aidx], traj.cells)
    u = un - un.mean(axis=0)
    u -= u.mean(axis=1, keepdims=True)  # framework drift
    umag = np.zeros((traj.n_frames, traj.n_atoms))
    umag[:, aidx] = np.linalg.norm(u, axis=-1)
    lags = np.arange(-tau, tau + 1)
    fr, w = crossings.frame.values.astype(int), crossings.window.values.astype(int)
    f = fr[:, None] + lags[None]  # (C, L)
    valid = (f >= 0) & (f < traj.n_frames)
    fc = np.clip(f, 0, traj.n_frames - 1)
    disp = umag[fc[..., None], tri[w][:, None, :]].mean(axis=-1)  # (C, L)
    r = geometry.inradius.values
    rr = r[fc, w[:, None]]
    rdev = rr - r.mean(axis=0)[w][:, None]
    cnt = valid.sum(axis=0)

    def avg(a):
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(valid, a, 0).sum(0) / cnt
            var = np.where(valid, (a - m) ** 2, 0).sum(0) / np.maximum(cnt - 1, 1)
            return m, np.where(cnt > 1, np.sqrt(var / cnt), np.nan)

    d_m, d_e = avg(disp)
    r_m, r_e = avg(rr)
    dv_m, dv_e = avg(rdev)
    base_d = float(umag[:, tri[w]].mean()) if len(w) else np.nan
    base_r = float(r[:, w].mean()) if len(w) else np.nan
    L = units.LENGTH
    ds = xr.Dataset(
        {
            "anion_displacement": ("lag", d_m, {"units": L, "long_name": "mean |x − <x>| of the window anions"}),
            "anion_displacement_err": ("lag", d_e, {"units": L}),
            "inradius": ("lag", r_m, {"units": L}),
            "inradius_err": ("lag", r_e, {"units": L}),
            "inradius_deviation": ("lag", dv_m, {"units": L, "long_name": "r − <r_w>"}),
            "inradius_deviation_err": ("lag", dv_e, {"units": L}),
            "count": ("lag", cnt, {"units": units.DIMENSIONLESS}),
            "anion_displacement_baseline": ((), base_d, {"units": L, "long_name": "all-time mean, same windows"}),
            "inradius_baseline": ((), base_r, {"units": L, "long_name": "all-time mean, same windows"}),
        },
        coords={
            "lag": ("lag", lags, {"units": units.DIMENSIONLESS, "long_name": "frames after the crossing"}),
            "lag_time": ("lag", lags * traj.dt, {"units": units.TIME}),
        },
        attrs={"analysis": "hop-triggered average", "window_frames": tau, "dt_fs": traj.dt, "n_crossings": len(fr)},
    )
    return ds


def bottleneck_summary(
    traj: Trajectory,
    anions=("S", "Cl"),
    mobile: str = "Li",
    reference: str = "mean",
    min_occupancy: float = 0.05,
    min_residence_fs: float | None = None,
    window_frames: int = 10,
    radii: dict | None = None,
    max_lag: int | None = None,
    bins: int = 30,
    n_boot: int = 1000,
    seed: int = 0,
) -> xr.Dataset:
    """All of the above in one Dataset for reports: per-window table (reference and mean geometry, breathing
    amplitude, crossings), the crossings themselves (`crossing_time` ps, `crossing_ion`, `crossing_window`),
    in-radius breathing spectrum, hop statistics and hop-triggered averages.
    """
    _need_frames(traj, 8, "bottleneck analysis")
    ws = windows(traj, anions, mobile, reference, min_occupancy)
    if ws.attrs["n_windows"] == 0:
        raise InputError(
            f"no windows: no two face-sharing tetrahedra have a mean {mobile} occupation ≥ "
            f"{min_occupancy}; lower min_occupancy or check the mobile species"
        )
    geo = window_geometry(traj, ws, radii)
    spec = breathing_spectrum(geo, max_lag=max_lag)
    cr = window_crossings(traj, ws, mobile, min_residence_fs)
    st = hop_statistics(geo, cr, bins=bins, n_boot=n_boot, seed=seed)
    hta = hop_triggered_average(traj, ws, cr, window_frames, geo)
    L = units.LENGTH
    per = xr.Dataset(
        {
            "window_anions": (("window", "vertex"), ws.anions.values, {"units": units.DIMENSIONLESS}),
            "window_tetrahedra": (("window", "side"), ws.tetrahedra.values, {"units": units.DIMENSIONLESS}),
            "ref_inradius": ("window", ws.ref_inradius.values, {"units": L}),
            "mean_area": ("window", geo.area.mean("time").values, {"units": "angstrom2"}),
            "mean_inradius": ("window", geo.inradius.mean("time").values, {"units": L}),
            "std_inradius": (
                "window",
                geo.inradius.std("time").values,
                {"units": L, "long_name": "breathing amplitude"},
            ),
            "n_crossings_window": (
                "window",
                np.bincount(cr.window.values, minlength=len(ws.window)),
                {"units": units.DIMENSIONLESS},
            ),
            "crossing_time": ("crossing", cr.time.values, {"units": "ps"}),
            "crossing_ion": ("crossing", cr.ion.values, {"units": units.DIMENSIONLESS, "long_name": "atom index"}),
            "crossing_window": ("crossing", cr.window.values, {"units": units.DIMENSIONLESS}),
        }
    )
    if radii:
        per["mean_passage_radius"] = ("window", geo.passage_radius.mean("time").values, {"units": L})
    out = xr.merge(
        [
            per,
            spec.rename(spectrum="breathing_spectrum", acf="breathing_acf", variance="inradius_variance"),
            st.rename(bin="inradius_bin"),
            hta.rename(
                inradius="hta_inradius",
                inradius_err="hta_inradius_err",
                inradius_deviation="hta_inradius_deviation",
                inradius_deviation_err="hta_inradius_deviation_err",
                count="hta_count",
                lag="hta_lag",
                lag_time="hta_lag_time",
            ),
        ],
        combine_attrs="override",
    )
    out.attrs = {
        "analysis": "bottleneck breathing",
        "anions": ws.attrs["anions"],
        "mobile": mobile,
        "reference": reference,
        "min_occupancy": float(min_occupancy),
        "n_tetrahedra": ws.attrs["n_tetrahedra"],
        "n_sites": ws.attrs["n_sites"],
        "n_windows": ws.attrs["n_windows"],
        "min_residence_fs": cr.attrs["min_residence_fs"],
        "n_crossings": cr.attrs["n_crossings"],
        "n_transitions": cr.attrs["n_transitions"],
        "n_unassigned": cr.attrs["n_unassigned"],
        "resolution_fwhm_THz": spec.attrs["resolution_fwhm_THz"],
        "window_frames": int(window_frames),
        "dt_fs": traj.dt,
        "n_frames": traj.n_frames,
        "radii_A": str(radii or {}),
        "normalisation": spec.attrs["normalisation"],
    }
    return out
