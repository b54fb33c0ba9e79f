import numpy as np
import pytest

from discmri.errors import DiscMRIError, ParameterError
from discmri.phantom.tissue import (
    ANNULUS,
    CSF,
    FAT,
    disc_tissue,
    griffith_grade,
    pfirrmann_from_griffith,
)


def fse(t, tr=4000.0, te=100.0):
    return t.pd * (1 - np.exp(-tr / t.t1_ms)) * np.exp(-te / t.t2_ms)


def test_t2w_nucleus_signal_follows_griffith_definitions():
    """Griffith 2007: 1 = CSF; 2 between presacral fat and CSF; 3 below fat (still bright);
    4 slightly above the outer annulus; 5-8 equal to the outer annulus."""
    s = {g: fse(disc_tissue(g).nucleus) for g in range(1, 9)}
    assert s[1] == pytest.approx(fse(CSF), rel=0.05)
    assert fse(FAT) < s[2] < fse(CSF)
    assert fse(ANNULUS) * 2.5 < s[3] < fse(FAT)
    assert fse(ANNULUS) * 1.3 < s[4] < fse(ANNULUS) * 3.0
    for g in range(5, 9):
        assert s[g] == pytest.approx(fse(ANNULUS), rel=0.2)


def test_nucleus_t2_matches_the_pfirrmann_series():
    """REFERENCE.md: NP T2 by Pfirrmann grade I 210±32, II 129±19, III 84±10, IV 51±9 ms. The
    mean nucleus T2 of the Griffith grades mapped to each Pfirrmann grade lies within 1 SD."""
    series = {1: (210, 32), 2: (129, 19), 3: (84, 10), 4: (51, 9)}
    for pf, (mean, sd) in series.items():
        t2 = [disc_tissue(g).nucleus.t2_ms for g in range(1, 9) if pfirrmann_from_griffith(g) == pf]
        assert abs(np.mean(t2) - mean) <= sd


def test_properties_fall_monotonically_with_severity():
    s = np.linspace(1, 8, 71)
    t2 = [disc_tissue(v).nucleus.t2_ms for v in s]
    adc = [disc_tissue(v).nucleus.adc_mm2_s for v in s]
    loss = [disc_tissue(v).height_loss for v in s]
    assert np.all(np.diff(t2) < 0) and np.all(np.diff(adc) < 0)
    assert np.all(np.diff(loss) >= 0)


@pytest.mark.parametrize(("severity", "loss"), [(5.0, 0.0), (6.5, 0.30), (7.5, 0.60)])
def test_height_loss_boundaries_fall_on_griffith_thresholds(severity, loss):
    assert disc_tissue(severity).height_loss == pytest.approx(loss)


def test_grade_rounding_and_range():
    assert [griffith_grade(v) for v in (1.0, 1.49, 1.5, 6.5, 8.0)] == [1, 1, 2, 7, 8]
    with pytest.raises(DiscMRIError, match="outside"):
        disc_tissue(0.5)
    with pytest.raises(DiscMRIError, match="outside"):
        pfirrmann_from_griffith(9)


def test_marrow_spans_the_range_of_real_images():
    """Issue 11: marrow from darker than a healthy (grade 2) nucleus to brighter than a
    degenerated one, fatty marrow above a healthy nucleus, every marrow above the annulus."""
    from discmri.phantom.tissue import MARROWS

    red, mixed, fatty = (fse(MARROWS[k]) for k in ("red", "mixed", "fatty"))
    assert fse(ANNULUS) * 1.5 < red < mixed < fatty
    assert red > fse(disc_tissue(5).nucleus) and red < fse(disc_tissue(3).nucleus)
    assert fatty > fse(disc_tissue(2).nucleus)


def _fse_over_csf(t):
    return fse(t) / fse(CSF)


def test_a_contrast_model_stated_by_ratios_gives_those_ratios():
    from discmri.phantom import SpineGeometry, bright_annulus_contrast, random_anatomy
    from discmri.phantom.tissue import ANNULUS, FAT, t2w_contrast

    model = bright_annulus_contrast()
    stated = [1.0, 0.9, 0.66, 0.45, 0.34]
    for grade, ratio in enumerate(stated, start=1):
        assert _fse_over_csf(model.disc_tissue(grade).nucleus) == pytest.approx(ratio, rel=1e-9)
    assert _fse_over_csf(model.annulus) == pytest.approx(0.33, rel=1e-9)
    assert _fse_over_csf(model.fat) == pytest.approx(0.8, rel=1e-9)
    assert [model.disc_tissue(g).height_loss for g in (6, 7, 8)] == [0.18, 0.45, 0.72]
    # PD and T1 are the default's: only T2 changed
    assert (model.annulus.pd, model.annulus.t1_ms) == (ANNULUS.pd, ANNULUS.t1_ms)
    assert (model.fat.pd, model.fat.t1_ms) == (FAT.pd, FAT.t1_ms)
    # the default model is the phantom's own tissues (annulus 0.125 of CSF)
    assert _fse_over_csf(random_anatomy(np.random.default_rng(0)).contrast.annulus) == (
        pytest.approx(0.125, abs=0.005))
    # the geometry draws the model's annulus and fat
    geometry = SpineGeometry(random_anatomy(np.random.default_rng(0), contrast=model))
    assert model.annulus in geometry.tissues and model.fat in geometry.tissues
    assert ANNULUS not in geometry.tissues and FAT not in geometry.tissues
    with pytest.raises(ParameterError, match="out of reach"):
        t2w_contrast([1.0] * 8, af_csf=1.5, fat_csf=0.8)  # the annulus reaches 1.15 at most
    with pytest.raises(ParameterError, match="8 values"):
        t2w_contrast([1.0, 0.9], af_csf=0.3, fat_csf=0.8)


def test_random_anatomy_takes_another_height_trend():
    from discmri.phantom import random_anatomy

    heights = {"T12-L1": 7.0, "L4-L5": 11.5}
    a = random_anatomy(np.random.default_rng(4), disc_heights=heights, variability=0.0)
    got = {d.name: d.height_mm for d in a.discs}
    assert got["T12-L1"] == 7.0 and got["L4-L5"] == 11.5 and got["L2-L3"] == 9.0
    with pytest.raises(ParameterError, match="unknown levels"):
        random_anatomy(np.random.default_rng(4), disc_heights={"L6-S1": 10.0})
