"""Vibrational density of states from the velocity autocorrelation function.

Normalisation (shared/SCIENCE.md §2): per species (or atom group) α

    Z_α(t) = <v_i(0)·v_i(t)>  (atoms i of α, all origins),   Ẑ = Z/Z(0)
    g_α(ν) = 4 ∫₀^∞ w(t) Ẑ_α(t) cos(2πνt) dt,   ν in THz,   ∫₀^∞ g_α dν = 1

with w the lag window (its resolution is stated in attrs), so g_α(0) = 4 m_α D_α / (k_B T)
(Green–Kubo). The total is g = Σ_α c_α g_α with c_α the atom fraction. The energy axis E = hν (meV)
is given alongside; g per meV is g/4.1357.

Kernels: the fast route sums the power spectra |FFT v|² of all atoms of a selection before a single
inverse FFT (one forward FFT per velocity component, any number of atoms); the NumPy reference is
`vacf_reference` (per-atom all-origin autocorrelation, then the mean). Long trajectories: `vdos_from_file`
gives `vdos` in bounded memory (every frame of a block of atoms at a time; the power spectra are sums
over atoms); a stream of time chunks is accumulated by `VACFAccumulator`/`vdos_from_chunks` with exact
all-origin sums up to a short max_lag. Bootstrap blocks (atom subset × time block) are kept so `lowfreq` can put error bars
on g(0) and on the low-frequency exponent.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import scipy.fft as sfft
import xarray as xr

from .. import units
from .._compat import renamed_keyword
from ..errors import InputError
from ..trajectory.blocks import FrameSource, atom_blocks, opened, unwrapped_positions
from ..trajectory.model import Trajectory
from ..trajectory.unwrap import unwrap_positions
from . import lag_windows
from .correlate import autocorrelation, cosine_transform

#: threads for scipy.fft in the fast kernel (-1: all cores)
FFT_WORKERS = -1


class FiniteDifferenceWarning(UserWarning):
    """Velocities were derived from positions: the spectrum carries a stated bias."""


# --------------------------------------------------------------------------- velocities
def finite_difference_bias(nu_thz, dt_fs: float) -> np.ndarray:
    """Factor sinc²(2πνΔt) = [sin(2πνΔt)/(2πνΔt)]² that central differences put on the spectrum."""
    x = 2 * np.pi * np.asarray(nu_thz, dtype=float) * 1e-3 * dt_fs
    return np.sinc(x / np.pi) ** 2


def velocities_from_positions(traj: Trajectory, warn: bool = True) -> np.ndarray:
    """Central-difference velocities (Å/fs) of frames 1 … F−2 from unwrapped positions.

    v(t) = [r(t+Δt) − r(t−Δt)] / 2Δt. The spectrum of such velocities is the true one times
    sinc²(2πνΔt) and frequencies above 1/(2Δt) fold back into the band; D from g(0) is unaffected.
    """
    if traj.n_frames < 3:
        raise InputError("need at least 3 frames to derive velocities from positions")
    r = unwrap_positions(traj.positions, traj.cells)
    v = (r[2:] - r[:-2]) / (2.0 * traj.dt)
    if warn:
        warnings.warn(finite_difference_message(traj.dt), FiniteDifferenceWarning, stacklevel=3)
    return v


def finite_difference_message(dt_fs: float) -> str:
    """Warning text: the Nyquist frequency (THz) and the damping of 1 THz modes of velocities differenced from positions stored dt_fs apart."""
    nyq = 1e3 / (2 * dt_fs)
    b1 = 1 - float(finite_difference_bias(1.0, dt_fs))
    return (
        f"the trajectory has no velocities: using central differences of unwrapped positions "
        f"(Δt = {dt_fs:g} fs). This multiplies the spectrum by sinc²(2πνΔt) ({100 * b1:.2g} % low at "
        f"1 THz, zero at {nyq:.3g} THz) and folds everything above the Nyquist frequency {nyq:.3g} THz "
        f"into the band, so the normalised g(ν) is biased towards low frequency and T_kin is too low; "
        f"D from g(0) (Green–Kubo) stays unbiased. Store velocities during MD for a faithful VDOS."
    )


def _velocities(traj: Trajectory) -> tuple[np.ndarray, str]:
    if traj.velocities is not None:
        return traj.velocities, "file"
    return velocities_from_positions(traj, warn=True), "central differences of positions"


# --------------------------------------------------------------------------- selections
def _selections(
    traj: Trajectory | FrameSource, species: Sequence[str] | None, groups: Mapping[str, Sequence[int]] | None
) -> tuple[list[str], list[np.ndarray], list[str]]:
    """(names, index arrays, kinds) for the requested species followed by the user groups."""
    species = list(species) if species else traj.species
    names, idx, kinds = [], [], []
    for s in species:
        names.append(s)
        idx.append(traj.indices(s))
        kinds.append("species")
    for name, sel in (groups or {}).items():
        a = np.asarray(sel)
        if a.dtype == bool:
            if a.shape != (traj.n_atoms,):
                raise InputError(f"group {name!r}: a boolean mask needs {traj.n_atoms} entries, got {a.shape}")
            a = np.flatnonzero(a)
        a = a.astype(int).ravel()
        if a.size == 0:
            raise InputError(f"group {name!r} is empty; give at least one atom index")
        if a.min() < 0 or a.max() >= traj.n_atoms:
            raise InputError(f"group {name!r} has atom indices outside 0…{traj.n_atoms - 1}")
        if name in species:
            raise InputError(f"group name {name!r} clashes with a species name; rename the group")
        names.append(str(name))
        idx.append(np.unique(a))
        kinds.append("group")
    return names, idx, kinds


def bonded_groups(
    traj: Trajectory | FrameSource,
    species: str = "S",
    partner: str = "P",
    cutoff: float = 2.5,
    names: tuple[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """Split `species` into atoms within `cutoff` Å of a `partner` atom (first frame, minimum image)
    and the rest, e.g. PS4 sulfur vs free S in argyrodites: {'S_PS4': idx, 'S_free': idx}.
    traj: a Trajectory or an open FrameSource.
    """
    names = names or (
        f"{species}_{partner}{species}4" if (species, partner) == ("S", "P") else f"{species}_bonded",
        f"{species}_free",
    )
    a, b = traj.indices(species), traj.indices(partner)
    cell = traj.cells[0]
    pos0 = traj.read_positions(None, 0, 1)[0] if isinstance(traj, FrameSource) else traj.positions[0]
    d = pos0[a][:, None, :] - pos0[b][None, :, :]
    frac = d @ np.linalg.inv(cell)
    frac -= np.round(frac)
    dist = np.linalg.norm(frac @ cell, axis=-1)
    bonded = (dist < cutoff).any(axis=1)
    return {names[0]: a[bonded], names[1]: a[~bonded]}


# --------------------------------------------------------------------------- kernels
def _atom_subsets(idx: np.ndarray, n_sub: int, seed: int = 0) -> list[np.ndarray]:
    """Split atom indices (in file order) into at most n_sub nearly equal consecutive subsets
    (the atom side of the bootstrap blocks; consecutive indices keep the velocity reads contiguous).
    """
    n_sub = max(1, min(n_sub, len(idx)))
    return [np.asarray(p) for p in np.array_split(np.sort(np.asarray(idx)), n_sub)]


try:  # fused accumulation of spectra (no temporaries); NumPy fallback below
    import numba as _nb

    @_nb.njit(cache=True, nogil=True)
    def _acc_power(f, p):  # pragma: no cover - compiled
        """p[j] += Σ_i |f[j, i]|² for f of shape (frequencies, columns)."""
        nf, n = f.shape
        for j in range(nf):
            acc = 0.0
            for i in range(n):
                z = f[j, i]
                acc += z.real * z.real + z.imag * z.imag
            p[j] += acc

    @_nb.njit(cache=True, nogil=True)
    def _acc_cross(fm, fy, p):  # pragma: no cover - compiled
        """p[j] += Σ_i fm[j, i] · conj(fy[j, i])."""
        nf, n = fm.shape
        for j in range(nf):
            acc = 0j
            for i in range(n):
                acc += fm[j, i] * fy[j, i].conjugate()
            p[j] += acc
except ImportError:  # pragma: no cover - numba is a runtime dependency, but stay importable without it

    def _acc_power(f, p):  # type: ignore[misc]
        p += (f.real * f.real + f.imag * f.imag).sum(axis=1)

    def _acc_cross(fm, fy, p):  # type: ignore[misc]
        p += (fm * np.conj(fy)).sum(axis=1)


#: velocity columns per FFT block: the FFT runs down the time axis of a (T, columns) block, which
#: pocketfft vectorises across columns; ~100 columns keep a block in cache (measured fastest here)
_COLS = 96


def _column_blocks(v: np.ndarray, atoms: np.ndarray):
    """Yield (T, ≤_COLS) arrays of velocity components of consecutive atom blocks."""
    t = v.shape[0]
    per = max(1, _COLS // 3)
    for s in range(0, len(atoms), per):
        a = atoms[s : s + per]
        if a.size > 1 and np.all(np.diff(a) == 1):
            yield v[:, a[0] : a[-1] + 1, :].reshape(t, -1)
        else:
            yield v[:, a, :].reshape(t, -1)


def _power_sum(v: np.ndarray, atoms: np.ndarray, nfft: int, dtype) -> np.ndarray:
    """Σ over atoms and components of |rfft(v)|² (zero-padded to nfft)."""
    p = np.zeros(nfft // 2 + 1)
    for cols in _column_blocks(v, atoms):
        f = sfft.rfft(cols.astype(dtype, copy=False), n=nfft, axis=0, workers=FFT_WORKERS)
        _acc_power(f, p)
    return p


def _cross_sum(y: np.ndarray, start: int, atoms: np.ndarray, nfft: int, dtype) -> np.ndarray:
    """Σ over atoms/components of FFT(y with frames < start zeroed) · conj(FFT y) (for chunking)."""
    p = np.zeros(nfft // 2 + 1, dtype=complex)
    for cols in _column_blocks(y, atoms):
        c = np.array(cols, dtype=dtype)
        fy = sfft.rfft(c, n=nfft, axis=0, workers=FFT_WORKERS)
        c[:start] = 0.0
        fm = sfft.rfft(c, n=nfft, axis=0, workers=FFT_WORKERS)
        _acc_cross(fm, fy, p)
    return p


class VACFAccumulator:
    """Exact all-origin VACF sums, accumulated over consecutive chunks of velocities.

    For every selection and bootstrap block (atom subset × chunk) it keeps
    S(m) = Σ_pairs v_i(s−m)·v_i(s) over pairs whose later frame s lies in the chunk, and the number
    of such pairs; a tail of max_lag−1 frames joins consecutive chunks, so the sums equal those of
    one all-origin correlation of the whole trajectory. Chunks beyond `max_blocks` are merged
    pairwise (adjacent in time) so memory stays bounded.
    """

    def __init__(
        self,
        selections: Sequence[np.ndarray],
        max_lag: int,
        atom_groups: int = 8,
        max_blocks: int = 8,
        dtype=np.float64,
        masses: np.ndarray | None = None,
        seed: int = 0,
    ):
        self.max_lag = int(max_lag)
        self.subsets = [_atom_subsets(np.asarray(s), atom_groups, seed) for s in selections]
        self.max_blocks = max(1, int(max_blocks))
        self.dtype = dtype
        self.masses = masses
        self.tail: np.ndarray | None = None
        self.n_frames = 0
        self.blocks: list[np.ndarray] = []  # each (S, U, M) sums
        self.counts: list[np.ndarray] = []  # each (M,) pairs per atom
        self.mv2 = np.zeros(len(selections))  # Σ m v² over frames and atoms (eV·2 for T_kin)
        self.n_sub = max(len(a) for a in self.subsets)

    def update(self, v: np.ndarray) -> None:
        """Add a chunk of velocities (frames, atoms, 3) Å/fs that continues the previous chunk in time."""
        v = np.asarray(v, dtype=float)
        L = v.shape[0]
        if L == 0:
            return
        M = self.max_lag
        tail = self.tail if self.tail is not None else v[:0]
        y = np.concatenate([tail, v], axis=0)
        start = tail.shape[0]
        nfft = sfft.next_fast_len(y.shape[0] + M, real=True)
        sums = np.zeros((len(self.subsets), self.n_sub, M))
        for si, subs in enumerate(self.subsets):
            for ui, atoms in enumerate(subs):
                if start == 0:
                    p = _power_sum(y, atoms, nfft, self.dtype).astype(complex)
                else:
                    p = _cross_sum(y, start, atoms, nfft, self.dtype)
                sums[si, ui] = sfft.irfft(p, n=nfft)[:M]

        if self.masses is not None:
            v2 = np.einsum("tac,tac->a", v, v)
            for si, subs in enumerate(self.subsets):
                at = np.concatenate(subs)
                self.mv2[si] += float(self.masses[at] @ v2[at])
        # pairs (s−m, s) with s in this chunk and s − m ≥ 0 globally
        m = np.arange(M)
        s0 = self.n_frames
        counts = np.clip(s0 + L - np.maximum(s0, m), 0, None).astype(float)
        self.blocks.append(sums)
        self.counts.append(counts)
        self.n_frames += L
        self.tail = y[-(M - 1) :] if M > 1 else y[:0]
        if len(self.blocks) > 2 * self.max_blocks - 1:
            self._merge()

    def _merge(self) -> None:
        b, c = self.blocks, self.counts
        nb = [b[i] + b[i + 1] if i + 1 < len(b) else b[i] for i in range(0, len(b), 2)]
        nc = [c[i] + c[i + 1] if i + 1 < len(c) else c[i] for i in range(0, len(c), 2)]
        self.blocks, self.counts = nb, nc

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(vacf (S, M) Å²/fs², block sums (S, K, M), block pair counts (S, K, M)) with K = chunks × atom subsets."""
        if self.n_frames <= self.max_lag - 1 or not self.blocks:
            raise InputError(f"max_lag {self.max_lag} needs more than {self.max_lag} frames; got {self.n_frames}")
        S, U = len(self.subsets), self.n_sub
        sizes = np.zeros((S, U))
        for si, subs in enumerate(self.subsets):
            sizes[si, : len(subs)] = [len(a) for a in subs]
        block_sums = np.concatenate([b for b in self.blocks], axis=1)  # (S, B*U, M)
        block_cnt = np.concatenate([sizes[:, :, None] * c[None, None, :] for c in self.counts], axis=1)
        tot = block_sums.sum(axis=1) / block_cnt.sum(axis=1)
        return tot, block_sums, block_cnt


