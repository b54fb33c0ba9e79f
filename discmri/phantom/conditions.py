"""Imaging conditions for testing segmentation: the range of real sagittal T2w images.

Each condition is a phantom with the tissues around the column (``surroundings``) under one
departure from a base protocol (SNR 25, bias field 0.2, 1 mm in-plane, 4 mm slices, mixed
marrow, a pitch of 4°): lower and higher SNR, finer pixels, thinner slices, red and fatty
marrow, degenerated discs (grades 5–8), more lordosis, a rolled and turned patient, an oblique
acquisition, and a wide slab with slices beyond the spine (REFERENCE.md §7).
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import numpy as np

from ..errors import ParameterError
from .anatomy import DiscState, random_anatomy
from .grid import Pose, rotation_matrix
from .session import Protocol, SimulatedSession, simulate_session
from .tissue import MARROWS

__all__ = ["SEGMENTATION_CONDITIONS", "segmentation_phantom"]

_BASE = MappingProxyType(dict(
    slab_mm=32.0, t2w_voxel_mm=(4.0, 1.0, 1.0), mese_voxel_mm=None, dwi_voxel_mm=None,
    bias=0.2, t2w_subsample_mm=(1.0, 0.25, 0.25), si_margin_mm=35.0, t2w_snr=25.0))
#: Mixed degeneration of the base: a cleft disc, a grade-4/5 disc and two collapsing ones.
MIXED = MappingProxyType({"L2-L3": DiscState(2.0), "L3-L4": DiscState(4.5),
                          "L4-L5": DiscState(6.5), "L5-S1": DiscState(7.6)})
_DEGENERATED = MappingProxyType({
    "T12-L1": DiscState(5.0), "L1-L2": DiscState(5.5), "L2-L3": DiscState(6.0),
    "L3-L4": DiscState(6.8), "L4-L5": DiscState(7.5), "L5-S1": DiscState(8.0)})


def _pose(roll: float = 0.0, yaw: float = 0.0, pitch: float = 4.0) -> Pose:
    r = (rotation_matrix((0, 1, 0), roll) @ rotation_matrix((0, 0, 1), yaw)
         @ rotation_matrix((1, 0, 0), pitch))
    return Pose(r, np.zeros(3))


#: name → (protocol changes, anatomy changes, pose angles (roll, yaw, pitch) in degrees).
SEGMENTATION_CONDITIONS = MappingProxyType({
    "base": ({}, {}, (0.0, 0.0, 4.0)),
    "snr15": ({"t2w_snr": 15.0}, {}, (0.0, 0.0, 4.0)),
    "snr50": ({"t2w_snr": 50.0}, {}, (0.0, 0.0, 4.0)),
    "inplane0.5": ({"t2w_voxel_mm": (4.0, 0.5, 0.5), "t2w_subsample_mm": (1.0, 0.125, 0.125)},
                   {}, (0.0, 0.0, 4.0)),
    "inplane0.7": ({"t2w_voxel_mm": (4.0, 0.7, 0.7), "t2w_subsample_mm": (1.0, 0.175, 0.175)},
                   {}, (0.0, 0.0, 4.0)),
    "slices3": ({"t2w_voxel_mm": (3.0, 1.0, 1.0)}, {}, (0.0, 0.0, 4.0)),
    "red-marrow": ({}, {"marrow": "red"}, (0.0, 0.0, 4.0)),
    "fatty-marrow": ({}, {"marrow": "fatty"}, (0.0, 0.0, 4.0)),
    "degenerated": ({}, {"states": "degenerated"}, (0.0, 0.0, 4.0)),
    "lordosis": ({}, {"sacral_slope_deg": 52.0}, (0.0, 0.0, -8.0)),
    "roll-yaw": ({}, {}, (6.0, 6.0, 4.0)),
    "oblique": ({"oblique_deg": 15.0}, {}, (0.0, 0.0, 4.0)),
    "wide-slab": ({"slab_mm": 72.0}, {}, (0.0, 0.0, 4.0)),
})


def segmentation_phantom(condition: str, seed: int) -> SimulatedSession:
    """A T2w session (no MESE, no DWI) of one condition of :data:`SEGMENTATION_CONDITIONS`.

    Parameters
    ----------
    condition : str
    seed : int
        Seeds the anatomy and the noise.

    Returns
    -------
    SimulatedSession
    """
    if condition not in SEGMENTATION_CONDITIONS:
        raise ParameterError(f"condition {condition!r}: expected one of "
                             f"{', '.join(SEGMENTATION_CONDITIONS)}")
    proto, anat, (roll, yaw, pitch) = SEGMENTATION_CONDITIONS[condition]
    states = _DEGENERATED if anat.get("states") == "degenerated" else MIXED
    changes = {k: v for k, v in anat.items() if k != "states"}
    if "marrow" in changes:
        changes["marrow"] = MARROWS[changes["marrow"]]
    anatomy = random_anatomy(np.random.default_rng(seed)).with_states(dict(states))
    anatomy = replace(anatomy, surroundings=True, **changes)
    return simulate_session(anatomy, rng=np.random.default_rng(seed),
                            protocol=Protocol(**{**_BASE, **proto}), pose=_pose(roll, yaw, pitch))
