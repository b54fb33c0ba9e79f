"""A precomputed EPG dictionary over T2 × B1 and fast matching of voxel echo trains to it."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from ..errors import AcquisitionError
from .epg import cpmg_echo_train

__all__ = ["EPGDictionary"]


def _uniform_spacing(echo_times_ms: np.ndarray) -> float:
    te = np.asarray(echo_times_ms, dtype=np.float64)
    spacing = te[0]
    expected = spacing * np.arange(1, len(te) + 1)
    if not np.allclose(te, expected, rtol=1e-3, atol=1e-3):
        raise AcquisitionError(
            f"echo times {te.tolist()} ms are not k × echo spacing (expected "
            f"{expected[:4].tolist()} …); the EPG model needs a uniform CPMG train"
        )
    return float(spacing)


@dataclass(frozen=True, eq=False)
class EPGDictionary:
    """CPMG echo trains on a grid of T2 (log-spaced) × B1 (uniform), for one protocol.

    Build it once with :meth:`build` and pass it to :func:`~discmri.relaxometry.fit_t2` to reuse
    it across volumes of the same protocol.

    Attributes
    ----------
    echo_times_ms : (m,) ndarray
    t2_grid : (n_t2,) ndarray
        ms, log-spaced.
    b1_grid : (n_b1,) ndarray
        Uniform; the largest value makes the refocusing angle 180°, because B1 = b and
        ``360°/α − b`` give the same echo train.
    atoms : (n_b1, n_t2, m) float32 ndarray
        Echo amplitudes per unit magnetization.
    t1_ms, refocusing_deg : float
    """

    echo_times_ms: np.ndarray
    t2_grid: np.ndarray
    b1_grid: np.ndarray
    atoms: np.ndarray
    t1_ms: float
    refocusing_deg: float
    _unit: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        echo_times_ms: np.ndarray,
        *,
        t1_ms: float = 1000.0,
        refocusing_deg: float = 180.0,
        t2_range_ms: tuple[float, float] = (5.0, 3000.0),
        n_t2: int = 400,
        b1_min: float = 0.4,
        b1_step: float = 0.005,
    ) -> EPGDictionary:
        """Simulate the dictionary for a protocol (about a second for the defaults).

        Parameters
        ----------
        echo_times_ms : (m,) array_like
            Must be k × echo spacing, k = 1 … m.
        t1_ms : float
            T1 used for stimulated echoes (its influence is small).
        refocusing_deg : float
            Nominal refocusing angle.
        t2_range_ms : (float, float)
            Grid limits; fits at the limits are reported out of range.
        n_t2 : int
            Number of T2 values (log-spaced).
        b1_min, b1_step : float
            B1 grid from ``b1_min`` to ``180 / refocusing_deg``.
        """
        te = np.asarray(echo_times_ms, dtype=np.float64)
        spacing = _uniform_spacing(te)
        t2 = np.geomspace(t2_range_ms[0], t2_range_ms[1], n_t2)
        b1_max = 180.0 / refocusing_deg
        b1 = np.arange(b1_min, b1_max + b1_step / 2, b1_step)
        atoms = cpmg_echo_train(t2[None, :], b1[:, None], echo_spacing_ms=spacing,
                                n_echoes=len(te), t1_ms=t1_ms, refocusing_deg=refocusing_deg)
        arrays = [te, t2, b1, atoms.astype(np.float32)]
        for a in arrays:  # shared between fits (see :meth:`cached`): nobody may change it
            a.flags.writeable = False
        return cls(*arrays, float(t1_ms), float(refocusing_deg))

    @classmethod
    def cached(cls, echo_times_ms: np.ndarray, **settings: float) -> EPGDictionary:
        """The dictionary of a protocol, built once per process and reused.

        Keyed by the echo times and every setting of :meth:`build` (T1, refocusing angle, T2
        range and count, B1 grid); at most 16 protocols are kept. Building takes about half a
        second, as long as fitting 200,000 voxels, so a dataset of one protocol builds it once
        per worker.
        """
        te = tuple(round(float(t), 6) for t in np.asarray(echo_times_ms, dtype=np.float64))
        return _cached_dictionary(te, tuple(sorted(settings.items())))

    def _normalized(self, power: bool) -> tuple[np.ndarray, np.ndarray]:
        if power not in self._unit:
            d = self.atoms.astype(np.float64) ** (2 if power else 1)
            norm = np.linalg.norm(d, axis=-1)
            self._unit[power] = ((d / norm[..., None]).astype(np.float32), norm)
        return self._unit[power]

    def match(
        self, signal: np.ndarray, *, power: bool = False, b1: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Best-matching (T2, B1, M0) for each row of ``signal``.

        The match maximizes the projection of the echo train on the unit-norm atom (M0 is the
        free scale). B1 free: a coarse search over every 10th B1 and 8th T2, two finer local
        searches, then a parabolic fit of the score along each axis for sub-grid values. B1
        given: the nearest B1 row, all T2, and the parabolic step along T2.

        Parameters
        ----------
        signal : (n, m) ndarray
        power : bool
            Match squared atoms to power data ``M² − 2σ²`` (noise-floor correction).
        b1 : (n,) ndarray, optional
            Known B1 per voxel.

        Returns
        -------
        dict
            ``t2`` (ms), ``b1``, ``m0``, ``prediction`` (n, m) and ``edge`` (bool: the best atom
            is at the T2 grid limit, or the B1 lower limit).
        """
        unit, norm = self._normalized(power)
        s = np.asarray(signal, dtype=np.float32)
        n = len(s)
        nb, nt, _ = unit.shape
        if b1 is None:
            rows = np.arange(0, nb, 10)
            cols = np.arange(0, nt, 8)
            coarse = unit[rows][:, cols].reshape(-1, unit.shape[-1])
            best = np.argmax(s @ coarse.T, axis=1)
            ib, it = rows[best // len(cols)], cols[best % len(cols)]
            for step_b, step_t, reach_b, reach_t in ((5, 4, 2, 2), (1, 1, 3, 2)):
                ib, it = self._local(s, unit, ib, it, step_b, step_t, reach_b, reach_t)
        else:
            ib = np.clip(np.rint((np.asarray(b1, float) - self.b1_grid[0])
                                 / (self.b1_grid[1] - self.b1_grid[0])), 0, nb - 1).astype(int)
            it = np.empty(n, int)
            for row in np.unique(ib):
                sel = ib == row
                it[sel] = np.argmax(s[sel] @ unit[row].T, axis=1)
        score = lambda i, j: np.einsum("nm,nm->n", s, unit[i, j])  # noqa: E731
        dt = self._parabola(score, ib, it, axis=1, size=nt)
        if b1 is None:
            db = self._parabola(score, ib, it, axis=0, size=nb)
            b1_out = self.b1_grid[ib] + db * (self.b1_grid[1] - self.b1_grid[0])
        else:
            b1_out = np.asarray(b1, float)
        proj = score(ib, it).astype(np.float64)
        m0 = proj / norm[ib, it]
        log_t2 = np.log(self.t2_grid)
        t2 = np.exp(log_t2[it] + dt * (log_t2[1] - log_t2[0]))
        prediction = m0[:, None] * (self.atoms[ib, it].astype(np.float64) ** (2 if power else 1))
        if power:
            m0 = np.sqrt(np.maximum(m0, 0.0))
        edge = (it == 0) | (it == nt - 1) | ((ib == 0) if b1 is None else False)
        return {"t2": t2, "b1": b1_out, "m0": m0, "prediction": prediction, "edge": edge}

    @staticmethod
    def _local(s, unit, ib, it, step_b, step_t, reach_b, reach_t):
        nb, nt, m = unit.shape
        ob = np.arange(-reach_b, reach_b + 1) * step_b
        ot = np.arange(-reach_t, reach_t + 1) * step_t
        cand_b = np.clip(ib[:, None, None] + ob[None, :, None], 0, nb - 1)
        cand_t = np.clip(it[:, None, None] + ot[None, None, :], 0, nt - 1)
        cand_b, cand_t = np.broadcast_arrays(cand_b, cand_t)
        cand_b = cand_b.reshape(len(s), -1)
        cand_t = cand_t.reshape(len(s), -1)
        atoms = unit[cand_b, cand_t]  # (n, k, m)
        scores = (atoms * s[:, None, :]).sum(axis=-1)
        best = np.argmax(scores, axis=1)
        pick = np.arange(len(s))
        return cand_b[pick, best], cand_t[pick, best]

    @staticmethod
    def _parabola(score, ib, it, *, axis, size):
        idx = it if axis == 1 else ib
        lo, hi = np.maximum(idx - 1, 0), np.minimum(idx + 1, size - 1)
        if axis == 1:
            s_lo, s0, s_hi = score(ib, lo), score(ib, it), score(ib, hi)
        else:
            s_lo, s0, s_hi = score(lo, it), score(ib, it), score(hi, it)
        curv = s_lo - 2 * s0 + s_hi
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = np.where(curv < 0, 0.5 * (s_lo - s_hi) / curv, 0.0)
        inner = (idx > 0) & (idx < size - 1)
        return np.where(inner, np.clip(delta, -0.5, 0.5), 0.0)


@functools.lru_cache(maxsize=16)
def _cached_dictionary(te: tuple[float, ...], settings: tuple) -> EPGDictionary:
    return EPGDictionary.build(np.array(te), **dict(settings))
