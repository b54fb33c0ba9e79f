"""MR signal models of the phantom: T2w FSE, multi-echo spin echo, diffusion, noise, bias.

Signal scale: a tissue of proton density 1 with full T1 recovery and no T2 decay gives 1.
Noise ``sigma`` is on that scale, so ``snr = 1 / sigma`` is the SNR of such a tissue; a
tissue's own SNR at a given echo is its signal divided by ``sigma``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .grid import Grid
from .render import Mixture

__all__ = ["BiasField", "dwi", "mese", "rician", "spin_echo_weights", "t2w_fse"]


def spin_echo_weights(
    mixture: Mixture, echo_times_ms: Sequence[float] | np.ndarray, tr_ms: float
) -> np.ndarray:
    """Per-tissue spin-echo signal ``PD·(1 − e^(−TR/T1))·e^(−TE/T2)``, (n_tissues, n_echoes)."""
    te = np.atleast_1d(np.asarray(echo_times_ms, dtype=np.float64))
    pd = np.array([t.pd for t in mixture.tissues])
    t1 = np.array([t.t1_ms for t in mixture.tissues])
    t2 = np.array([t.t2_ms for t in mixture.tissues])
    return (pd * (1.0 - np.exp(-tr_ms / t1)))[:, None] * np.exp(-te[None, :] / t2[:, None])


def t2w_fse(mixture: Mixture, *, tr_ms: float = 4000.0, te_ms: float = 100.0) -> np.ndarray:
    """Noise-free T2-weighted fast spin echo image (effective TE), (X, Y, Z) float32."""
    return mixture.combine(spin_echo_weights(mixture, [te_ms], tr_ms)[:, 0])


def mese(
    mixture: Mixture,
    echo_times_ms: Sequence[float] | np.ndarray,
    *,
    tr_ms: float = 2000.0,
    b1: float | np.ndarray | None = None,
    refocusing_deg: float = 180.0,
    b1_resolution: float = 0.002,
) -> np.ndarray:
    """Noise-free multi-echo spin-echo series.

    Without ``b1`` every tissue decays mono-exponentially (ideal refocusing). With ``b1`` the
    echo train of each tissue is the CPMG extended phase graph with refocusing angle
    ``refocusing_deg × B1`` (:func:`discmri.relaxometry.cpmg_echo_train`, with the tissue's T1
    and T2), so stimulated echoes appear; echo times must then be k × the echo spacing.
    Partial-volume voxels are sums over their tissues, as in real data.

    Parameters
    ----------
    mixture : Mixture
    echo_times_ms : (n_echoes,) array_like
    tr_ms : float
    b1 : float or (X, Y, Z) ndarray, optional
        Transmit field scale, uniform or per voxel (a map is binned at ``b1_resolution``).
    refocusing_deg : float
        Nominal refocusing angle.
    b1_resolution : float
        Bin width of a B1 map.

    Returns
    -------
    (X, Y, Z, n_echoes) float32 ndarray
    """
    te = np.asarray(echo_times_ms, dtype=np.float64)
    if b1 is None:
        return mixture.combine(spin_echo_weights(mixture, te, tr_ms))
    from ..relaxometry.epg import cpmg_echo_train

    spacing = te[0]
    if not np.allclose(te, spacing * np.arange(1, len(te) + 1)):
        raise ParameterError(f"echo times {te.tolist()} are not k x echo spacing; EPG needs that")
    pd = np.array([t.pd for t in mixture.tissues])
    t1 = np.array([t.t1_ms for t in mixture.tissues])
    t2 = np.array([t.t2_ms for t in mixture.tissues])
    recovery = pd * (1.0 - np.exp(-tr_ms / t1))
    b1_map = np.broadcast_to(np.asarray(b1, dtype=np.float64), mixture.grid.shape).ravel()
    bins = np.rint(b1_map / b1_resolution).astype(np.int64)
    out = np.empty((mixture.grid.size, len(te)), np.float32)
    for value in np.unique(bins):
        rows = np.flatnonzero(bins == value)
        trains = np.stack([cpmg_echo_train(t2[i], value * b1_resolution, echo_spacing_ms=spacing,
                                           n_echoes=len(te), t1_ms=t1[i],
                                           refocusing_deg=refocusing_deg)
                           for i in range(len(t2))])
        out[rows] = mixture.fractions[rows] @ (recovery[:, None] * trains)
    return out.reshape(*mixture.grid.shape, len(te))


def dwi(
    mixture: Mixture,
    bvals: Sequence[float] | np.ndarray,
    bvecs_world: np.ndarray,
    *,
    fibre_axis_world: Sequence[float] = (1.0, 0.0, 0.0),
    tr_ms: float = 3000.0,
    te_ms: float = 70.0,
) -> np.ndarray:
    """Noise-free diffusion-weighted series ``S0·exp(−b·gᵀDg)`` per tissue.

    Isotropic tissues have ``D = ADC·I``; anisotropic ones (the annulus) an axially
    symmetric tensor about ``fibre_axis_world``:
    ``gᵀDg = MD·(1 + a·(3(g·u)² − 1))``. Over three orthogonal directions the geometric mean
    of the signal is ``S0·exp(−b·MD)``, so trace ADC recovers the mean diffusivity.

    Parameters
    ----------
    mixture : Mixture
    bvals : (n,) array_like
        s/mm².
    bvecs_world : (n, 3) ndarray
        Gradient directions in scanner (RAS+) space (any for b = 0).
    fibre_axis_world : (3,) array_like
        Fibre direction of anisotropic tissues in scanner space (the body's left-right axis
        rotated by the patient's pose).
    tr_ms, te_ms : float
        Repetition and echo time of the b = 0 image.

    Returns
    -------
    (X, Y, Z, n) float32 ndarray
    """
    b = np.asarray(bvals, dtype=np.float64)
    g = np.asarray(bvecs_world, dtype=np.float64)
    if g.shape != (len(b), 3):
        raise ParameterError(f"bvecs_world has shape {g.shape}, expected ({len(b)}, 3)")
    u = np.asarray(fibre_axis_world, dtype=np.float64)
    u = u / np.linalg.norm(u)
    s0 = spin_echo_weights(mixture, [te_ms], tr_ms)[:, 0]
    md = np.array([t.adc_mm2_s for t in mixture.tissues])
    a = np.array([t.anisotropy for t in mixture.tissues])
    cos2 = (g @ u) ** 2  # zero-length b = 0 vectors give 0, harmless since b = 0
    gdg = md[:, None] * (1.0 + a[:, None] * (3.0 * cos2[None, :] - 1.0))
    return mixture.combine(s0[:, None] * np.exp(-gdg * b[None, :]))


def rician(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of the signal plus complex Gaussian noise of SD ``sigma`` per channel.

    Returns
    -------
    ndarray
        ``|signal + n1 + i·n2|`` in float32.
    """
    s = np.asarray(signal, dtype=np.float32)
    real = s + rng.normal(0.0, sigma, s.shape).astype(np.float32)
    imag = rng.normal(0.0, sigma, s.shape).astype(np.float32)
    return np.hypot(real, imag)


@dataclass(frozen=True)
class BiasField:
    """Smooth multiplicative intensity field ``exp(P(r))`` of the scanner position r.

    P is a quadratic polynomial, so every grid of a session sees the same field.

    Parameters
    ----------
    coefficients : (9,) ndarray
        Of x, y, z, xy, yz, xz, x², y², z² in normalized coordinates ``(r − center) / scale``.
    center : (3,) ndarray
        mm.
    scale_mm : float
        Normalization length, mm.
    """

    coefficients: np.ndarray
    center: np.ndarray
    scale_mm: float

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        strength: float,
        center: Sequence[float],
        scale_mm: float = 150.0,
    ) -> BiasField:
        """Draw a field whose log deviates at most ``log(1 + strength)`` near the centre.

        The bound holds within ``scale_mm`` of ``center``; 0 strength gives a field of ones.
        """
        coef = rng.normal(0.0, 1.0, 9)
        # bound of |P| over the unit cube: sum of |coefficients| (all terms lie in [-1, 1])
        bound = np.abs(coef).sum()
        coef *= np.log1p(max(strength, 0.0)) / bound
        return cls(coef, np.asarray(center, dtype=np.float64), float(scale_mm))

    def __call__(self, world: np.ndarray) -> np.ndarray:
        """Field values at scanner points (..., 3)."""
        x, y, z = np.moveaxis((np.asarray(world) - self.center) / self.scale_mm, -1, 0)
        terms = (x, y, z, x * y, y * z, x * z, x * x, y * y, z * z)
        return np.exp(sum(c * t for c, t in zip(self.coefficients, terms, strict=True)))

    def on(self, grid: Grid) -> np.ndarray:
        """Field sampled at the voxel centres of a grid, (X, Y, Z) float32."""
        return self(grid.points(np.arange(grid.size))).reshape(grid.shape).astype(np.float32)
