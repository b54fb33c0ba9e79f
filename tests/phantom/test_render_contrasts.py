import numpy as np
import pytest

from discmri.errors import DiscMRIError
from discmri.phantom.analytic import TISSUE_AIR, SpineGeometry
from discmri.phantom.anatomy import default_anatomy
from discmri.phantom.contrasts import BiasField, dwi, mese, rician, spin_echo_weights, t2w_fse
from discmri.phantom.grid import Grid
from discmri.phantom.render import render


@pytest.fixture(scope="module")
def mixture():
    geometry = SpineGeometry(default_anatomy())
    lo, hi = geometry.extent()
    grid = Grid.sagittal((12, 170, 120), (4.0, 1.2, 1.2), center=(0, 0, 40))
    return render(geometry, grid)


def test_fractions_are_a_partition(mixture):
    total = np.asarray(mixture.fractions.sum(axis=1)).ravel()
    np.testing.assert_allclose(total, 1.0, atol=1e-6)
    assert mixture.fractions.min() >= 0


def test_partial_volume_exists_only_at_boundaries(mixture):
    pure = np.asarray(mixture.fractions.max(axis=1).todense()).ravel() > 1 - 1e-9
    assert 0.5 < pure.mean() < 0.98


def test_mese_is_exponential_in_pure_voxels(mixture):
    te = np.array([10.0, 40.0, 80.0])
    signal = mese(mixture, te, tr_ms=2000.0).reshape(-1, 3)
    frac = mixture.fractions.tocsr()
    weights = spin_echo_weights(mixture, te, 2000.0)
    pure = np.flatnonzero(np.asarray(frac.max(axis=1).todense()).ravel() > 1 - 1e-9)
    tissue = np.asarray(frac[pure].argmax(axis=1)).ravel()
    np.testing.assert_allclose(signal[pure], weights[tissue], rtol=1e-5, atol=1e-7)


def test_dwi_trace_follows_mean_diffusivity_and_annulus_is_anisotropic(mixture):
    b = np.array([0.0, 1000.0, 1000.0, 1000.0])
    g = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]])
    s = dwi(mixture, b, g).reshape(-1, 4).astype(np.float64)
    md = mixture.parameter_map("adc_mm2_s").ravel()
    pure = np.asarray(mixture.fractions.max(axis=1).todense()).ravel() > 1 - 1e-9
    ok = pure & (s[:, 0] > 0.01)
    trace = np.log(s[ok, 0] / np.exp(np.log(s[ok, 1:]).mean(axis=1))) / 1000.0
    np.testing.assert_allclose(trace, md[ok], rtol=1e-4)
    annulus = [i for i, t in enumerate(mixture.tissues) if t.name == "annulus"]
    af = pure & (np.asarray(mixture.fractions[:, annulus].sum(axis=1)).ravel() > 1 - 1e-9)
    assert af.sum() > 10
    along = np.log(s[af, 0] / s[af, 1]) / 1000.0  # fibre axis: body x
    across = np.log(s[af, 0] / s[af, 2]) / 1000.0
    np.testing.assert_allclose(along, 1.5 * md[af], rtol=1e-4)  # λ∥ = MD (1 + 2·0.25)
    np.testing.assert_allclose(across, 0.75 * md[af], rtol=1e-4)  # λ⊥ = MD (1 − 0.25)
    with pytest.raises(DiscMRIError, match="bvecs_world"):
        dwi(mixture, b, np.zeros((2, 3)))


def test_parameter_maps_are_nan_only_in_air(mixture):
    t2 = mixture.parameter_map("t2_ms").ravel()
    air = np.asarray(mixture.fractions[:, TISSUE_AIR].todense()).ravel() > 1 - 1e-9
    assert air.any()
    assert np.isnan(t2[air]).all() and not np.isnan(t2[~air]).any()


def test_t2w_is_brightest_in_csf(mixture):
    img = t2w_fse(mixture)
    assert img[mixture.labels == 301].mean() > img[(mixture.labels >= 100)].mean()


def test_rician_noise_statistics(rng):
    sigma = 0.1
    zero = rician(np.zeros(200_000), sigma, rng)
    assert zero.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.01)
    high = rician(np.full(200_000, 2.0), sigma, rng)
    assert high.mean() == pytest.approx(np.sqrt(4 + sigma**2), rel=0.002)
    assert high.std() == pytest.approx(sigma, rel=0.02)


def test_bias_field_is_bounded_and_smooth(rng):
    grid = Grid.sagittal((40, 300, 300), (4.0, 2.0, 2.0))
    field = BiasField.random(rng, 0.2, center=(0, 0, 0)).on(grid)
    assert field.min() >= 1 / 1.2 - 1e-6 and field.max() <= 1.2 + 1e-6
    assert np.abs(np.diff(field, axis=1)).max() < 0.01
    flat = BiasField.random(rng, 0.0, center=(0, 0, 0)).on(grid)
    np.testing.assert_array_equal(flat, 1.0)


def test_epg_mese_needs_uniform_echo_spacing_and_reduces_to_exponential(mixture):
    with pytest.raises(DiscMRIError, match="echo spacing"):
        mese(mixture, [10.0, 20.0, 35.0], b1=0.9)
    te = np.array([10.0, 20.0, 30.0, 40.0])
    np.testing.assert_allclose(mese(mixture, te, b1=1.0), mese(mixture, te), rtol=1e-5,
                               atol=1e-7)
    assert not np.allclose(mese(mixture, te, b1=0.7), mese(mixture, te), rtol=1e-3)
