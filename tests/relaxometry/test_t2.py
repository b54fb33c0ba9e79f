"""fit_t2: recovered truth on simulated decays, noise-floor handling, EPG, status, bad input.

The issue asked for median |ΔT2|/T2 < 1 % at SNR 100 for T2 20–250 ms with nlls and offset.
That is below the Cramér–Rao bound at both ends (e.g. 1.3 % expected at 250 ms for any
unbiased mono-exponential estimator, 16 % for the offset model), so these tests check what is
physically attainable: bias below 1 % and a spread within a few per cent of the bound.
"""

import numpy as np
import pytest

from discmri.errors import AcquisitionError, DiscMRIError, GeometryError, ImageFormatError
from discmri.relaxometry import STATUS, EPGDictionary, cpmg_echo_train, fit_t2

TE = 10.0 * np.arange(1, 17)  # 16 echoes, 10-160 ms


def rician(clean, sigma, rng):
    return np.hypot(clean + rng.normal(0, sigma, clean.shape),
                    rng.normal(0, sigma, clean.shape)).astype(np.float32)


def decays(t2, snr, rng, n=4000, m0=1000.0):
    return rician(np.broadcast_to(m0 * np.exp(-TE / t2), (n, len(TE))), m0 / snr, rng)


def crlb_median_abs(t2, snr, offset=False):
    """Median |ΔT2|/T2 of an efficient unbiased estimator (0.674 × CRLB SD)."""
    e = np.exp(-TE / t2)
    cols = [e, -TE * e]  # derivatives by amplitude and rate R = 1/T2 (unit amplitude)
    if offset:
        cols.append(np.ones_like(TE))
    j = np.stack(cols, 1) * snr
    cov = np.linalg.inv(j.T @ j)
    return 0.674 * np.sqrt(cov[1, 1]) * t2  # SD(T2)/T2 = SD(R)/R = SD(R)·T2


def rel(fit, t2):
    e = fit.t2 / t2 - 1
    return np.nanmedian(e), np.nanmedian(np.abs(e))


@pytest.mark.parametrize("t2", [30.0, 50.0, 80.0, 120.0, 250.0])
def test_nlls_is_unbiased_and_efficient_at_snr_100(rng, t2):
    bias, spread = rel(fit_t2(decays(t2, 100, rng), TE, method="nlls"), t2)
    assert abs(bias) < 0.01
    assert spread < 1.15 * crlb_median_abs(t2, 100)


@pytest.mark.parametrize("t2", [50.0, 80.0])
def test_offset_is_unbiased_and_efficient_where_identifiable(rng, t2):
    bias, spread = rel(fit_t2(decays(t2, 100, rng), TE, method="offset"), t2)
    assert abs(bias) < 0.01
    assert spread < 1.15 * crlb_median_abs(t2, 100, offset=True)


def test_noise_floor_bias_at_short_t2_is_removed_by_the_power_fit(rng):
    s = decays(20.0, 100, rng)
    plain, _ = rel(fit_t2(s, TE, method="nlls"), 20.0)
    corrected, spread = rel(fit_t2(s, TE, method="nlls", noise_sigma=10.0), 20.0)
    assert plain > 0.008  # the Rician floor lifts the tail
    assert abs(corrected) < 0.005
    assert spread < 1.6 * crlb_median_abs(20.0, 100)


@pytest.mark.parametrize("t2", [80.0, 120.0, 250.0])
def test_noise_floor_aware_fit_at_snr_20(rng, t2):
    """SNR 20: nucleus-range T2 stays within 3 % median bias with the noise-floor correction,
    where plain log-linear is visibly biased."""
    s = decays(t2, 20, rng)
    aware, _ = rel(fit_t2(s, TE, method="nlls", noise_sigma=50.0), t2)
    naive, _ = rel(fit_t2(s, TE, method="loglinear"), t2)
    assert abs(aware) < 0.03
    assert naive > abs(aware) + 0.015
    if t2 == 80.0:
        assert naive > 0.05


