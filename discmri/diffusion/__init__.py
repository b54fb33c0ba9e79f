"""Diffusion: ADC (and IVIM) maps from diffusion-weighted images."""

from .adc import METHODS, STATUS, ADCFit, fit_adc
from .outputs import adc_map_files, adc_output_names, write_adc_maps
from .shells import Shells, group_shells

__all__ = [
    "METHODS",
    "STATUS",
    "ADCFit",
    "Shells",
    "adc_map_files",
    "adc_output_names",
    "fit_adc",
    "group_shells",
    "write_adc_maps",
]
