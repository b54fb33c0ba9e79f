"""fit_adc: recovered truth, trace, WLS vs OLS, IVIM, phantom, bad input.

"Median error < 2 %" (issue #4) is read as the median signed relative error: the median
*absolute* error of any unbiased estimator at SNR 50 with b = 0/400/800 × 3 is bounded below by
the Cramér–Rao bound (4.4 % at ADC 0.5e-3, 2.7 % at 1e-3), so the tests also check that the
spread of wls is within 10 % of that bound.
"""

import numpy as np
import pytest

from discmri.diffusion import fit_adc
from discmri.errors import AcquisitionError, DiscMRIError, GeometryError, ImageFormatError

B = np.array([0.0, 400, 400, 400, 800, 800, 800])
G = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]] + [[1, 0, 0], [0, 1, 0], [0, 0, 1.0]])


def rician(clean, sigma, rng):
    return np.hypot(clean + rng.normal(0, sigma, clean.shape),
                    rng.normal(0, sigma, clean.shape)).astype(np.float32)


def isotropic(adc, snr, rng, n=20000, b=B):
    return rician(np.broadcast_to(1000 * np.exp(-b * adc), (n, len(b))), 1000 / snr, rng)


def crlb_median(adc, snr, b=B):
    e = np.exp(-b * adc)
    j = np.stack([e, -b * e], 1) * snr
    return 0.674 * np.sqrt(np.linalg.inv(j.T @ j)[1, 1]) / adc


@pytest.mark.parametrize("adc", [0.5e-3, 1.0e-3, 2.0e-3, 3.0e-3])
@pytest.mark.parametrize("method", ["wls", "nlls", "ols"])
def test_median_error_below_2_percent_at_snr_50(rng, adc, method):
    fit = fit_adc(isotropic(adc, 50, rng), B, method=method)
    err = fit.adc / adc - 1
    assert abs(np.median(err)) < 0.02
    if method == "wls":
        assert np.median(np.abs(err)) < 1.1 * crlb_median(adc, 50)
    assert (fit.status == 0).mean() > 0.999


def test_trace_recovers_mean_diffusivity_of_anisotropic_tissue(rng):
    """Annulus-like tensors (λ∥ = 1.5 MD, λ⊥ = 0.75 MD) with random fibre directions."""
    n, md = 20000, 1.25e-3
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    g = G.copy()
    cos2 = (u @ g.T) ** 2
    gdg = md * (1 + 0.25 * (3 * cos2 - 1))
    s = rician(1000 * np.exp(-B * gdg), 1000 / 50, rng)
    trace = fit_adc(s, B, bvecs=G).adc
    assert abs(np.median(trace / md - 1)) < 0.02
    single = fit_adc(s[:, [0, 1, 4]], B[[0, 1, 4]]).adc  # x direction only
    assert np.median(np.abs(single / md - 1)) > 0.10


@pytest.mark.parametrize("adc", [2.0e-3, 3.0e-3])
def test_wls_beats_ols_at_snr_15(rng, adc):
    s = isotropic(adc, 15, rng)
    wls = np.median(np.abs(fit_adc(s, B, method="wls").adc / adc - 1))
    ols = np.median(np.abs(fit_adc(s, B, method="ols").adc / adc - 1))
    assert wls < 0.9 * ols


@pytest.mark.parametrize("f", [0.02, 0.05, 0.1])
def test_ivim_recovers_d(rng, f):
    b = np.array([0.0, 50, 100, 200, 400, 600, 800])
    d, d_star = 1.5e-3, 20e-3
    clean = 1000 * ((1 - f) * np.exp(-b * d) + f * np.exp(-b * d_star))
    fit = fit_adc(rician(np.broadcast_to(clean, (10000, 7)), 10.0, rng), b, method="ivim")
    assert abs(np.nanmedian(fit.adc / d - 1)) < 0.05
    assert np.nanmedian(np.abs(fit.adc / d - 1)) < 0.05
    assert np.nanmedian(fit.f) == pytest.approx(f, abs=0.01)
    if f >= 0.05:
        assert np.nanmedian(fit.d_star) == pytest.approx(d_star, rel=0.25)


def test_b_range_leaves_out_perfusion(rng):
    b = np.array([0.0, 50, 100, 200, 400, 600, 800])
    clean = 1000 * (0.9 * np.exp(-b * 1.5e-3) + 0.1 * np.exp(-b * 20e-3))
    s = rician(np.broadcast_to(clean, (5000, 7)), 5.0, rng)
    all_b = np.median(fit_adc(s, b).adc)
    high = fit_adc(s, b, b_range=(200, 1000))
    assert high.bvals == (200.0, 400.0, 600.0, 800.0)
    assert all_b > 1.1 * 1.5e-3
    assert np.median(high.adc) == pytest.approx(1.5e-3, rel=0.02)


def test_noise_free_data_and_predict():
    adc = np.array([0.8e-3, 1.7e-3, 2.6e-3])
    s = 900 * np.exp(-np.outer(adc, B))
    for method in ("ols", "wls", "nlls"):
        fit = fit_adc(s, B, method=method)
        np.testing.assert_allclose(fit.adc, adc, rtol=1e-4)
        np.testing.assert_allclose(fit.predict(), 900 * np.exp(-np.outer(adc, [0, 400, 800])),
                                   rtol=1e-3)


