"""T2 maps on the phantom's multi-echo images against its truth map."""

from dataclasses import replace

import numpy as np
import pytest

from discmri.phantom import Pose, random_anatomy, simulate_session
from discmri.phantom.anatomy import DiscState
from discmri.relaxometry import fit_t2

BASE = dict(slab_mm=8.0, t2w_voxel_mm=(4.0, 3.0, 3.0), dwi_voxel_mm=None,
            mese_voxel_mm=(4.0, 1.2, 1.2), echo_times_ms=tuple(10.0 * k for k in range(1, 17)),
            mese_snr=100.0, scale=1000.0)


def session(protocol_changes, seed=3):
    from discmri.phantom import Protocol

    anatomy = random_anatomy(np.random.default_rng(seed)).with_states(
        {"L3-L4": DiscState(1.2), "L4-L5": DiscState(3.0), "L5-S1": DiscState(4.5)})
    return simulate_session(anatomy, rng=np.random.default_rng(seed + 1),
                            protocol=replace(Protocol(**BASE), **protocol_changes),
                            pose=Pose.sagittal(6.0))


def pure_nucleus(sim, level, cranial):
    """Voxels entirely of nucleus tissue: their truth T2 equals the nucleus T2 exactly."""
    t2 = sim.truth.set_index("level").loc[level, "np_t2_ms"]
    pure = (sim.mese_labels.data == 200 + cranial) & (np.abs(sim.t2_truth.data - t2) < 1e-3)
    return pure, t2


@pytest.fixture(scope="module")
def ideal():
    return session({})


@pytest.fixture(scope="module")
def stimulated():
    return session({"mese_b1": 0.8, "mese_b1_variation": 0.05, "mese_refocusing_deg": 180.0})


@pytest.mark.parametrize(("level", "cranial"), [("L3-L4", 22), ("L4-L5", 23), ("L5-S1", 24)])
def test_nucleus_t2_matches_truth(ideal, level, cranial):
    te = ideal.mese.meta["echo_times_ms"]
    fit = fit_t2(ideal.mese.data, te, mask=ideal.mese_labels.data > 0, noise_sigma="auto")
    pure, t2 = pure_nucleus(ideal, level, cranial)
    assert pure.sum() >= 20
    err = fit.t2[pure] / t2 - 1
    assert abs(np.median(err)) < 0.01 and np.median(np.abs(err)) < 0.03
    assert fit.noise_sigma == pytest.approx(1000 / 100, rel=0.03)


def test_the_t2_map_follows_the_truth_map_across_the_disc(ideal):
    """Inside every disc (pure voxels of any disc tissue), median |ΔT2| / T2 < 3 %."""
    te = ideal.mese.meta["echo_times_ms"]
    lab = ideal.mese_labels.data
    fit = fit_t2(ideal.mese.data, te, mask=lab > 0, noise_sigma="auto")
    truth = ideal.t2_truth.data
    tissue_values = np.unique(np.concatenate([ideal.truth.np_t2_ms, ideal.truth.af_t2_ms]))
    pure = (lab >= 100) & (lab < 300) & np.isin(np.round(truth, 3), np.round(tissue_values, 3))
    assert pure.sum() > 500
    assert np.nanmedian(np.abs(fit.t2[pure] / truth[pure] - 1)) < 0.03


def test_stimulated_echoes_need_the_epg_model(stimulated):
    te = stimulated.mese.meta["echo_times_ms"]
    mask = stimulated.mese_labels.data > 0
    epg = fit_t2(stimulated.mese.data, te, mask=mask, method="epg", noise_sigma="auto")
    mono = fit_t2(stimulated.mese.data, te, mask=mask, method="nlls", noise_sigma="auto")
    for level, cranial in (("L3-L4", 22), ("L4-L5", 23)):
        pure, t2 = pure_nucleus(stimulated, level, cranial)
        assert np.median(np.abs(epg.t2[pure] / t2 - 1)) < 0.03
        assert np.median(mono.t2[pure] / t2 - 1) > 0.05
        b1_true = stimulated.b1_truth.data[pure]
        assert np.median(np.abs(epg.b1[pure] - b1_true)) < 0.05
