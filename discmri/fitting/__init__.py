"""Vectorized solvers shared by relaxometry and diffusion."""

from .chunks import fit_in_chunks
from .exponential import loglinear, loglinear_iterated, varpro_newton
from .noise import estimate_noise_sigma

__all__ = [
    "estimate_noise_sigma",
    "fit_in_chunks",
    "loglinear",
    "loglinear_iterated",
    "varpro_newton",
]
