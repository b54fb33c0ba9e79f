"""Spoiled label maps: each spoil changes the discs the way its name says, nothing else."""

import numpy as np
import pytest

from discmri.errors import ParameterError
from discmri.phantom.spoil import SPOILS, spoil_labels


def _column():
    """A sagittal column: bodies 20 and 21 above and below disc 120 (annulus) / 220 (nucleus)."""
    lab = np.zeros((5, 20, 30), np.int16)
    lab[:, 2:18, 0:10] = 21
    lab[:, 2:18, 10:16] = 120
    lab[:, 6:14, 12:14] = 220
    lab[:, 2:18, 16:26] = 20
    return lab


def test_grow_takes_one_voxel_from_each_body_and_shrink_frees_one():
    lab = _column()
    disc = (lab >= 100).sum()
    grown = spoil_labels(lab, "grow")
    # one voxel row more above and below (16 AP voxels × 5 slices each), only from the bodies
    assert (grown >= 100).sum() == disc + 2 * 16 * 5
    assert ((lab == 0) == (grown == 0)).all()
    assert (grown[lab >= 100] == lab[lab >= 100]).all()
    shrunk = spoil_labels(lab, "shrink")
    assert (shrunk[lab < 100] == lab[lab < 100]).all()
    # the disc loses its outer ring in-plane: 16 × 6 → 14 × 4 per slice
    assert (shrunk >= 100).sum() == 14 * 4 * 5
    assert ((shrunk == 0) & (lab >= 100)).sum() == disc - 14 * 4 * 5


def test_jagged_smooth_and_dropped_slice():
    lab = _column()
    rng = np.random.default_rng(0)
    jag = spoil_labels(lab, "jagged", rng=rng)
    changed = jag != lab
    # only boundary voxels between disc and bodies change, and a fair share of them does
    boundary = np.zeros_like(changed)
    boundary[:, 2:18, [9, 10, 15, 16]] = True
    assert changed.any() and not (changed & ~boundary).any()
    assert 0.15 < changed[boundary].mean() < 0.45
    smooth = spoil_labels(lab, "smooth")
    assert smooth[2, 2, 10] == 0 and smooth[2, 10, 13] == 220  # corner rounded, centre kept
    dropped = spoil_labels(lab, "drop_edge_slice")
    assert not (dropped[[0, 4]] >= 100).any() and (dropped[1:4] == lab[1:4]).all()


def test_unknown_spoil_and_missing_rng_are_refused():
    with pytest.raises(ParameterError, match="expected one of"):
        spoil_labels(_column(), "blur")
    with pytest.raises(ParameterError, match="rng"):
        spoil_labels(_column(), "jagged")
    assert set(SPOILS) == {"grow", "shrink", "jagged", "smooth", "drop_edge_slice"}
