"""Shared fixtures: seeded phantom data at reduced size, so the suite stays fast."""

from __future__ import annotations

import os

# Two test workers share two cores: a BLAS that starts a thread per core in each of them
# oversubscribes the machine, and small products such as (N, 3) @ (3, 3), which the phantom
# computes for every voxel, run 10-20 times slower. Set before NumPy loads its BLAS; a value
# the caller set stands.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import pytest

from discmri.phantom.anatomy import DiscState, random_anatomy
from discmri.phantom.cohort import make_cohort
from discmri.phantom.grid import Pose
from discmri.phantom.session import Protocol, simulate_session

#: A coarse protocol for tests that need whole sessions but not fine voxels.
FAST = Protocol(
    slab_mm=12.0,
    t2w_voxel_mm=(4.0, 1.5, 1.5),
    mese_voxel_mm=(4.0, 2.0, 2.0),
    echo_times_ms=(12.0, 24.0, 36.0, 48.0, 60.0, 72.0),
    dwi_voxel_mm=(4.0, 2.5, 2.5),
    bias=0.1,
    scale=400.0,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def fast_protocol() -> Protocol:
    return FAST


@pytest.fixture(scope="session")
def session_sim():
    """One simulated session with mixed degeneration, rotated 4° in the scanner."""
    anatomy = random_anatomy(np.random.default_rng(7))
    anatomy = anatomy.with_states(
        {"L3-L4": DiscState(2.0), "L4-L5": DiscState(4.6), "L5-S1": DiscState(6.8, 0.3)}
    )
    return simulate_session(anatomy, rng=np.random.default_rng(8), protocol=FAST,
                            pose=Pose.sagittal(4.0, (1.0, -3.0, 5.0)))


@pytest.fixture(scope="session")
def cohort_root(tmp_path_factory, worker_id):
    """A small cohort (3 participants, visits 0 and 6, no dropout) written once per run.

    Under pytest-xdist the workers share one copy (the first to take the lock writes it into
    the run's common temporary folder); tests only read it or copy it.
    """
    if worker_id == "master":
        root = tmp_path_factory.mktemp("cohort") / "ds"
        make_cohort(root, participants=3, seed=3, visits_months=(0, 6), dropout=0.0,
                    protocol=FAST)
        return root
    import fcntl

    shared = tmp_path_factory.getbasetemp().parent
    root = shared / "cohort" / "ds"
    with open(shared / "cohort.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not root.exists():
                root.parent.mkdir(parents=True, exist_ok=True)
                make_cohort(root, participants=3, seed=3, visits_months=(0, 6), dropout=0.0,
                            protocol=FAST)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return root


#: Mixed degeneration used by the morphometry and region tests (one cleft disc, one collapsed).
MIXED_STATES = {"L2-L3": DiscState(1.0), "L3-L4": DiscState(2.0), "L4-L5": DiscState(4.5),
                "L5-S1": DiscState(6.8)}

#: Issue #5 accuracy conditions: 0.6 mm in-plane, 4 mm slices, SNR 30 (T2w), and variants
#: (the names are listed again in tests/morphometry/test_measure.py).
MORPHOMETRY_CONDITIONS = {
    "axial-aligned": (Protocol(t2w_snr=30.0), Pose.identity()),
    "rotated-15deg": (Protocol(t2w_snr=30.0, mese_voxel_mm=None, dwi_voxel_mm=None),
                      Pose.sagittal(15.0, (0.0, 4.0, -6.0))),
    "oblique-affine": (Protocol(t2w_snr=30.0, oblique_deg=20.0, mese_voxel_mm=None,
                                dwi_voxel_mm=None), Pose.sagittal(-6.0)),
    "1mm-in-plane": (Protocol(t2w_snr=30.0, t2w_voxel_mm=(4.0, 1.0, 1.0), slab_mm=64.0,
                              mese_voxel_mm=None, dwi_voxel_mm=None), Pose.sagittal(5.0)),
}


@pytest.fixture(scope="session")
def morphometry_session():
    """Simulated sessions for the morphometry conditions, made on first use and kept."""
    cache = {}

    def get(condition: str):
        if condition not in cache:
            protocol, pose = MORPHOMETRY_CONDITIONS[condition]
            seed = sorted(MORPHOMETRY_CONDITIONS).index(condition)
            anatomy = random_anatomy(np.random.default_rng(100 + seed)).with_states(
                MIXED_STATES)
            cache[condition] = simulate_session(
                anatomy, rng=np.random.default_rng(200 + seed), protocol=protocol, pose=pose)
        return cache[condition]

    return get


@pytest.fixture(scope="session")
def spineps_sample():
    """The real SPINEPS sample the test extra brings (TPTBox): a cervical T2w crop at 1.5 mm,
    its vertebra/disc map and its subregion map, as (image, vertebrae, subregions)."""
    import importlib.util
    from pathlib import Path

    from discmri.io import load_volume

    spec = importlib.util.find_spec("TPTBox")
    assert spec is not None, "the test extra installs TPTBox, whose sample this is"
    folder = Path(spec.submodule_search_locations[0]) / "tests" / "sample_mri"
    image = load_volume(folder / "sub-mri_label-6_T2w.nii.gz")
    vert = load_volume(folder / "sub-mri_seg-vert_label-6_msk.nii.gz").data.astype(int)
    sub = load_volume(folder / "sub-mri_seg-subreg_label-6_msk.nii.gz").data.astype(int)
    return image, vert, sub