def test_auto_noise_sigma_is_estimated_from_background(rng):
    tissue = decays(100.0, 50, rng, n=3000)
    air = rician(np.zeros((1000, 16)), 20.0, rng)
    fit = fit_t2(np.concatenate([tissue, air]), TE, noise_sigma="auto")
    assert fit.noise_sigma == pytest.approx(20.0, rel=0.05)
    assert abs(np.nanmedian(fit.t2[:3000]) / 100 - 1) < 0.01
    # air: first echo below 3σ, except the Rayleigh tail P(M > 3σ) = exp(-4.5) = 1.1 %
    assert (fit.status[3000:] == 2).mean() > 0.97


# --- EPG ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def epg150():
    return EPGDictionary.build(TE, refocusing_deg=150.0)


def epg_data(rng, n=3000, alpha=150.0, b1=(0.7, 1.2), snr=100):
    t2 = rng.uniform(20, 250, n)
    b = rng.uniform(*b1, n)
    clean = 1000 * cpmg_echo_train(t2, b, echo_spacing_ms=10.0, n_echoes=16,
                                   refocusing_deg=alpha)
    return rician(clean, 1000 / snr, rng), t2, b


def test_epg_recovers_t2_and_b1_where_mono_exponential_fails(rng, epg150):
    s, t2, b1 = epg_data(rng)
    fit = fit_t2(s, TE, method="epg", dictionary=epg150)
    assert np.median(np.abs(fit.t2 / t2 - 1)) < 0.03
    assert np.median(np.abs(fit.b1 - b1)) < 0.05
    assert np.percentile(np.abs(fit.b1 - b1), 90) < 0.05
    mono = fit_t2(s, TE, method="nlls")
    low = b1 < 0.85
    assert np.median(np.abs(mono.t2[low] / t2[low] - 1)) > 0.10
    assert (fit.status == 0).mean() > 0.99


def test_epg_with_180_degree_pulses_reports_the_equivalent_b1(rng):
    """B1 = b and 2 − b give the same echo train at a nominal 180°: T2 is still right."""
    s, t2, b1 = epg_data(rng, n=1500, alpha=180.0, b1=(0.7, 1.2))
    fit = fit_t2(s, TE, method="epg")
    assert np.median(np.abs(fit.t2 / t2 - 1)) < 0.03
    folded = np.where(b1 > 1, 2 - b1, b1)
    assert np.median(np.abs(fit.b1 - folded)) < 0.05


def test_epg_with_known_b1(rng, epg150):
    s, t2, b1 = epg_data(rng, n=1500)
    fit = fit_t2(s, TE, method="epg", b1=b1, dictionary=epg150)
    assert np.median(np.abs(fit.t2 / t2 - 1)) < 0.02
    np.testing.assert_allclose(fit.b1, b1)


# --- behaviour ------------------------------------------------------------------------------


def test_maps_keep_spatial_shape_and_status_is_explained(rng):
    s = np.zeros((4, 5, 3, 16), np.float32)
    s[:2] = 1000 * np.exp(-TE / 60.0)
    s[2] = 500.0  # no decay: T2 beyond the bound
    mask = np.ones((4, 5, 3), bool)
    mask[0, 0, 0] = False
    fit = fit_t2(s + 1e-3, TE, mask=mask, method="nlls")
    assert fit.t2.shape == (4, 5, 3) and fit.t2.dtype == np.float32
    assert fit.status[0, 0, 0] == 1 and np.isnan(fit.t2[0, 0, 0])
    np.testing.assert_allclose(fit.t2[1], 60.0, rtol=1e-4)
    assert (fit.status[2] == 3).all() and np.isnan(fit.t2[2]).all()
    assert set(fit.reasons()) <= set(STATUS.values())
    assert not (fit.t2 == 0).any()


def test_low_signal_is_reported(rng):
    s = decays(80.0, 100, rng, n=10)
    s[:5] = rician(np.zeros((5, 16)), 10.0, rng)
    fit = fit_t2(s, TE, noise_sigma=10.0)
    assert (fit.status[:5] == 2).all() and (fit.status[5:] == 0).all()


