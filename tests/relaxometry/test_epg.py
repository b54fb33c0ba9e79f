import numpy as np
import pytest

from discmri.errors import AcquisitionError
from discmri.relaxometry import EPGDictionary, cpmg_echo_train


def bloch_cpmg(t2, b1, spacing, n, t1=1000.0, alpha_deg=180.0, spins=720):
    """Independent isochromat simulation of CPMG: 90x excitation, refocusing about y,
    crushers dephasing spin j by 2πj/spins per half echo spacing."""
    phase = 2 * np.pi * np.arange(spins) / spins
    m = np.zeros((spins, 3))
    m[:, 1] = -1.0  # after 90° about x
    e2, e1 = np.exp(-spacing / 2 / t2), np.exp(-spacing / 2 / t1)
    a = np.deg2rad(alpha_deg) * b1

    def free(m):
        c, s = np.cos(phase), np.sin(phase)
        x, y, z = m.T
        return np.stack([(c * x - s * y) * e2, (s * x + c * y) * e2, z * e1 + 1 - e1], 1)

    out = []
    for _ in range(n):
        m = free(m)
        x, y, z = m.T
        m = np.stack([np.cos(a) * x + np.sin(a) * z, y, -np.sin(a) * x + np.cos(a) * z], 1)
        m = free(m)
        out.append(abs(np.mean(m[:, 0] + 1j * m[:, 1])))
    return np.array(out)


@pytest.mark.parametrize(("t2", "b1", "alpha"),
                         [(100, 1.0, 180), (100, 0.7, 180), (40, 0.85, 180), (250, 1.0, 150),
                          (80, 1.15, 180), (300, 0.6, 180)])
def test_epg_matches_an_isochromat_simulation(t2, b1, alpha):
    epg = cpmg_echo_train(t2, b1, echo_spacing_ms=10.0, n_echoes=12, refocusing_deg=alpha)
    np.testing.assert_allclose(epg, bloch_cpmg(t2, b1, 10.0, 12, alpha_deg=alpha), atol=1e-12)


def test_ideal_refocusing_is_mono_exponential_and_imperfect_is_not():
    te = 10.0 * np.arange(1, 17)
    np.testing.assert_allclose(cpmg_echo_train(70.0, 1.0, echo_spacing_ms=10, n_echoes=16),
                               np.exp(-te / 70.0), rtol=1e-12)
    low = cpmg_echo_train(150.0, 0.7, echo_spacing_ms=10, n_echoes=16)
    assert low[0] < low[1]  # the first echo is low, then odd/even echoes oscillate
    assert np.all(np.diff(low[1::2]) < 0)


def test_refocusing_angle_symmetry_about_180():
    a = cpmg_echo_train(90.0, 0.8, echo_spacing_ms=12, n_echoes=10)
    b = cpmg_echo_train(90.0, 1.2, echo_spacing_ms=12, n_echoes=10)
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_broadcasting_shapes():
    out = cpmg_echo_train(np.array([50.0, 100.0])[None, :], np.array([0.8, 0.9, 1.0])[:, None],
                          echo_spacing_ms=10, n_echoes=5)
    assert out.shape == (3, 2, 5)


def test_dictionary_needs_uniform_echo_spacing():
    with pytest.raises(AcquisitionError, match="k × echo spacing"):
        EPGDictionary.build([10.0, 20.0, 35.0])


def test_dictionary_b1_grid_ends_at_180_degrees():
    d = EPGDictionary.build(10.0 * np.arange(1, 9), refocusing_deg=150.0, n_t2=50)
    assert d.b1_grid[-1] == pytest.approx(1.2)
    assert d.atoms.shape == (len(d.b1_grid), 50, 8)


def test_the_dictionary_is_built_once_per_protocol(monkeypatch):
    from discmri.relaxometry import EPGDictionary, fit_t2
    from discmri.relaxometry.dictionary import _cached_dictionary

    _cached_dictionary.cache_clear()
    built = []
    real = EPGDictionary.build.__func__

    def counting(cls, te, **kw):
        built.append((tuple(te), kw))
        return real(cls, te, **kw)

    monkeypatch.setattr(EPGDictionary, "build", classmethod(counting))
    te = 10.0 * np.arange(1, 9)
    signal = 1000 * np.exp(-te / np.array([[60.0], [90.0]]))
    first = fit_t2(signal, te, method="epg")
    second = fit_t2(signal * 2, te, method="epg")
    assert len(built) == 1  # the second fit reused it
    np.testing.assert_allclose(second.t2, first.t2)
    fit_t2(signal, te, method="epg", refocusing_deg=160.0)  # another protocol: built anew
    assert len(built) == 2
    d = EPGDictionary.cached(te, t1_ms=1000.0, refocusing_deg=180.0)
    assert d is EPGDictionary.cached(te + 1e-9, t1_ms=1000.0, refocusing_deg=180.0)
    assert not d.atoms.flags.writeable
    _cached_dictionary.cache_clear()