def vacf_fast(
    v: np.ndarray,
    selections: Sequence[np.ndarray],
    max_lag: int,
    atom_groups: int = 8,
    time_blocks: int = 1,
    dtype=np.float64,
    seed: int = 0,
):
    """Fast kernel: per selection the all-origin VACF (S, M) plus bootstrap block sums and pair counts.

    time_blocks > 1 splits the origins into that many contiguous blocks (exact partition of the pairs).
    """
    t = v.shape[0]
    if max_lag > t:
        raise InputError(f"max_lag {max_lag} exceeds the {t} frames available")
    if time_blocks <= 1:
        nfft = sfft.next_fast_len(t + max_lag, real=True)
        subs_all = [_atom_subsets(np.asarray(s), atom_groups, seed) for s in selections]
        n_sub = max(len(a) for a in subs_all)
        sums = np.zeros((len(selections), n_sub, max_lag))
        cnt = np.zeros_like(sums)
        pairs = (t - np.arange(max_lag)).astype(float)
        for si, subs in enumerate(subs_all):
            for ui, atoms in enumerate(subs):
                p = _power_sum(v, atoms, nfft, dtype)
                sums[si, ui] = sfft.irfft(p, n=nfft)[:max_lag]
                cnt[si, ui] = pairs * len(atoms)
        return sums.sum(axis=1) / cnt.sum(axis=1), sums, cnt
    acc = VACFAccumulator(selections, max_lag, atom_groups, max_blocks=time_blocks, dtype=dtype, seed=seed)
    edges = np.linspace(0, t, time_blocks + 1).astype(int)
    for a, b in zip(edges[:-1], edges[1:]):
        acc.update(v[a:b])
    return acc.result()


