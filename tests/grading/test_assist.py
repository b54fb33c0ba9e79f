"""Grade suggestions on phantoms against the phantom's own grades (issue 12).

The phantom states Griffith's criteria with its own tissue values (discmri.phantom.tissue);
the grading code states them with its own thresholds and never imports the phantom. Discs of
every grade 1-8 (each within 0.3 of its grade's centre), shuffled over the levels, at SNR 20,
30 and 50 with a bias field, one spine rolled and tilted. Measured on 4 such spines (28 discs):
89 % exact, 100 % within one grade, Pfirrmann 96 % exact; the misses lie near a grade boundary.
"""

import numpy as np
import pytest

from discmri.geometry import voxel_to_world
from discmri.grading import GRADE_UNITS, suggest_grades
from discmri.measure import measure

ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}


@pytest.fixture(scope="module")
def graded(graded_spines):
    return graded_spines(1000)


@pytest.mark.slow
def test_suggestions_agree_with_the_phantom_grades(graded):
    got, true, pf_got, pf_true = [], [], [], []
    for sim, _, grades in graded:
        truth = sim.truth.set_index("level")
        assert list(grades.columns) == ["level", *GRADE_UNITS]
        for row in grades.itertuples():
            got.append(row.griffith)
            true.append(int(truth.loc[row.level, "grade_griffith"]))
            pf_got.append(ROMAN[row.pfirrmann])
            pf_true.append(int(truth.loc[row.level, "grade_pfirrmann"]))
    exact = np.mean([g == str(t) for g, t in zip(got, true, strict=True)])
    near = np.mean([abs(int(g.split("/")[-1]) - t) <= 1 for g, t in zip(got, true, strict=True)])
    assert exact >= 0.8, list(zip(got, true, strict=True))
    assert near == 1.0
    assert np.mean(np.equal(pf_got, pf_true)) >= 0.8


@pytest.mark.slow
def test_every_suggestion_carries_its_evidence(graded):
    for _, _, grades in graded:
        assert grades.evidence.str.contains("np_outer_af_ratio").all()
        assert grades.confidence.between(0.5, 1.0).all()
        assert (grades.runner_up != grades.griffith).all()
        hypo = grades[grades.griffith.isin(["5", "6", "7", "8"])]
        assert hypo.evidence.str.contains("height_loss_pct").all()


@pytest.mark.slow
def test_a_scaled_image_or_a_smooth_bias_field_leaves_the_suggestions(graded):
    changed = total = 0
    for sim, _, grades in graded:
        scaled = sim.t2w.with_data(sim.t2w.data * 3.7)
        again = suggest_grades(measure(scaled, sim.labels), scaled)
        assert list(again.griffith) == list(grades.griffith)
        # a coil's field: 1.67 times brighter at the top than at the bottom, ±10 % AP
        world = voxel_to_world(sim.t2w.affine, np.indices(sim.t2w.shape).reshape(3, -1).T)
        z = (world[:, 2] - world[:, 2].min()) / np.ptp(world[:, 2])
        y = (world[:, 1] - world[:, 1].min()) / np.ptp(world[:, 1])
        field = ((0.6 + 0.8 * z) * (1.1 - 0.2 * y)).reshape(sim.t2w.shape)
        biased = sim.t2w.with_data(sim.t2w.data * field)
        after = suggest_grades(measure(biased, sim.labels), biased)
        changed += int((after.griffith != grades.griffith).sum())
        total += len(grades)
    assert changed <= 0.1 * total  # measured: 1 of 21, a disc near the grade 2/3 boundary


def test_the_real_spineps_sample_is_graded_with_its_evidence():
    # The real 1.5 mm T2w crop with SPINEPS labels (no canal or fat label): the nuclei are
    # grey — about 3 times the dark outer annulus and 0.28 of the CSF found behind the discs
    # in the image. The assist says Griffith 3 / Pfirrmann III, and why (issue 12 expected
    # hypointense grades: the image's nuclei are not as dark as its annulus).
    import importlib.util
    from pathlib import Path

    from discmri.io import load_volume

    spec = importlib.util.find_spec("TPTBox")
    folder = Path(spec.submodule_search_locations[0]) / "tests" / "sample_mri"
    image = load_volume(folder / "sub-mri_label-6_T2w.nii.gz")
    labels = load_volume(folder / "sub-mri_seg-vert_label-6_msk.nii.gz")
    grades = suggest_grades(measure(image, labels), image)
    assert grades.level.tolist() == ["C5-C6", "C6-C7"]
    assert (grades.pfirrmann == "III").all() and (grades.griffith == "3").all()
    # measured 2.62 (C5-C6) and 3.12 (C6-C7); C5-C6 read 3.30 when a quarter of its profiles
    # took the label boundary (contrast judged as 10 % of the signal, before issue 22): its
    # edges, and so its annulus regions, now come from the image there
    assert grades.np_outer_af_ratio.between(2.5, 3.6).all()
    # the CSF from the image, since the map has no canal label (measured: 0.28 at both)
    assert (grades.csf_reference == "image").all()
    assert grades.np_csf_ratio.between(0.2, 0.4).all()
    assert grades.evidence.str.contains("csf_signal from the image").all()
    # far below CSF and fat's level: the nearest boundary is the annulus one (3 | 4); measured
    # confidence 0.54 (C5-C6, its ratio of 2.62 near that boundary; 0.9+ at 3.30) and 0.998
    assert (grades.confidence > 0.5).all() and (grades.runner_up == "4").all()
    assert grades.confidence.max() > 0.9


def test_without_a_canal_label_the_csf_comes_from_the_image(graded):
    """Measured on the first spine (SNR 20): the image CSF is within 4.3 % of the canal
    label's (whose small eroded regions are the noisier), and no suggestion changes."""
    for sim, _, grades in graded:
        labels = sim.labels.with_data(np.where(sim.labels.data == 301, 0, sim.labels.data))
        again = suggest_grades(measure(sim.t2w, labels), sim.t2w)
        assert (again.csf_reference == "image").all() and (grades.csf_reference ==
                                                            "canal label").all()
        assert np.allclose(again.csf_signal, grades.csf_signal, rtol=0.06)
        assert (again.griffith == grades.griffith).mean() >= 6 / 7
        # a strip that misses the canal finds no CSF: the other levels' median stands in
        disc = again.level.iloc[3]
        geometry = measure(sim.t2w, labels).morphometry.discs[disc]
        data = np.array(sim.t2w.data, dtype=np.float64)
        data[_behind(geometry, sim.t2w)] *= 0.3
        dark = sim.t2w.with_data(data)
        patched = suggest_grades(measure(dark, labels), dark).set_index("level")
        assert "median of the other levels" in patched.loc[disc, "csf_reference"]
        assert patched.loc[disc, "csf_signal"] == pytest.approx(
            np.median(again.csf_signal.drop(index=3)), rel=0.05)
        break


def _behind(disc, volume):
    """Voxels 0-16 mm behind a disc, within its height, 3 mm about its mid-plane."""
    ijk = np.indices(volume.shape).reshape(3, -1).T
    p, q, x = disc.frame.to_local(voxel_to_world(volume.affine, ijk))
    lower, upper = disc.lower.min() - 1.0, disc.upper.max() + 1.0
    mask = ((p < disc.posterior) & (p > disc.posterior - 16.0) & (q > lower) & (q < upper)
            & (np.abs(x) < 3.0))
    return mask.reshape(volume.shape)
