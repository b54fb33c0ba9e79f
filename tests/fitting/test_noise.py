import numpy as np
import pytest

from discmri.errors import DiscMRIError
from discmri.fitting import estimate_noise_sigma


def test_sigma_from_explicit_background(rng):
    sigma = 7.0
    noise = np.hypot(rng.normal(0, sigma, (40, 40, 5, 8)), rng.normal(0, sigma, (40, 40, 5, 8)))
    bg = np.ones((40, 40, 5), bool)
    assert estimate_noise_sigma(noise, background=bg) == pytest.approx(sigma, rel=0.01)


def test_sigma_found_automatically_when_background_is_not_the_commonest_intensity(session_sim,
                                                                                  fast_protocol):
    """The phantom's MESE: air is ~10 % of voxels, muscle is commoner and also dark."""
    s = session_sim.mese.data
    true = fast_protocol.scale / fast_protocol.mese_snr
    assert estimate_noise_sigma(s) == pytest.approx(true, rel=0.03)


def test_no_background_is_an_error(rng):
    with pytest.raises(DiscMRIError, match="background"):
        estimate_noise_sigma(rng.uniform(100, 200, (10, 10, 10, 4)),
                             background=np.zeros((10, 10, 10), bool))