def vacf_reference(v: np.ndarray, idx: np.ndarray, max_lag: int) -> np.ndarray:
    """NumPy reference: per-atom all-origin autocorrelation (correlate.autocorrelation), averaged."""
    return autocorrelation(v[:, idx], max_lag).mean(axis=1)


# --------------------------------------------------------------------------- public API
def _check(traj: Trajectory | FrameSource, max_lag: int | None, lag_window: str, n_frames: int | None = None) -> int:
    lag_windows.check_lag_window(lag_window)
    n = n_frames if n_frames is not None else traj.n_frames
    max_lag = int(max_lag) if max_lag else max(2, n // 2)
    if max_lag < 2 or max_lag > n:
        raise InputError(f"max_lag must be between 2 and the number of frames ({n}), got {max_lag}")
    return max_lag


def vacf(
    traj: Trajectory,
    species: list[str] | None = None,
    max_lag: int | None = None,
    groups: Mapping[str, Sequence[int]] | None = None,
) -> xr.Dataset:
    """Velocity autocorrelation Z_α(t) per species (then per group), Å²/fs², all time origins.

    max_lag: number of lags (frames) kept; default half the trajectory. Velocities are derived from
    positions (with a warning stating the bias) when the trajectory has none.
    """
    v, source = _velocities(traj)
    max_lag = _check(traj, max_lag, "hann", v.shape[0])
    names, idx, kinds = _selections(traj, species, groups)
    z, _, _ = vacf_fast(v, idx, max_lag, atom_groups=1)
    t = np.arange(max_lag) * traj.dt
    ds = xr.Dataset(
        {
            "vacf": (
                ("species", "time"),
                z,
                {"units": "angstrom2 fs-2", "long_name": "velocity autocorrelation <v(0)·v(t)>"},
            )
        },
        coords={
            "species": ("species", names, {"units": units.DIMENSIONLESS}),
            "time": ("time", t, {"units": units.TIME}),
            "kind": ("species", kinds, {"units": units.DIMENSIONLESS}),
        },
    )
    ds.attrs.update(dt_fs=traj.dt, n_frames=traj.n_frames, max_lag=max_lag, velocities=source)
    return ds


@renamed_keyword(window="lag_window")
def spectrum_from_vacf(z: np.ndarray, dt_fs: float, lag_window: str = "hann") -> tuple[np.ndarray, np.ndarray]:
    """Normalised one-sided spectrum of VACF rows z (..., M): (ν THz, g 1/THz) with ∫g dν = 1."""
    z = np.asarray(z, dtype=float)
    w = lag_windows.lag_window(lag_window, z.shape[-1])
    zhat = z / z[..., :1] * w
    nu, spec = cosine_transform(np.moveaxis(zhat, -1, 0), dt_fs)
    return nu * 1e3, np.moveaxis(spec, 0, -1) * 1e-3


@renamed_keyword(window="lag_window")
def vdos(
    traj: Trajectory,
    species: list[str] | None = None,
    max_lag: int | None = None,
    lag_window: str = "hann",
    groups: Mapping[str, Sequence[int]] | None = None,
    atom_groups: int = 8,
    time_blocks: int = 1,
    precision: str = "float64",
) -> xr.Dataset:
    """VDOS per species (and per user atom group) and total, each normalised to ∫g dν = 1 (ν in THz).

    groups: {name: atom indices or boolean mask}, e.g. `bonded_groups(traj)` for PS4 vs free S.
    atom_groups × time_blocks: bootstrap blocks kept for uncertainties (`lowfreq`); time_blocks > 1
    splits the time origins into contiguous blocks (costs more FFT work).
    precision: "float64" (default) or "float32" FFTs (about twice as fast; ~1e-7 relative noise).

    Returns `g` (species, frequency) 1/THz, `g_total`, `vacf`, `mass` (amu), `kinetic_temperature`
    (K, from m<v²>/3k_B), `integral`, `atom_fraction`, `n_atoms` and bootstrap `vacf_blocks`/`block_pairs`;
    groups appear as `g_group` etc. on a `group` dimension.
    """
    v, source = _velocities(traj)
    max_lag = _check(traj, max_lag, lag_window, v.shape[0])
    names, idx, kinds = _selections(traj, species, groups)
    dtype = _dtype(precision)
    z, bsum, bcnt = vacf_fast(v, idx, max_lag, atom_groups=atom_groups, time_blocks=time_blocks, dtype=dtype)
    if all(np.ptp(traj.masses[i]) == 0 for i in idx):  # Z(0) = <v²> already holds Σv²/(T n)
        mv2 = np.array([traj.masses[i][0] for i in idx]) * z[:, 0]
    else:
        v2 = np.einsum("tac,tac->a", v, v)
        mv2 = np.array([traj.masses[i] @ v2[i] / (v.shape[0] * len(i)) for i in idx])
    meta = {"velocities": source, "time_blocks": time_blocks, "atom_groups": atom_groups, "n_frames_used": v.shape[0]}
    return _assemble(traj, names, idx, kinds, z, bsum, bcnt, mv2, max_lag, lag_window, meta, precision)


def _dtype(precision: str):
    if precision not in ("float64", "float32"):
        raise InputError(f"precision must be 'float64' or 'float32', got {precision!r}")
    return np.float64 if precision == "float64" else np.float32


@renamed_keyword(window="lag_window")
def vdos_from_chunks(
    chunks: Iterable[Trajectory],
    species: list[str] | None = None,
    max_lag: int = 2048,
    lag_window: str = "hann",
    groups: Mapping[str, Sequence[int]] | None = None,
    atom_groups: int = 8,
    time_blocks: int = 8,
    precision: str = "float64",
) -> xr.Dataset:
    """VDOS of a trajectory delivered in consecutive chunks (e.g. `iter_trajectory(path, chunk=...)`).

    Memory holds one chunk plus max_lag frames. The sums are exact all-origin sums; the chunks become
    time blocks for the bootstrap (merged pairwise down to at most `time_blocks`). Central-difference
    velocities are carried across chunk borders when the file has none.
    """
    acc: VACFAccumulator | None = None
    first = None
    prev_r = None  # last two unwrapped frames for finite differences
    n_total = 0
    source = "file"
    for ch in chunks:
        if first is None:
            first = ch
            _check(ch, max(2, max_lag), lag_window, max(max_lag, 2))
            names, idx, kinds = _selections(ch, species, groups)
            acc = VACFAccumulator(idx, max_lag, atom_groups, time_blocks, _dtype(precision), masses=ch.masses)
        if ch.velocities is not None:
            v = ch.velocities
        else:
            if source == "file":
                warnings.warn(finite_difference_message(ch.dt), FiniteDifferenceWarning, stacklevel=2)
            source = "central differences of positions"
            r = ch.positions if prev_r is None else np.concatenate([prev_r, ch.positions])
            cells = ch.cells if prev_r is None else np.concatenate([np.repeat(ch.cells[:1], len(prev_r), 0), ch.cells])
            ru = unwrap_positions(r, cells)
            if prev_r is not None:
                ru += prev_r[0] - ru[0]
            v = (ru[2:] - ru[:-2]) / (2 * ch.dt)
            prev_r = ru[-2:]
        n_total += ch.n_frames
        assert acc is not None  # made with the first chunk
        acc.update(v)
    if acc is None or first is None:
        raise InputError("no frames were delivered")
    z, bsum, bcnt = acc.result()
    mv2 = acc.mv2 / (acc.n_frames * np.array([sum(len(a) for a in u) for u in acc.subsets]))
    traj_like = Trajectory(
        positions=first.positions[:1],
        cells=first.cells[:1],
        symbols=first.symbols,
        dt=first.dt,
        masses=first.masses,
        metadata=dict(first.metadata),
    )
    meta = {
        "velocities": source,
        "time_blocks": len(acc.blocks),
        "atom_groups": atom_groups,
        "n_frames_used": acc.n_frames,
        "chunked": 1,
    }
    ds = _assemble(traj_like, names, idx, kinds, z, bsum, bcnt, mv2, max_lag, lag_window, meta, precision)
    ds.attrs["n_frames"] = n_total
    return ds


#: bytes per atom and frame that a block holds: velocities, or the unwrapped positions and the velocities
#: derived from them (float64)
_VDOS_BYTES = 48


def _block_velocities(src: FrameSource, atoms: np.ndarray) -> np.ndarray:
    """Velocities (T, n, 3) of `atoms` from the file, else central differences of unwrapped positions
    (frames 1 … T−2), as `_velocities` gives them for a whole Trajectory.
    """
    if src.has_velocities:
        return src.read_velocities(atoms)
    r = unwrapped_positions(src, atoms)
    v = (r[2:] - r[:-2]) / (2.0 * src.dt)
    return v


@renamed_keyword(window="lag_window")
def vdos_from_file(
    trajectory,
    species: list[str] | None = None,
    max_lag: int | None = None,
    lag_window: str = "hann",
    groups: Mapping[str, Sequence[int]] | None = None,
    atom_groups: int = 8,
    time_blocks: int = 1,
    precision: str = "float64",
    *,
    dt: float | None = None,
    format: str | None = None,
    memory: int | None = None,
    block_atoms: int | None = None,
) -> xr.Dataset:
    """`vdos` in bounded memory: the same Dataset (to float rounding) from a path, an open FrameSource or a
    Trajectory, holding every frame of a block of atoms at a time (the VACF power spectra of each bootstrap
    block are sums over its atoms). dt/format: as in `read_trajectory`, for a path; memory: bytes for one
    atom block (default `trajectory.blocks.MEMORY_BUDGET`), or block_atoms atoms per block. The other
    arguments as in `vdos`; max_lag defaults to half the trajectory, as there.
    """
    with opened(trajectory, dt, format) as src:
        if src.has_velocities:
            source, n_used = "file", src.n_frames
        else:
            if src.n_frames < 3:
                raise InputError("need at least 3 frames to derive velocities from positions")
            warnings.warn(finite_difference_message(src.dt), FiniteDifferenceWarning, stacklevel=2)
            source, n_used = "central differences of positions", src.n_frames - 2
        max_lag = _check(src, max_lag, lag_window, n_used)
        names, idx, kinds = _selections(src, species, groups)
        dtype = _dtype(precision)
        subsets_all = [_atom_subsets(np.asarray(i), atom_groups) for i in idx]
        n_sub = max(len(a) for a in subsets_all)
        uniform = all(np.ptp(src.masses[i]) == 0 for i in idx)
        per_atom_frame = _VDOS_BYTES * (2 if time_blocks > 1 else 1)
        bsum: np.ndarray | None = None
        bcnt = np.zeros(0)
        mv2 = np.zeros(len(idx))
        for si, subs in enumerate(subsets_all):
            for ui, atoms in enumerate(subs):
                for blk in atom_blocks(atoms, src.n_frames, per_atom_frame, memory, block_atoms):
                    v = _block_velocities(src, blk)
                    _, bs, bc = vacf_fast(
                        v, [np.arange(len(blk))], max_lag, atom_groups=1, time_blocks=time_blocks, dtype=dtype
                    )
                    if bsum is None:  # (selections, time blocks × atom subsets, lags), as vacf_fast
                        bsum = np.zeros((len(idx), bs.shape[1] * n_sub, max_lag))
                        bcnt = np.zeros_like(bsum)
                    bsum[si, ui::n_sub] += bs[0]
                    bcnt[si, ui::n_sub] += bc[0]
                    if not uniform:
                        mv2[si] += src.masses[blk] @ np.einsum("tac,tac->a", v, v)
                    del v
        assert bsum is not None
        z = bsum.sum(axis=1) / bcnt.sum(axis=1)
        if uniform:  # Z(0) = <v²> already holds Σv²/(T n)
            mv2 = np.array([src.masses[i][0] for i in idx]) * z[:, 0]
        else:
            mv2 = mv2 / (n_used * np.array([len(i) for i in idx]))
        meta = {"velocities": source, "time_blocks": time_blocks, "atom_groups": atom_groups, "n_frames_used": n_used}
        return _assemble(src, names, idx, kinds, z, bsum, bcnt, mv2, max_lag, lag_window, meta, precision)


def _assemble(traj, names, idx, kinds, z, bsum, bcnt, mv2, max_lag, lag_window, meta, precision) -> xr.Dataset:
    nu, g = spectrum_from_vacf(z, traj.dt, lag_window)
    masses = np.array([traj.masses[i].mean() for i in idx])
    temp = mv2 * units.AMU_A2_PER_FS2_IN_EV / (3.0 * units.KB_EV)
    integral = np.trapezoid(g, nu, axis=1)
    counts = np.array([len(i) for i in idx])
    kinds = np.asarray(kinds)
    sp = kinds == "species"
    t = np.arange(max_lag) * traj.dt
    sp_names = [n for n, k in zip(names, kinds) if k == "species"]
    frac = counts[sp] / (traj.n_atoms if sorted(sp_names) == sorted(traj.species) else counts[sp].sum())
    g_total = (frac[:, None] * g[sp]).sum(axis=0)
    fr = {"units": units.FREQUENCY}

    def block(mask, dim):
        sfx = "" if dim == "species" else "_group"
        return {
            "g" + sfx: (
                (dim, "frequency"),
                g[mask],
                {
                    "units": "THz-1",
                    "long_name": f"partial VDOS g(ν) per {dim}",
                    "normalisation": "∫ g dν = 1 (ν in THz)",
                },
            ),
            "vacf" + sfx: (
                (dim, "time"),
                z[mask],
                {"units": "angstrom2 fs-2", "long_name": "velocity autocorrelation <v(0)·v(t)>"},
            ),
            "mass" + sfx: (dim, masses[mask], {"units": units.MASS, "long_name": "mean atomic mass"}),
            "kinetic_temperature" + sfx: (dim, temp[mask], {"units": units.TEMPERATURE, "long_name": "<m v²>/3k_B"}),
            "integral" + sfx: (
                dim,
                integral[mask],
                {"units": units.DIMENSIONLESS, "long_name": "∫ g dν (check, should be 1)"},
            ),
            "n_atoms" + sfx: (dim, counts[mask], {"units": units.DIMENSIONLESS}),
            "vacf_blocks" + sfx: (
                (dim, "block", "time"),
                bsum[mask],
                {"units": "angstrom2 fs-2", "long_name": "bootstrap-block sums of v(t0)·v(t0+t) over pairs"},
            ),
            "block_pairs" + sfx: (
                (dim, "block", "time"),
                bcnt[mask],
                {"units": units.DIMENSIONLESS, "long_name": "number of (atom, origin) pairs per block and lag"},
            ),
        }

    data = block(sp, "species")
    data["g_total"] = (
        "frequency",
        g_total,
        {"units": "THz-1", "long_name": "total VDOS Σ c_α g_α", "normalisation": "∫ g dν = 1 (atom-fraction weights)"},
    )
    data["atom_fraction"] = ("species", frac, {"units": units.DIMENSIONLESS})
    coords = {
        "species": ("species", sp_names, {"units": units.DIMENSIONLESS}),
        "frequency": ("frequency", nu, fr),
        "energy": ("frequency", nu * units.THZ_TO_MEV, {"units": units.ENERGY_MEV}),
        "time": ("time", t, {"units": units.TIME}),
        "block": (
            "block",
            np.arange(bsum.shape[1]),
            {"units": units.DIMENSIONLESS, "long_name": "bootstrap block (atom subset × time block)"},
        ),
    }
    if (~sp).any():
        data.update(block(~sp, "group"))
        coords["group"] = ("group", [n for n, k in zip(names, kinds) if k == "group"], {"units": units.DIMENSIONLESS})
    ds = xr.Dataset(data, coords=coords)
    fwhm = lag_windows.resolution_fwhm(lag_window, max_lag, traj.dt) * 1e3
    ds.attrs.update(
        analysis="vdos",
        lag_window=lag_window,
        max_lag=max_lag,
        dt_fs=traj.dt,
        n_frames=traj.n_frames,
        resolution_fwhm_THz=fwhm,
        resolution_fwhm_meV=fwhm * units.THZ_TO_MEV,
        frequency_step_THz=float(nu[1] - nu[0]),
        volume_A3=traj.volume(),
        precision=precision,
        normalisation="per species ∫g dν = 1 with ν in THz; total = atom-fraction sum; "
        "g(0) = 4mD/(k_B T); bootstrap blocks = atom subsets × time blocks",
        **meta,
    )
    if "temperature" in traj.metadata:
        try:
            ds.attrs["temperature_nominal_K"] = float(traj.metadata["temperature"])
        except (TypeError, ValueError):
            pass
    if meta.get("velocities") != "file":
        ds.attrs["finite_difference_warning"] = finite_difference_message(traj.dt)
    return ds


# --------------------------------------------------------------------------- helpers
#: names that VDOS files of earlier versions use → the names of this version
_OLDER_NAMES = {
    "vacf_units": "vacf_blocks",
    "unit_pairs": "block_pairs",
    "vacf_units_group": "vacf_blocks_group",
    "unit_pairs_group": "block_pairs_group",
    "unit": "block",
}


def with_current_names(ds: xr.Dataset) -> xr.Dataset:
    """A VDOS Dataset with the names of this version: files written by earlier versions call the
    bootstrap blocks `vacf_units`/`unit_pairs` (dimension `unit`) and the lag window attr `window`.
    Returns ds itself when nothing is renamed.
    """
    old = {k: v for k, v in _OLDER_NAMES.items() if k in ds.variables or k in ds.dims}
    if old:
        ds = ds.rename(old)
    if "lag_window" not in ds.attrs and "window" in ds.attrs:
        ds = ds.copy(deep=False)
        ds.attrs = {("lag_window" if k == "window" else k): v for k, v in ds.attrs.items()}
    return ds


def selection(ds: xr.Dataset, name: str) -> xr.Dataset:
    """The variables of one species or group as a small Dataset with plain names (g, vacf, mass, …)."""
    ds = with_current_names(ds)
    if name in list(ds.species.values):
        sub = ds.sel(species=name)
        keys = ["g", "vacf", "mass", "kinetic_temperature", "integral", "n_atoms", "vacf_blocks", "block_pairs"]
        return xr.Dataset({k: sub[k] for k in keys}, attrs=ds.attrs)
    if "group" in ds.dims and name in list(ds.group.values):
        sub = ds.sel(group=name)
        keys = ["g", "vacf", "mass", "kinetic_temperature", "integral", "n_atoms", "vacf_blocks", "block_pairs"]
        return xr.Dataset({k: sub[k + "_group"] for k in keys}, attrs=ds.attrs)
    have = list(ds.species.values) + (list(ds.group.values) if "group" in ds.dims else [])
    raise InputError(f"{name!r} is not in this VDOS; it has {', '.join(map(str, have))}")


def names_of(ds: xr.Dataset) -> list[str]:
    """Names of the spectra in a VDOS dataset: its species, then its atom groups."""
    return list(map(str, ds.species.values)) + (list(map(str, ds.group.values)) if "group" in ds.dims else [])


def diffusion_from_g0(g0_per_thz: float, mass_amu: float, temperature_k: float) -> float:
    """D (cm²/s) from g_ν(0) = 4 m D /(k_B T) with g in 1/THz."""
    g0_fs = g0_per_thz * 1e3  # 1/THz → fs
    kT = units.KB_EV * temperature_k  # eV
    d_a2_fs = g0_fs * kT / (4.0 * mass_amu * units.AMU_A2_PER_FS2_IN_EV)
    return d_a2_fs * units.A2_PER_FS_TO_CM2_PER_S


def diffusion_from_g0_vacf(g0_per_thz: float, z0: float) -> float:
    """D (cm²/s) = g(0)·Z(0)/12 (Green–Kubo with the measured Z(0) = <v²>, Å²/fs²); needs no T."""
    return g0_per_thz * 1e3 * z0 / 12.0 * units.A2_PER_FS_TO_CM2_PER_S


@renamed_keyword(fit_window="fit_range")
def vdos_summary(
    ds: xr.Dataset,
    temperature: float | None = None,
    fit_range: tuple[float, float] | None = None,
    n_boot: int = 200,
    seed: int = 0,
    lowest_phonon: dict | None = None,
    msd_D: dict | None = None,
) -> dict:
    """Per species and group: the zero-frequency verdict (g0 ≥ 0 in 1/THz ± err, g0_resolved, g0_upper,
    D_from_g0 cm²/s), the law verdict (exponent ± err, law, law_reason), the combined classification,
    band_centre (meV), debye_frequency (THz), fit_range_THz, quadratic-fit coefficients, and Cv, S_vib
    (k_B/atom, harmonic) at `temperature` (default: nominal, else kinetic temperature).
    lowest_phonon: `finite_size.lowest_phonon` of the cell (the law is then measured above it).
    msd_D: {species: (D, σ) cm²/s} from the MSD; g(0) > 0 counts as diffusion only where it confirms it.
    """
    from .descriptors import band_centre, debye_frequency
    from .lowfreq import analyse_lowfreq
    from .thermo import heat_capacity, vibrational_entropy

    out: dict = {
        "units": {
            "g0": "1/THz",
            "D_from_g0": "cm2/s",
            "band_centre": "meV",
            "frequency": "THz",
            "debye_frequency": "THz",
            "Cv": "k_B per atom",
            "S_vib": "k_B per atom",
            "temperature": "K",
        },
        "resolution_fwhm_THz": float(ds.attrs.get("resolution_fwhm_THz", np.nan)),
        "velocities": ds.attrs.get("velocities", "file"),
        "lowest_phonon": lowest_phonon,
        "species": {},
        "groups": {},
    }
    keys = (
        "g0",
        "g0_err",
        "g0_resolved",
        "g0_upper",
        "g0_status",
        "g0_reason",
        "g0_resolution_bias",
        "g_at_zero",
        "g_at_zero_err",
        "exponent",
        "exponent_err",
        "amplitude",
        "law",
        "law_reason",
        "classification",
        "resolved",
        "leakage_bound",
        "D_from_g0",
        "D_from_g0_err",
        "D_from_g0_upper",
        "finite_size",
    )
    for name in names_of(ds):
        sel = selection(ds, name)
        lf = analyse_lowfreq(
            ds,
            name,
            fit_range=fit_range,
            n_boot=n_boot,
            seed=seed,
            lowest_phonon=lowest_phonon,
            msd_D=(msd_D or {}).get(name),
        )
        t_use = temperature or ds.attrs.get("temperature_nominal_K") or float(sel.kinetic_temperature)
        nu, g = ds.frequency.values, sel.g.values
        entry = {k: lf[k] for k in keys}
        entry.update(
            {
                "fit_range_THz": lf["fit_range"],
                "quadratic_fit": lf["quadratic"],
                "band_centre": band_centre(nu, g) * units.THZ_TO_MEV,
                "debye_frequency": debye_frequency(lf),
                "kinetic_temperature": float(sel.kinetic_temperature),
                "integral": float(sel.integral),
                "n_atoms": int(sel.n_atoms),
                "mass": float(sel.mass),
                "temperature": float(t_use),
                "Cv": float(heat_capacity(nu, g, t_use)),
                "S_vib": float(vibrational_entropy(nu, g, t_use)),
            }
        )
        out["species" if name in ds.species.values else "groups"][name] = entry
    return out
