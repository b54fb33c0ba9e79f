"""Diffusion: ADC (and IVIM) maps from diffusion-weighted images."""

from .adc import METHODS, STATUS, ADCFit, fit_adc
from .shells import Shells, group_shells

__all__ = [
    "METHODS",
    "STATUS",
    "ADCFit",
    "Shells",
    "fit_adc",
    "group_shells",
]
