"""Phantom spines for the grading tests: one disc of seven of the eight Griffith grades each."""

import numpy as np
import pytest

from discmri.grading import suggest_grades
from discmri.measure import measure
from discmri.phantom import (
    DiscState,
    Pose,
    Protocol,
    random_anatomy,
    rotation_matrix,
    simulate_session,
)


def _graded_spines(first_seed: int, **anatomy):
    """(session, measurement, suggestions) of three spines at SNR 20, 30 and 50.

    Each spine has seven of the eight Griffith grades (within 0.3 of the grade's centre)
    shuffled over its levels, a bias field, and the second is rolled 8° and tilted 5°;
    ``anatomy`` goes to :func:`~discmri.phantom.random_anatomy`.
    """
    out = []
    for seed, snr in enumerate((20.0, 30.0, 50.0)):
        rng = np.random.default_rng(first_seed + seed)
        spine = random_anatomy(rng, **anatomy)
        grades = rng.choice(np.arange(1, 9), 7, replace=False)
        spine = spine.with_states({
            name: DiscState(float(np.clip(g + rng.uniform(-0.3, 0.3), 1, 8)))
            for name, g in zip(spine.disc_names, grades, strict=True)})
        pose = (Pose(rotation_matrix((0, 0, 1), 8.0) @ rotation_matrix((1, 0, 0), 5.0),
                     np.zeros(3)) if seed % 2 else Pose.identity())
        sim = simulate_session(spine, rng=rng, pose=pose, protocol=Protocol(
            t2w_snr=snr, mese_voxel_mm=None, dwi_voxel_mm=None, bias=0.2, slab_mm=48.0))
        result = measure(sim.t2w, sim.labels)
        out.append((sim, result, suggest_grades(result, sim.t2w)))
    return out


@pytest.fixture(scope="session")
def graded_spines():
    """The function that simulates, measures and grades three phantom spines."""
    return _graded_spines
