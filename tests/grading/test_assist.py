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
from discmri.phantom import (
    DiscState,
    Pose,
    Protocol,
    random_anatomy,
    rotation_matrix,
    simulate_session,
)

ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}


@pytest.fixture(scope="module")
def graded():
    out = []
    for seed, snr in enumerate((20.0, 30.0, 50.0)):
        rng = np.random.default_rng(1000 + seed)
        anatomy = random_anatomy(rng)
        grades = rng.choice(np.arange(1, 9), 7, replace=False)
        anatomy = anatomy.with_states({
            name: DiscState(float(np.clip(g + rng.uniform(-0.3, 0.3), 1, 8)))
            for name, g in zip(anatomy.disc_names, grades, strict=True)})
        pose = (Pose(rotation_matrix((0, 0, 1), 8.0) @ rotation_matrix((1, 0, 0), 5.0),
                     np.zeros(3)) if seed % 2 else Pose.identity())
        sim = simulate_session(anatomy, rng=rng, pose=pose, protocol=Protocol(
            t2w_snr=snr, mese_voxel_mm=None, dwi_voxel_mm=None, bias=0.2, slab_mm=48.0))
        result = measure(sim.t2w, sim.labels)
        out.append((sim, result, suggest_grades(result, sim.t2w)))
    return out


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
    # grey — about 3 times the dark outer annulus, a third of the CSF's level in the image,
    # brighter than the marrow. The assist says Griffith 3 / Pfirrmann III and why, and that
    # CSF and fat could not be compared (so 3 is the lowest of the bright grades, with
    # confidence 0.5 and runner-up 2) (issue 12 expected hypointense grades: the image's
    # nuclei are not as dark as its annulus).
    import importlib.util
    from pathlib import Path

    from discmri.io import load_volume

    spec = importlib.util.find_spec("TPTBox")
    folder = Path(spec.submodule_search_locations[0]) / "tests" / "sample_mri"
    image = load_volume(folder / "sub-mri_label-6_T2w.nii.gz")
    labels = load_volume(folder / "sub-mri_seg-vert_label-6_msk.nii.gz")
    grades = suggest_grades(measure(image, labels), image)
    assert grades.level.tolist() == ["C5-C6", "C6-C7"]
    assert grades.pfirrmann.isin(["III", "IV"]).all()
    assert grades.griffith.isin(["3", "4", "5"]).all()
    assert grades.np_outer_af_ratio.between(1.5, 5).all()
    assert grades.evidence.str.contains("np_csf_ratio n/a").all()
    # without CSF the bright grades 1-3 are not told apart: the confidence says so
    assert (grades.confidence == 0.5).all() and (grades.runner_up == "2").all()
