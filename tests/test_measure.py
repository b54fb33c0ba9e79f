"""discmri.measure: the per-disc table against the phantom truth, in every label scheme."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from discmri import fit_adc, fit_t2, load_volume
from discmri.errors import DiscMRIError, GeometryError
from discmri.io import Volume
from discmri.measure import COLUMN_UNITS, L5S1_NOTE, measure
from discmri.spine import convert_labels

#: Issue #5: the public contract of the table (more columns may follow).
CONTRACT = ["level", "height_anterior_mm", "height_middle_mm", "height_posterior_mm",
            "height_mean_mm", "ap_depth_mm", "area_mm2", "volume_mm3",
            "vb_cranial_height_middle_mm", "vb_caudal_height_middle_mm", "dhi_mean_height",
            "dhi_masuda", "dhi_farfan", "dhi_area", "height_width_ratio", "np_t2_ms",
            "af_anterior_t2_ms", "af_posterior_t2_ms", "np_adc_mm2_s", "af_adc_mm2_s", "status"]
DHI = ["dhi_mean_height", "dhi_masuda", "dhi_farfan", "dhi_area", "height_width_ratio"]
HEIGHTS = ["height_anterior_mm", "height_middle_mm", "height_posterior_mm"]
NUMERIC = ["height_anterior_mm", "height_middle_mm", "height_posterior_mm", "ap_depth_mm",
           "area_mm2", "wedge_angle_deg", "vb_cranial_height_middle_mm", *DHI, "np_t2_ms"]


@pytest.fixture(scope="module")
def sim(morphometry_session):
    return morphometry_session("axial-aligned")


@pytest.fixture(scope="module")
def maps(sim):
    t2 = fit_t2(sim.mese.data, sim.mese.meta["echo_times_ms"], mask=sim.mese.data[..., 0] > 50)
    adc = fit_adc(sim.dwi.data, sim.dwi.meta["bvals"], bvecs=sim.dwi.meta["bvecs"],
                  mask=sim.dwi.data[..., 0] > 50)
    return sim.mese.with_data(t2.t2), sim.dwi.with_data(adc.adc)


@pytest.fixture(scope="module")
def result(sim, maps):
    return measure(sim.t2w, sim.labels, t2map=maps[0], adcmap=maps[1])


def test_table_has_the_contract_columns_and_units(result, sim):
    table = result.table
    assert [c for c in table.columns if c in CONTRACT] == CONTRACT
    assert set(result.units) == set(table.columns) and set(table.columns) <= set(COLUMN_UNITS)
    assert result.units["height_middle_mm"]["Units"] == "mm"
    assert table.level.tolist() == sim.truth.level.tolist()
    assert (table.status == "measured").all()
    assert table.set_index("level").loc["L5-S1", "dhi_note"] == L5S1_NOTE
    assert (table.set_index("level").drop("L5-S1").dhi_note == "").all()
    assert np.isnan(table.set_index("level").loc["L5-S1", "vb_caudal_height_middle_mm"])


def test_dhi_of_every_formula_within_two_percent(result, sim):
    # Issue #5: median |error| of DHI <= 2 % (0.6 mm in-plane, 4 mm slices, SNR 30).
    got = result.table.set_index("level")
    truth = sim.truth.set_index("level")
    for col in DHI:
        rel = (got[col] / truth[col] - 1).abs()
        assert rel.median() <= 0.02, (col, rel.round(4).tolist())
        assert rel.max() <= 0.05, (col, rel.round(4).tolist())


def test_regional_t2_and_adc_columns(result, sim):
    got = result.table.set_index("level")
    truth = sim.truth.set_index("level")
    clear = truth.cleft_mm == 0
    assert ((got.np_t2_ms / truth.np_t2_ms - 1)[clear].abs() < 0.03).all()
    # like against like on every disc, clefts included: the truth of the region's median T2
    # (measured within 2.5 % on 14 discs at SNR 100, where the nucleus tissue's T2 is up to
    # 28 % off on discs with a cleft)
    assert ((got.np_t2_ms / truth.np_region_t2_ms - 1).abs() < 0.04).all()
    assert ((got.af_posterior_t2_ms / truth.af_t2_ms - 1).abs() < 0.03).all()
    assert ((got.np_adc_mm2_s / truth.np_adc_mm2_s - 1).abs() < 0.06).all()
    assert set(result.stats.parameter) == {"t2", "adc"}
    assert set(result.regions) == {"t2w", "t2", "adc"}


def test_relabelled_maps_give_identical_tables(sim, result):
    # Issue #5: the same phantom relabelled in each scheme gives identical tables.
    base = result.table.set_index("level")
    native = sim.labels.data.astype(np.int16)
    for scheme in ("totalspineseg", "spineps", "spider"):
        lab, _ = convert_labels(native, "native", scheme)
        out = measure(sim.t2w, Volume(lab, sim.labels.affine), t2map=None).table
        out = out.set_index("level")
        both = [n for n in base.index if n != "L5-S1" or scheme != "spider"]
        cols = [c for c in NUMERIC if c != "np_t2_ms"]
        got, want = out.loc[both, cols].to_numpy(float), base.loc[both, cols].to_numpy(float)
        if scheme != "spider":
            assert np.array_equal(got, want, equal_nan=True), scheme
        else:
            # Without S1, L5 is oriented from the disc above alone at first; its frame
            # refinement converges to the same frame within its 0.005° stopping tolerance.
            assert np.allclose(got, want, rtol=1e-4, atol=1e-3, equal_nan=True)
        if scheme == "spider":  # SPIDER has no sacrum: L5-S1 lacks its caudal body
            row = out.loc["L5-S1"]
            assert row.status == "measured" and "no vertebral body S1" in row.notes
            # measured from the disc label and the image all the same
            np.testing.assert_allclose(row[HEIGHTS].to_numpy(float),
                                       base.loc["L5-S1", HEIGHTS].to_numpy(float), atol=0.05)


def test_a_missing_body_between_two_discs_is_derived_and_said(sim, result):
    lab = sim.labels.data.copy()
    lab[lab == 22] = 0  # remove L3
    table = measure(sim.t2w, Volume(lab, sim.labels.affine)).table.set_index("level")
    full = result.table.set_index("level")
    for name in ("L2-L3", "L3-L4"):
        assert table.loc[name, "status"] == "measured"
        assert "vertebral body L3 derived from the space between its discs" in \
            table.loc[name, "notes"]
        assert table.loc[name, "dhi_mean_height"] == pytest.approx(
            full.loc[name, "dhi_mean_height"], rel=0.01)
        # the edges come from the image: the same heights without the body's label
        np.testing.assert_allclose(table.loc[name, HEIGHTS], full.loc[name, HEIGHTS], atol=0.05)
    assert table.loc["L4-L5", "status"] == "measured"
    assert "derived" not in table.loc["L1-L2", "notes"]


def test_a_missing_body_at_the_top_leaves_the_disc_measured_and_its_dhi_na(sim, result):
    lab = sim.labels.data.copy()
    top = result.table.level.iloc[0]
    cranial = result.levels.disc(top).cranial_label
    lab[lab == cranial] = 0  # the body above the top disc: no disc above it to bound it
    table = measure(sim.t2w, Volume(lab, sim.labels.affine)).table.set_index("level")
    assert table.loc[top, "status"] == "measured" and np.isnan(table.loc[top, "dhi_mean_height"])
    assert "no vertebral body" in table.loc[top, "notes"]
    np.testing.assert_allclose(table.loc[top, HEIGHTS],
                               result.table.set_index("level").loc[top, HEIGHTS], atol=0.05)


def test_a_disc_only_map_gets_its_bodies_from_the_gaps_between_discs(sim, result, maps):
    """Issues 11 and 14: maps with discs only (public disc datasets, disc detectors) are
    measured, and the vertebral body between two discs is the space between them (a derived
    label, said in the notes), so DHI is there for every disc with a body on both sides:
    measured within 0.11 % of the full map's on two phantoms. The body above the top disc
    cannot be derived: that disc's DHI is n/a with the reason."""
    lab = sim.labels.data.copy()
    lab[(lab > 0) & (lab < 100)] = 0
    got = measure(sim.t2w, Volume(lab, sim.labels.affine), t2map=maps[0])
    table, full = got.table.set_index("level"), result.table.set_index("level")
    assert (table.status == "measured").all() and len(table) == len(full)
    np.testing.assert_allclose(table[HEIGHTS], full[HEIGHTS], atol=0.05)
    np.testing.assert_allclose(table.ap_depth_mm, full.ap_depth_mm, atol=0.05)
    top, rest = table.index[0], table.index[1:]
    assert np.isnan(table.loc[top, "dhi_mean_height"])
    assert "indices that need the bodies are n/a" in table.loc[top, "notes"]
    dhi = (table.loc[rest, "dhi_mean_height"] / full.loc[rest, "dhi_mean_height"] - 1).abs()
    assert dhi.max() < 0.01
    np.testing.assert_allclose(table.loc[rest, "vb_caudal_height_middle_mm"],
                               full.loc[rest, "vb_caudal_height_middle_mm"], atol=0.2)
    assert table.loc[rest, "notes"].str.contains("derived from the space between its discs"
                                                 ).all()
    np.testing.assert_allclose(table.np_t2_ms, full.np_t2_ms, rtol=0.02)