def test_status_maps(rng):
    s = np.zeros((3, 4, 7), np.float32)
    s[0] = 1000 * np.exp(-B * 1e-3)
    s[1] = 1000 * np.exp(B * 1e-4)  # signal rising with b: negative ADC
    mask = np.ones((3, 4), bool)
    mask[2, 0] = False
    s[2, 1:] = rician(np.zeros((3, 7)), 1.0, rng) * 0  # all zero
    fit = fit_adc(s + (s > 0) * 0, B, mask=mask)
    assert (fit.status[0] == 0).all()
    assert (fit.status[1] == 3).all() and np.isnan(fit.adc[1]).all()
    assert fit.status[2, 0] == 1 and (fit.status[2, 1:] == 2).all()
    assert not (fit.adc == 0).any()


def test_threads_do_not_change_results(rng):
    s = isotropic(1.5e-3, 30, rng, n=50000)
    np.testing.assert_array_equal(fit_adc(s, B).adc, fit_adc(s, B, threads=2, chunk_size=777).adc)


@pytest.mark.parametrize(
    ("bvals", "kwargs", "error", "message"),
    [
        (B[:-1], {}, AcquisitionError, "6 b-values for 7 diffusion volumes"),
        (np.array([0, 800, 800, 800, 800, 800, 800.0]), {"b_range": (100, 900)},
         AcquisitionError, "only 1 distinct b-value"),
        (B * -1, {}, AcquisitionError, ">= 0"),
        (B * 1e6, {}, AcquisitionError, "looks like s/m²"),
        (B, {"bvecs": G * 2}, AcquisitionError, "length 2.000"),
        (B, {"bvecs": G[:, :2]}, AcquisitionError, "shape"),
        (B, {"mask": np.ones(3, bool)}, GeometryError, "mask has shape"),
        (B, {"method": "kurtosis"}, DiscMRIError, "unknown"),
    ],
)
def test_bad_input(rng, bvals, kwargs, error, message):
    with pytest.raises(error, match=message):
        fit_adc(isotropic(1e-3, 50, rng, n=4), bvals, **kwargs)


def test_single_b_value_without_b0_range_is_refused():
    with pytest.raises(AcquisitionError, match="only 1 distinct"):
        fit_adc(np.ones((2, 2)), [0, 0])


def test_bad_signal(rng):
    s = isotropic(1e-3, 50, rng, n=4)
    with pytest.raises(ImageFormatError, match="NaN"):
        fit_adc(np.where(s > 500, np.nan, s), B)
    with pytest.raises(ImageFormatError, match="negative"):
        fit_adc(s - 2000, B)
    with pytest.raises(ImageFormatError, match="all zero"):
        fit_adc(s * 0, B)


def test_ivim_needs_low_and_high_b(rng):
    with pytest.raises(AcquisitionError, match="IVIM needs"):
        fit_adc(isotropic(1e-3, 50, rng, n=4), B, method="ivim")


def test_a_scheme_without_b0_is_fitted_with_s0_extrapolated(rng, tmp_path):
    from discmri.io import Volume
    from discmri.io.fitmaps import write_adc_maps

    b = np.array([15, 400, 400, 400, 800, 800, 800.0])  # lowest b = 15, as dipy's small_101D
    adc = np.array([0.8e-3, 1.5e-3, 2.2e-3])
    clean = 1000 * np.exp(-np.outer(adc, b))
    fit = fit_adc(clean, b)
    np.testing.assert_allclose(fit.adc, adc, rtol=1e-4)
    np.testing.assert_allclose(fit.s0, 1000, rtol=1e-4)  # extrapolated to b = 0
    assert fit.parameters["s0_extrapolated"] is True
    with_b0 = 1000 * np.exp(-np.outer(adc, [0, 400, 800]))
    assert fit_adc(with_b0, np.array([0, 400, 800.0])).parameters["s0_extrapolated"] is False
    vol = Volume(clean.reshape(3, 1, 1, 7).astype(np.float32), np.eye(4))
    fitted = fit_adc(vol.data, b)
    write_adc_maps(fitted, vol, tmp_path / "x")
    import json

    side = json.loads((tmp_path / "x_ADC.json").read_text(encoding="utf-8"))
    assert "extrapolated" in side["S0Note"]
    with pytest.raises(AcquisitionError, match="at least two"):
        fit_adc(clean[:, 4:], b[4:])  # one shell left: no ADC


def test_nan_directions_are_accepted_at_b0_only(rng):
    g = G.copy()
    g[0] = np.nan  # as dipy's small_64D.bvec holds for its b = 0 volume
    s = isotropic(1.2e-3, 50, rng, n=100)
    np.testing.assert_array_equal(fit_adc(s, B, bvecs=g).adc, fit_adc(s, B, bvecs=G).adc)
    g[3] = np.nan
    with pytest.raises(AcquisitionError, match="volume 3 .*b = 400"):
        fit_adc(s, B, bvecs=g)


def test_nlls_weights_each_shell_by_its_volumes():
    # issue 10: unweighted shell signals made nlls less precise than wls (b = 0 is one volume,
    # each other shell averages three); weighted, it matches wls (measured 2.239 % vs 2.241 %
    # median error; unweighted 2.266 %; the Cramér-Rao figure is 2.14 %)
    b = np.array([0, 400, 400, 400, 800, 800, 800.0])
    rng = np.random.default_rng(1)
    adc = rng.uniform(0.8e-3, 2.5e-3, 200000)
    clean = 1000 * np.exp(-np.outer(adc, b))
    s = np.hypot(clean + rng.normal(0, 20, clean.shape),
                 rng.normal(0, 20, clean.shape)).astype(np.float32)
    err = {m: np.median(np.abs(fit_adc(s, b, method=m).adc / adc - 1)) for m in ("wls", "nlls")}
    assert err["nlls"] <= 1.004 * err["wls"]
    assert err["nlls"] < 0.0228
