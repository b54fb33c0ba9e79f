"""T2 relaxometry: mono-exponential, offset and stimulated-echo (EPG) fits."""

from .dictionary import EPGDictionary
from .epg import cpmg_echo_train
from .t2 import METHODS, STATUS, T2Fit, fit_t2

__all__ = [
    "METHODS",
    "STATUS",
    "EPGDictionary",
    "T2Fit",
    "cpmg_echo_train",
    "fit_t2",
]
