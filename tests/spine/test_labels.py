import json

import numpy as np
import pytest
from scipy import ndimage

from discmri.errors import DiscMRIError
from discmri.phantom import Protocol, default_anatomy, random_anatomy, simulate_session
from discmri.spine import SCHEMES, convert_labels, detect_scheme, read_levels

PROTOCOL = Protocol(slab_mm=12.0, t2w_voxel_mm=(4.0, 1.2, 1.2), mese_voxel_mm=None,
                    dwi_voxel_mm=None)
LEVELS = ("T11-T12", "T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")


@pytest.fixture(scope="module")
def native():
    sim = simulate_session(random_anatomy(np.random.default_rng(2)),
                           rng=np.random.default_rng(3), protocol=PROTOCOL)
    return sim.labels.data.astype(np.int16)


@pytest.fixture(scope="module")
def six_lumbar():
    sim = simulate_session(default_anatomy(lumbar_vertebrae=6), rng=np.random.default_rng(3),
                           protocol=PROTOCOL)
    return sim.labels.data.astype(np.int16)


def disc_masks(labels, levels):
    return {d.name: np.isin(labels, d.labels) for d in levels.discs}


def test_native_map_is_detected_and_complete(native):
    lv = read_levels(native)
    assert lv.scheme == "native" and "native" in lv.detected
    assert lv.levels == LEVELS
    assert lv.problems == ()
    l4 = lv.disc("L4-L5")
    assert (l4.cranial_label, l4.caudal_label) == (23, 24)
    assert l4.labels == (123, 223) and l4.nucleus_labels == (223,)
    assert lv.disc("L5-S1").caudal_label == 26
    assert lv.canal_labels == (301,)


@pytest.mark.parametrize("scheme", ["spineps", "totalspineseg", "spider"])
def test_the_same_spine_in_every_scheme_gives_the_same_levels(native, scheme):
    converted, dropped = convert_labels(native, "native", scheme)
    lv, ref = read_levels(converted), read_levels(native)
    assert lv.scheme == scheme
    assert lv.levels == ref.levels
    a, b = disc_masks(converted, lv), disc_masks(native, ref)
    for name in LEVELS:
        np.testing.assert_array_equal(a[name], b[name])
    for (name, v_new), (name_ref, v_ref) in zip(lv.vertebrae, ref.vertebrae, strict=False):
        assert name == name_ref
        np.testing.assert_array_equal(converted == v_new, native == v_ref)
    if scheme == "spider":  # SPIDER has no sacrum label
        assert "S1" in dropped and any("no vertebral body S1" in p for p in lv.problems)
    assert "presacral fat" in dropped


def test_transitional_l6_is_reported_not_renamed(six_lumbar):
    lv = read_levels(six_lumbar)
    assert lv.levels[-3:] == ("L4-L5", "L5-L6", "L6-S1")
    assert any("L6 is present" in p for p in lv.problems)
    tss, _ = convert_labels(six_lumbar, "native", "totalspineseg")
    assert read_levels(tss).levels == lv.levels  # 100 is the disc above the sacrum: L6-S1
    assert 100 in np.unique(tss) and 96 in np.unique(tss)


def test_pieces_missing_levels_and_unknown_labels_are_reported(native):
    lab = native.copy()
    lab[lab == 22] = 0  # L3 gone
    l4 = np.argwhere(lab == 23)
    far = tuple(l4[l4[:, 2].argmax()] + np.array([0, 0, 40]))  # a stray L4 voxel far above
    lab[far] = 23
    lab[0, 0, 0] = 77
    lv = read_levels(lab, scheme="native")
    text = " | ".join(lv.problems)
    assert "vertebra L3 is missing between T11 and S1" in text
    assert "disc L2-L3: no vertebral body L3" in text and "disc L3-L4: no vertebral body L3" in text
    assert "L4: 2 separate pieces" in text
    assert "[77] are not in the native scheme" in text
    assert lv.levels == LEVELS  # still every disc, named as labelled


def test_missing_disc_between_vertebrae(native):
    lab = native.copy()
    lab[np.isin(lab, (121, 221))] = 0
    lv = read_levels(lab)
    assert "L2-L3" not in lv.levels
    assert any("disc L2-L3 is missing" in p for p in lv.problems)


