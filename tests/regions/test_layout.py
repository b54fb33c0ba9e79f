"""Regions laid from the measured disc geometry on the T2w, MESE and DWI grids."""

import numpy as np
import pandas as pd
import pytest

from discmri import fit_t2
from discmri.errors import GeometryError
from discmri.morphometry import measure_spine
from discmri.regions import DISC_REGIONS, disc_regions, region_stats, resample_labels, spine_regions
from discmri.spine import SCHEMES, convert_labels, native_disc_labels, read_levels


@pytest.fixture(scope="module")
def case(morphometry_session):
    sim = morphometry_session("axial-aligned")
    levels = read_levels(sim.labels.data)
    morph = measure_spine(sim.t2w, sim.labels, levels)
    lab = sim.labels.data.astype(np.int32)
    on_mese = spine_regions(morph, lab, sim.labels.affine, SCHEMES["native"],
                            shape=sim.mese.spatial_shape, affine=sim.mese.affine)
    return sim, morph, lab, on_mese


def test_segments_partition_the_eroded_disc(case):
    sim, morph, _, regions = case
    for name, disc in morph.discs.items():
        segs = [regions.get(name, f"segment_{k}") for k in range(1, 6)]
        assert sum(s.astype(int) for s in segs).max() == 1  # disjoint
        assert all(s.any() for s in segs)
        union = np.logical_or.reduce(segs)
        assert np.array_equal(regions.get(name, "af"), segs[0] | segs[4])
        assert not (regions.get(name, "np") & ~(segs[1] | segs[2] | segs[3])).any()
        assert not (regions.get(name, "outer_annulus") & ~regions.get(name, "af")).any()
        # every voxel of the eroded regions lies wholly inside the disc: the truth labels of
        # the MESE grid call it disc, never bone or canal
        mese_lab = sim.mese_labels.data.astype(int)
        level = sim.truth.level.tolist().index(name)
        cranial = sim.geometry.vertebrae[level].name
        assert np.isin(mese_lab[union], native_disc_labels(cranial)).all()
        # segment k holds the k-th fifth of the depth, anterior first
        ijk = np.argwhere(segs[2])
        p, _, _ = disc.frame.to_local(ijk @ sim.mese.affine[:3, :3].T + sim.mese.affine[:3, 3])
        frac = (disc.anterior - p) / disc.depth
        assert frac.min() >= 0.4 and frac.max() <= 0.6


def test_central_slices_only(case):
    sim, morph, _, regions = case
    x_world = (np.argwhere(regions.get("L4-L5", "np")) @ sim.mese.affine[:3, :3].T
               + sim.mese.affine[:3, 3])[:, 0]
    assert np.abs(x_world - morph.discs["L4-L5"].frame.origin[0]).max() <= 5.0


@pytest.mark.slow
def test_nucleus_t2_from_the_regions_matches_the_truth(case):
    # Issue #5: NP T2 from the regions within 3 % of the truth. The median over the nucleus
    # region is used: the five-segment layout is a box, and its corners reach the annulus
    # around an ellipsoidal nucleus (its mean is pulled ~15 % low on healthy discs).
    sim, _, _, regions = case
    fit = fit_t2(sim.mese.data, sim.mese.meta["echo_times_ms"], mask=sim.mese.data[..., 0] > 50)
    stats = region_stats(fit.t2, regions).set_index(["level", "region"])
    truth = sim.truth.set_index("level")
    for name in truth.index:
        got = stats.loc[(name, "np"), "median"]
        want = truth.loc[name, "np_t2_ms"]
        # a disc with an intranuclear cleft (a 1 mm band of T2 60 ms across the nucleus) is
        # held to 5 % of the nucleus tissue T2
        tol = 0.05 if truth.loc[name, "cleft_mm"] > 0 else 0.03
        assert got == pytest.approx(want, rel=tol), name
        af = stats.loc[(name, "af_anterior"), "median"]
        assert af == pytest.approx(truth.loc[name, "af_t2_ms"], rel=0.03)


def test_csf_and_presacral_fat_reference_regions(case):
    sim, morph, lab, _ = case
    regions = spine_regions(morph, lab, sim.labels.affine, SCHEMES["native"],
                            shape=sim.mese.spatial_shape, affine=sim.mese.affine)
    truth_t2 = sim.t2_truth.data
    mese_lab = sim.mese_labels.data.astype(int)
    for name in morph.discs:
        csf = regions.get(name, "csf")
        assert csf.sum() >= 10
        assert (mese_lab[csf] == 301).all()
        assert np.allclose(truth_t2[csf], 2000.0)
    fat = regions.get("", "presacral_fat")
    assert fat.sum() >= 10 and (mese_lab[fat] == 302).all()
    # TotalSpineSeg has a canal label but no presacral fat
    tss, _ = convert_labels(lab, "native", "totalspineseg")
    other = spine_regions(morph, tss.astype(np.int32), sim.labels.affine,
                          SCHEMES["totalspineseg"])
    assert other.get("L4-L5", "csf").any()
    assert not other.get("", "presacral_fat").any()
    assert any("presacral fat" in n for n in other.notes)


def test_region_stats_numbers():
    rng = np.random.default_rng(0)
    values = rng.normal(100, 10, (6, 7, 8))
    values[0, 0, 0] = np.nan
    a = np.zeros(values.shape, bool)
    a[:2] = True
    b = np.zeros(values.shape, bool)
    out = region_stats(values, {("L4-L5", "np"): a, ("L4-L5", "af"): b})
    row = out.set_index("region").loc["np"]
    v = values[a]
    v = v[np.isfinite(v)]
    assert row.n == v.size and row.n_excluded == 1
    assert row["mean"] == pytest.approx(v.mean())
    assert row["median"] == pytest.approx(np.median(v))
    assert row.sd == pytest.approx(v.std(ddof=1))
    empty = out.set_index("region").loc["af"]
    assert empty.n == 0 and np.isnan(empty["mean"])
    assert list(out.columns) == ["level", "region", "n", "mean", "median", "sd", "n_excluded"]
    with pytest.raises(GeometryError, match="grid"):
        region_stats(values[:3], {("L4-L5", "np"): a})
    assert isinstance(out, pd.DataFrame)


def test_resample_labels_matches_labels_rendered_on_the_target_grid(case):
    sim, _, lab, _ = case
    same = resample_labels(lab, sim.labels.affine, lab.shape, sim.labels.affine)
    assert np.array_equal(same, lab)
    on_mese = resample_labels(lab, sim.labels.affine, sim.mese.spatial_shape, sim.mese.affine)
    truth = sim.mese_labels.data.astype(int)
    structures = truth > 0
    # nearest neighbour from 0.6 mm onto 1 mm: boundary voxels may differ, the rest agree
    assert (on_mese[structures] == truth[structures]).mean() > 0.9


def test_disc_regions_outside_the_grid_are_empty(case):
    sim, morph, _, _ = case
    affine = sim.mese.affine.copy()
    affine[2, 3] += 1000.0  # a grid far above the spine
    out = disc_regions(morph.discs["L4-L5"], sim.mese.spatial_shape, affine)
    assert set(out) == set(DISC_REGIONS)
    assert not any(r.size for r in out.values())


def test_regions_are_compact_and_pickle_exactly(case):
    import pickle

    sim, morph, _, regions = case
    blob = pickle.dumps(regions)
    full = len(regions) * int(np.prod(regions.shape))  # one byte per voxel per full mask
    assert len(blob) < full / 20
    back = pickle.loads(blob)
    for key in regions:
        assert np.array_equal(back.get(*key), regions.get(*key))