def test_a_vertebra_only_map_gets_its_discs_from_the_gaps(sim, result):
    """Issue 11: with vertebral bodies only, each disc is the gap between consecutive bodies
    (a derived label, said in the notes); the edges still come from the image. Measured on
    this phantom: heights 0.06-0.11 mm from the truth (median; the full map 0.02-0.05), DHI
    within 2.2 % of the full map's; the derived depth runs up to 1.7 mm long (the gap is
    bounded by the bodies, not by the disc's own margins)."""
    lab = sim.labels.data.copy()
    lab[(lab >= 100) & (lab < 300)] = 0
    got = measure(sim.t2w, Volume(lab, sim.labels.affine))
    table, full = got.table.set_index("level"), result.table.set_index("level")
    truth = sim.truth.set_index("level")
    assert sorted(got.parameters["derived_discs"]) == sorted(full.index)
    assert (table.status == "measured").all()
    assert table.notes.str.contains("derived from the gap").all()
    err = (table[HEIGHTS] - truth.loc[table.index, HEIGHTS]).abs()
    assert err.median().max() <= 0.15
    dhi = (table.dhi_mean_height / full.dhi_mean_height - 1).abs()
    assert dhi.max() < 0.035
    assert not any("missing between its vertebrae" in p
                   for p in got.parameters["label_problems"])