def test_json_mapping_scheme(native, tmp_path):
    mapping = {"vertebrae": {f"L{i}": 19 + i for i in range(1, 6)} | {"S1": 26, "T12": 19,
                                                                      "T11": 18},
               "discs": {"T11-T12": 118, "T12-L1": 119, "L1-L2": 120, "L2-L3": 121,
                         "L3-L4": 122, "L4-L5": 123, "L5-S1": 124},
               "nuclei": {f"L{i}-x": 219 + i for i in range(1, 6)} | {"T11-T12": 218,
                                                                      "T12-L1": 219},
               "canal": [301]}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(mapping))
    lv = read_levels(native, scheme=path)
    assert lv.scheme == "mine" and lv.levels == LEVELS
    assert any("[302]" in p for p in lv.problems)  # fat is unknown to this mapping


def test_detection_refuses_ambiguity_and_nonsense():
    with pytest.raises(DiscMRIError, match="several schemes"):
        detect_scheme({1, 2, 3})  # SPINEPS C1-C3 or SPIDER L5-L3
    with pytest.raises(DiscMRIError, match="no known scheme"):
        detect_scheme({5000, 6000})
    with pytest.raises(DiscMRIError, match="empty"):
        read_levels(np.zeros((3, 3, 3)))
    with pytest.raises(DiscMRIError, match="non-integer"):
        read_levels(np.full((3, 3, 3), 1.5))
    with pytest.raises(DiscMRIError, match="unknown"):
        read_levels(np.ones((3, 3, 3)), scheme="freesurfer")


def test_scheme_tables_are_unambiguous():
    for scheme in SCHEMES.values():
        groups = [set(scheme.vertebrae), set(scheme.discs), set(scheme.nuclei), scheme.canal,
                  set(scheme.other), set(scheme.endplates), {scheme.lumbosacral_disc} - {None}]
        assert sum(len(g) for g in groups) == len(scheme.known)  # no integer means two things


def spineps_with_endplates(native):
    """The map as SPINEPS writes it: endplates 200+v between disc 100+v and the bone."""
    lab = convert_labels(native, "native", "spineps")[0].astype(np.int16)
    plates = lab.copy()
    for disc in (v for v in np.unique(lab) if 100 < v < 200):
        ring = ndimage.binary_dilation(lab == disc) & (lab > 0) & (lab < 100)
        plates[ring] = disc + 100
    return plates


def test_native_and_spineps_2xx_labels_are_told_apart_by_where_they_lie(native):
    # Both schemes use the same integers; 2xx are native nuclei (inside discs) or SPINEPS
    # endplates (between disc and vertebra).
    no_extras = np.where(native >= 300, 0, native)
    lv = read_levels(no_extras)
    assert lv.scheme == "native" and "nuclei" in lv.detected
    plates = spineps_with_endplates(native)
    lv = read_levels(plates)
    assert lv.scheme == "spineps" and "endplates" in lv.detected
    assert lv.disc("L4-L5").endplate_labels == (223,)
    assert lv.disc("L4-L5").labels == (123,)
    # without the vertebrae: nuclei are still enclosed by their discs, endplates are not
    lv = read_levels(np.where((no_extras >= 100), no_extras, 0))
    assert lv.scheme == "native" and "nuclei" in lv.detected
    lv = read_levels(np.where(plates >= 100, plates, 0))
    assert lv.scheme == "spineps" and "endplates" in lv.detected


def test_the_real_spineps_map_without_vertebrae_is_still_read_as_spineps():
    # Issue 14 noticed: with its vertebrae removed, the sample's 2xx endplates were taken for
    # native nuclei, and a C7-T1 disc was invented from the 207 endplate.
    import importlib.util
    from pathlib import Path

    from discmri.io import load_volume

    folder = Path(importlib.util.find_spec("TPTBox").submodule_search_locations[0])
    lab = np.asarray(load_volume(folder / "tests" / "sample_mri"
                                 / "sub-mri_seg-vert_label-6_msk.nii.gz").data).astype(int)
    lv = read_levels(np.where(lab >= 100, lab, 0))
    assert lv.scheme == "spineps" and lv.levels == ("C5-C6", "C6-C7")


def test_converting_spineps_endplates_gives_them_to_the_nearest_vertebra(native):
    lab = convert_labels(native, "native", "spineps")[0].astype(np.int16)
    plates = spineps_with_endplates(native)
    back, dropped = convert_labels(plates, "spineps", "spineps")
    assert np.array_equal(back, plates) and dropped == ()
    tss, _ = convert_labels(plates, "spineps", "totalspineseg")
    direct, _ = convert_labels(lab, "spineps", "totalspineseg")
    assert np.array_equal(tss, direct)  # every endplate voxel went back to its own body