@pytest.mark.parametrize("method", ["loglinear", "nlls", "offset", "epg"])
def test_noise_free_data_are_reproduced(method):
    t2 = np.array([25.0, 60.0, 140.0])
    s = 800 * np.exp(-TE / t2[:, None]) + (30.0 if method == "offset" else 0.0)
    fit = fit_t2(s, TE, method=method)
    np.testing.assert_allclose(fit.t2, t2, rtol=2e-3 if method == "epg" else 1e-4)
    np.testing.assert_allclose(fit.predict(), s, rtol=1e-2, atol=1.0)
    assert (fit.r2 > 0.999).all()


def test_threads_and_chunks_do_not_change_results(rng):
    s = decays(70.0, 50, rng, n=5000).reshape(50, 100, 16)
    a = fit_t2(s, TE)
    b = fit_t2(s, TE, threads=2, chunk_size=333)
    np.testing.assert_array_equal(a.t2, b.t2)
    np.testing.assert_array_equal(a.status, b.status)


def test_input_is_not_modified(rng):
    s = decays(70.0, 50, rng, n=100)
    copy = s.copy()
    fit_t2(s, TE, noise_sigma=20.0)
    np.testing.assert_array_equal(s, copy)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"echo_times_ms": TE[:-1]}, AcquisitionError, "15 echo times given for 16 echoes"),
        ({"echo_times_ms": TE[::-1]}, AcquisitionError, "not strictly increasing"),
        ({"echo_times_ms": TE - 10}, AcquisitionError, "positive"),
        ({"echo_times_ms": TE / 1000}, AcquisitionError, "look like seconds"),
        ({"mask": np.ones((3, 3), bool)}, GeometryError, "mask has shape"),
        ({"method": "magic"}, DiscMRIError, "unknown"),
        ({"b1": 0.9}, DiscMRIError, "epg"),
        ({"noise_sigma": -1.0}, DiscMRIError, "positive"),
    ],
)
def test_bad_arguments(rng, kwargs, error, message):
    args = {"echo_times_ms": TE}
    args.update(kwargs)
    te = args.pop("echo_times_ms")
    with pytest.raises(error, match=message):
        fit_t2(decays(80.0, 50, rng, n=4), te, **args)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda s: s * 0, "all zero"),
        (lambda s: s - 2000, "negative"),
        (lambda s: np.where(s > 500, np.nan, s), "NaN"),
    ],
)
def test_bad_signal(rng, make, message):
    with pytest.raises(ImageFormatError, match=message):
        fit_t2(make(decays(80.0, 50, rng, n=4)), TE)


@pytest.mark.parametrize("method", ["offset", "epg"])
def test_three_parameter_models_need_three_echoes(method):
    with pytest.raises(AcquisitionError, match="needs at least 3 echoes"):
        fit_t2(np.array([[100.0, 50.0]]), [10.0, 20.0], method=method)


def test_progress_bar_reports_on_stderr(rng, capsys):
    fit_t2(decays(80.0, 50, rng, n=50), TE, progress=True, chunk_size=10)
    assert "T2 (nlls)" in capsys.readouterr().err


def test_offset_fits_converge_everywhere_the_model_is_identifiable():
    # issue 10: with 12 Newton steps a third of these voxels (long T2) did not converge
    te = 10.0 * np.arange(1, 17)
    rng = np.random.default_rng(3)
    t2 = rng.uniform(20, 250, 20000)
    clean = 1000 * np.exp(-te / t2[:, None])
    s = np.hypot(clean + rng.normal(0, 20, clean.shape), rng.normal(0, 20, clean.shape))
    fit = fit_t2(s.astype(np.float32), te, method="offset")
    reasons = fit.reasons()
    unidentifiable = "not identifiable (standard error larger than the value)"
    assert set(reasons) <= {"ok", unidentifiable}  # none "did not converge"
    # the rest: long T2 whose Cramér-Rao SD at SNR 50 is 20-46 % of T2 (measured 1.3 %)
    assert reasons.get(unidentifiable, 0) < 0.03 * 20000
    assert t2[fit.status != 0].min() > 120
    ok = fit.status == 0
    err = np.abs(fit.t2[ok] / t2[ok] - 1)
    assert np.median(err) < 0.12  # measured 0.10; Cramér-Rao 0.07-0.46 x 0.674 over this range
    # T2 far beyond the echo train: the decay is nearly a straight line, which a long T2 with a
    # matching offset fits as well, so most fits are reported as not identifiable (measured
    # 83 % at T2 = 2 s, SNR 50; none at T2 = 50 ms)
    long = 1000 * np.exp(-te / 2000.0) + rng.normal(0, 20, (500, 16))
    flat = fit_t2(long, te, method="offset")
    assert flat.reasons().get(unidentifiable, 0) > 0.7 * 500
    assert np.isnan(flat.t2[flat.status != 0]).all()
    short = 1000 * np.exp(-te / 50.0) + rng.normal(0, 20, (500, 16))
    assert fit_t2(np.abs(short), te, method="offset").reasons().get(unidentifiable, 0) == 0