def test_unknown_labels_and_tiny_discs_are_reported_not_fatal(sim):
    lab = sim.labels.data.copy()
    lab[0, :3, :3] = 77  # a value no scheme knows
    disc = np.argwhere(lab == 121)  # L2-L3 annulus
    lab[np.isin(lab, (121, 221))] = 0
    lab[tuple(disc[len(disc) // 2])] = 121  # one voxel left of L2-L3
    result = measure(sim.t2w, Volume(lab, sim.labels.affine), scheme="native")
    table = result.table.set_index("level")
    assert table.loc["L2-L3", "status"] == "not measured"
    assert "too small to measure" in table.loc["L2-L3", "notes"]
    assert (table.drop("L2-L3").status == "measured").all()
    assert any("77" in p for p in result.parameters["label_problems"])


def test_dhi_subset_and_bad_input(sim):
    out = measure(sim.t2w, sim.labels, dhi=("farfan",)).table
    assert "dhi_farfan" in out and "dhi_mean_height" not in out and "np_t2_ms" not in out
    with pytest.raises(DiscMRIError, match="unknown DHI formula"):
        measure(sim.t2w, sim.labels, dhi=("pfirrmann",))
    with pytest.raises(GeometryError, match="shape"):
        measure(sim.t2w, Volume(sim.labels.data[:, 1:], sim.labels.affine))
    with pytest.raises(DiscMRIError, match="empty"):
        measure(sim.t2w, Volume(np.zeros_like(sim.labels.data), sim.labels.affine))
    # one vertebral body and no disc: nothing to measure, nothing to find a disc between
    one_bone = np.where(sim.labels.data == 22, sim.labels.data, 0)
    with pytest.raises(DiscMRIError, match="no disc labels .* no two consecutive"):
        measure(sim.t2w, Volume(one_bone, sim.labels.affine), scheme="native")
    with pytest.raises(GeometryError, match="3-D"):
        measure(sim.t2w, sim.labels, t2map=sim.mese)


def tptbox_sample():
    """The real T2w image with SPINEPS seg-vert labels that TPTBox ships (Apache-2.0)."""
    spec = importlib.util.find_spec("TPTBox")  # located, not imported
    assert spec is not None, "the test extra installs tptbox for its sample MRI"
    folder = Path(spec.submodule_search_locations[0]) / "tests" / "sample_mri"
    image = folder / "sub-mri_label-6_T2w.nii.gz"
    labels = folder / "sub-mri_seg-vert_label-6_msk.nii.gz"
    assert image.is_file() and labels.is_file(), f"TPTBox sample MRI not found in {folder}"
    return image, labels


def test_a_real_spineps_map_is_read_and_measured():
    # A real lumbar T2w crop (1.5 mm, PIR) labelled by SPINEPS: vertebrae 5-7, discs 105/106
    # and endplates 205-207 (2xx = the endplates lining disc 1xx, against the vertebrae).
    image_path, labels_path = tptbox_sample()
    image, labels = load_volume(image_path), load_volume(labels_path)
    result = measure(image, labels)
    levels = result.levels
    assert levels.scheme == "spineps" and "endplates" in levels.detected
    assert levels.levels == ("C5-C6", "C6-C7")
    assert [d.endplate_labels for d in levels.discs] == [(205,), (206,)]
    assert any("207" in p for p in levels.problems)  # its disc is outside the image
    table = result.table.set_index("level")
    assert (table.status == "measured").all()
    heights = table[["height_anterior_mm", "height_middle_mm", "height_posterior_mm"]]
    assert ((heights > 4) & (heights < 16)).all().all()  # plausible disc heights, mm
    assert table.ap_depth_mm.between(25, 45).all()
    # the vertebra labels include the arch and processes; only the body is measured
    vb = result.morphometry.vertebrae["C6"]
    assert 25 < vb.depth < 45 and 20 < vb.heights[1] < 35
    whole = np.ptp(np.argwhere(labels.data == 6)[:, 0]) * 1.5
    assert whole > 60  # the labelled vertebra is far deeper than its body
    # the image's disc/bone contrast is weak in places: that is said, not hidden
    assert table.notes.str.contains("contrast|not resolved").all()


def test_the_real_spineps_map_without_its_vertebrae_gets_the_body_between_its_discs():
    # The real sample with its vertebra labels removed (discs and endplates kept): C6, between
    # the two discs, is derived from the space between them. Measured: its mid-height 24.36
    # against 24.80 mm with SPINEPS's label, the middle disc heights within 0.03 mm of the full
    # map's (without the derived body they were 0.7-1.6 mm off). C5 and C7 are not derived
    # (no disc beyond them): across those endplates anything but the disc counts as bone, and
    # near the posterior rim of this 1.5 mm image that moves the edge (C5-C6 posterior 7.87
    # against 7.18 mm; when a contrast test relative to the signal sent a quarter of its
    # profiles to the label boundaries, which the two maps share, 8.0 in both).
    image_path, labels_path = tptbox_sample()
    image, labels = load_volume(image_path), load_volume(labels_path)
    full = measure(image, labels, scheme="spineps").table.set_index("level")
    discs = labels.with_data(np.where(labels.data >= 100, labels.data, 0))
    got = measure(image, discs, scheme="spineps").table.set_index("level")
    assert got.loc["C6-C7", "vb_cranial_height_middle_mm"] == pytest.approx(
        full.loc["C6-C7", "vb_cranial_height_middle_mm"], abs=0.5)
    np.testing.assert_allclose(got["height_middle_mm"], full.loc[got.index, "height_middle_mm"],
                               atol=0.1)
    np.testing.assert_allclose(got[HEIGHTS], full.loc[got.index, HEIGHTS], atol=0.75)
    assert got.notes.str.contains("vertebral body C6 derived").all()


def test_the_real_spineps_map_without_its_discs_gets_them_from_the_gaps():
    # The real sample with its disc (1xx) and endplate (2xx) labels removed: each disc is
    # derived as the gap between its bodies. Where both maps' profiles found the endplate in
    # the image, the per-line heights agree to 0.27 and 0.32 mm (median; 1.5 mm voxels);
    # where either had to use its labels (a voxel apart), they differ by 1.2-1.5 mm, so the
    # reported heights differ by up to 1.6 mm (issue 11 asked for 0.3 mm: not reached on
    # this image, whose disc-bone contrast is missing on 11-42 % of the lines).
    image_path, labels_path = tptbox_sample()
    image, labels = load_volume(image_path), load_volume(labels_path)
    full = measure(image, labels).morphometry.discs
    bones = labels.with_data(np.where(labels.data >= 100, 0, labels.data))
    result = measure(image, bones, scheme="spineps")
    assert result.parameters["derived_discs"] == ["C5-C6", "C6-C7"]
    for name, d in full.items():
        g = result.morphometry.discs[name]
        assert any("derived from the gap" in n for n in g.notes)
        hg = np.interp(d.p, g.p, g.height_lines)
        own = ~d.from_labels & ~d.interpolated
        other = np.interp(d.p, g.p, (~g.from_labels & ~g.interpolated).astype(float)) > 0.99
        both = own & other
        assert both.sum() >= 10
        assert np.median(np.abs(d.height_lines - hg)[both]) < 0.5
        assert np.abs(np.subtract(g.heights, d.heights)).max() < 2.5
    # its discs removed but its endplates kept (they join the bodies): up to 1.5 mm apart
    kept = labels.with_data(np.where((labels.data > 100) & (labels.data < 200), 0,
                                     labels.data))
    gaps = measure(image, kept, scheme="spineps").morphometry.discs
    for name, d in full.items():
        assert np.abs(np.subtract(gaps[name].heights, d.heights)).max() < 2.2


def spineps_with_endplates(native):
    """The phantom map as SPINEPS writes it: endplates 200+v between disc 100+v and bone."""
    lab, _ = convert_labels(native, "native", "spineps")
    lab = lab.astype(np.int16)
    out = lab.copy()
    discs = [v for v in np.unique(lab) if 100 < v < 200]
    for disc in discs:
        near = ndimage.binary_dilation(lab == disc, iterations=1)
        bone = near & (lab > 0) & (lab < 100)
        out[bone] = 200 + (disc - 100)
    return out


def test_spineps_endplates_are_bone_of_the_nearer_body(sim, result):
    native = sim.labels.data.astype(np.int16)
    lab = spineps_with_endplates(native)
    assert (lab >= 200).sum() > 1000
    got = measure(sim.t2w, Volume(lab, sim.labels.affine))
    assert got.levels.scheme == "spineps" and "endplates" in got.levels.detected
    a, b = got.table.set_index("level"), result.table.set_index("level")
    for col in ("height_anterior_mm", "height_middle_mm", "height_posterior_mm",
                "vb_cranial_height_middle_mm", "dhi_mean_height"):
        assert np.allclose(a[col], b[col], atol=1e-3, equal_nan=True), col


def test_spineps_endplates_without_their_discs_join_the_bodies(sim, result):
    # A SPINEPS map with its discs (1xx) removed but its endplates (2xx) kept: the endplates
    # are bone of the nearer body, and the discs are the gaps between bodies and endplates.
    # Before, the endplates were ignored and blocked the gaps: heights 5-9 mm off on the real
    # sample; here within 0.15 mm (median) of the truth, as with the bodies alone.
    lab = spineps_with_endplates(sim.labels.data.astype(np.int16))
    lab[(lab > 100) & (lab < 200)] = 0
    got = measure(sim.t2w, Volume(lab, sim.labels.affine), scheme="spineps")
    table, truth = got.table.set_index("level"), sim.truth.set_index("level")
    full = result.table.set_index("level")
    assert sorted(got.parameters["derived_discs"]) == sorted(full.index)
    assert not any("without a disc" in p for p in got.parameters["label_problems"])
    err = (table[HEIGHTS] - truth.loc[table.index, HEIGHTS]).abs()
    assert err.median().max() <= 0.15