def test_epg_with_a_noise_floor_is_at_the_rician_bound():
    # issue 10: matching M² − 2σ² was 16-29 % above the bound; the likelihood steps reach it
    from discmri.fitting.rician import fisher_weight
    from discmri.relaxometry import cpmg_echo_train

    te = 10.0 * np.arange(1, 17)
    rng = np.random.default_rng(11)
    t2 = rng.uniform(20, 250, 20000)
    b1 = rng.uniform(0.7, 1.0, 20000)
    clean = 1000 * cpmg_echo_train(t2, b1, echo_spacing_ms=10.0, n_echoes=16)
    sigma, snr = 20.0, 50.0
    m = np.hypot(clean + rng.normal(0, sigma, clean.shape),
                 rng.normal(0, sigma, clean.shape)).astype(np.float32)
    fit = fit_t2(m, te, method="epg", noise_sigma=sigma)
    ok = fit.status == 0
    err = fit.t2[ok] / t2[ok] - 1

    def train(v, b):
        return cpmg_echo_train(np.array([v]), np.array([b]), echo_spacing_ms=10.0,
                               n_echoes=16)[0]

    bounds = []
    for v, b in zip(t2[:300], b1[:300], strict=True):  # (M0, T2, B1), Rician weights
        e = train(v, b)
        j = np.stack([e, (train(1.001 * v, b) - train(0.999 * v, b)) / (0.002 * v),
                      (train(v, b + 1e-3) - train(v, b - 1e-3)) / 2e-3], 1) * snr
        info = (j * fisher_weight(snr * e)[:, None]).T @ j
        bounds.append(0.674 * np.sqrt(np.linalg.inv(info)[1, 1]) / v)
    assert ok.mean() > 0.999
    assert abs(np.median(err)) < 0.005  # measured -0.22 %
    assert np.median(np.abs(err)) < 1.05 * np.median(bounds)  # measured 0.97 x


def test_a_multi_channel_fit_predicts_its_own_noise_floor(rng):
    """Issue 25: T2Fit.predict added 2σ² whatever the channels, and the fit kept no coils.
    The magnitude of a root-sum-of-squares of N channels has E[M²] = A² + 2·N·σ²."""
    te = np.arange(1, 9) * 10.0
    sigma, coils = 0.05, 4
    truth = 1.0 * np.exp(-te / 40.0)
    # noncentral chi magnitudes: the signal on one channel, noise on all of them
    noise = rng.normal(0.0, sigma, (4000, coils, 2, te.size))
    noise[:, 0, 0, :] += truth
    magnitude = np.sqrt((noise**2).sum(axis=(1, 2)))
    fit = fit_t2(magnitude, te, method="nlls", noise_sigma=sigma, coils=coils)
    assert fit.coils == coils
    predicted = fit.predict()
    # the prediction is the root of the expected squared magnitude, echo by echo
    expected = np.sqrt(np.mean(magnitude**2, axis=0))
    assert np.allclose(np.median(predicted, axis=0), expected, rtol=0.03)
    # the one-channel floor (2σ², as before) under-predicts the last echo by about a fifth
    one_channel = np.sqrt(np.median(predicted, axis=0)**2 - 2 * (coils - 1) * sigma**2)
    assert one_channel[-1] < 0.9 * expected[-1]
