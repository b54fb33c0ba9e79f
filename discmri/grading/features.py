"""Per-disc evidence for degeneration grades, from the T2-weighted image and the regions.

Every signal feature is a ratio of robust statistics (medians) of regions at the same level,
so it does not change when the image is multiplied by a constant, and a smooth bias field
changes it little (the nucleus, the outer annulus and the CSF behind the disc lie within a few
centimetres of each other). The presacral fat is one region at the sacrum: the nucleus is
compared with it through the CSF next to each.

Features (one row per measured disc):

``np_signal``, ``outer_af_signal``, ``csf_signal``, ``fat_signal``
    Upper quartile of the T2w signal of the nucleus region (its bright tissue, which a cleft or
    the annulus in the region's corners does not lower), of the outer annulus (outer 10 % of
    the depth at both ends), of the CSF in the canal behind the disc and of the presacral fat
    (image units; the same quantile everywhere, so noise lifts both sides of a ratio).
``csf_reference``
    Where the CSF signal comes from: the canal label, or, when the map has none (e.g. a
    vertebra-and-disc map), the image: the brightest fifth of a strip 1-14 mm behind the disc
    (CSF is the brightest tissue there on T2w). A level where that finds no CSF (below 0.7 of
    the other levels') takes the other levels' median, and says so.
``np_csf_ratio``, ``np_fat_ratio``, ``np_outer_af_ratio``
    Nucleus over each reference (Griffith 2007: NP signal against CSF, presacral fat and the
    outer annulus). The fat lies at the sacrum, far from the upper discs, so the nucleus is
    compared with it through the CSF: (nucleus / CSF at its level) / (fat / CSF nearest the
    fat), which a smooth bias field leaves unchanged. Each ratio has its standard error
    (``*_se``, from the regions' robust spread and voxel counts), which sets a suggestion's
    confidence.
``np_inhomogeneity``
    Interquartile range over median of the nucleus region (0 for a uniform nucleus).
``cleft_depth``
    How far the nucleus's central horizontal band falls below the bands above and below it,
    as a fraction of them: the intranuclear cleft of Griffith grade 2 (and Pfirrmann II's
    horizontal bands). 0 without a cleft.
``np_t2_ms``, ``np_adc_mm2_s``
    The nucleus's T2 and ADC when the measurement had maps: supporting evidence, stated beside
    the suggestion and not used to decide it (their values depend on the protocol).
``dhi``, ``reference_dhi``, ``height_loss_pct``
    The disc's mean-height DHI, the DHI expected for it (the level trend of the other discs
    whose nucleus is not hypointense; a normative value without any) and the loss, %
    (negative: taller than expected). ``height_reference`` says which discs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..morphometry.structure import StructureGeometry
from ..table import GRADE_EVIDENCE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from ..measure import Measurement
    from ..volume import Volume

__all__ = ["FEATURE_UNITS", "NORMATIVE_DHI", "disc_features"]

#: Mean-height DHI of a normal lumbar disc when no disc of the spine can serve as reference:
#: typical disc height 7–13 mm over vertebral body height 25–30 mm (REFERENCE.md §2), i.e.
#: 10 / 27.5 mm. Level-to-level differences (caudal discs are taller) make it a coarse guide.
NORMATIVE_DHI = 0.36

#: Quantile of each region taken as its signal: for the nucleus its bright tissue (a cleft
#: and the annulus in the region's corners lie below it); the same for the references, so
#: that noise, which lifts an upper quantile by about 0.67 σ, lifts both sides of a ratio.
SIGNAL_QUANTILE = 0.75

#: Unit and description of each feature column.
FEATURE_UNITS: dict[str, tuple[str, str]] = {
    "np_signal": ("a.u.", "upper quartile of the T2w signal of the nucleus region (its "
                          "bright tissue)"),
    "outer_af_signal": ("a.u.", "upper quartile of the T2w signal of the outer annulus (outer "
                                "10 % of the depth at both ends)"),
    "csf_signal": ("a.u.", "upper quartile of the T2w signal of the CSF behind the disc"),
    "fat_signal": ("a.u.", "upper quartile of the T2w signal of the presacral fat"),
    **{k: v for k, v in GRADE_EVIDENCE_COLUMNS.items() if k.startswith("np_")
       or k in ("csf_reference", "cleft_depth")},
    "np_t2_ms": ("ms", "nucleus T2 from a T2 map (supporting evidence only)"),
    "np_adc_mm2_s": ("mm2/s", "nucleus ADC from an ADC map (supporting evidence only)"),
    "dhi": ("1", "mean-height DHI of the disc"),
    **{k: v for k, v in GRADE_EVIDENCE_COLUMNS.items() if k in ("reference_dhi",
       "height_loss_pct", "height_reference")},
}


def _stats(values: np.ndarray, quantile: float = 0.5) -> tuple[float, float, int]:
    """A quantile, its standard error and the count of finite values.

    The standard error of a sample quantile is √(p(1−p)/n) / f(x_p); for Gaussian spread
    (robust SD from the interquartile range) that is 1.253·SD/√n at the median and
    1.362·SD/√n at the quartiles.
    """
    v = values[np.isfinite(values)]
    if v.size == 0:
        return math.nan, math.nan, 0
    value = float(np.quantile(v, quantile))
    q1, q3 = np.percentile(v, [25, 75])
    sd = (q3 - q1) / 1.349
    density = math.exp(-0.5 * _normal_quantile(quantile) ** 2) / math.sqrt(2 * math.pi)
    factor = math.sqrt(quantile * (1 - quantile)) / density
    return value, float(factor * sd / math.sqrt(v.size)), int(v.size)


def _normal_quantile(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


def _ratio(a, b) -> tuple[float, float]:
    """Ratio of two (median, se) pairs with its standard error (first order)."""
    (ma, sa), (mb, sb) = a, b
    if not (np.isfinite(ma) and np.isfinite(mb)) or mb <= 0:
        return math.nan, math.nan
    r = ma / mb
    return r, abs(r) * math.hypot(sa / ma if ma else math.inf, sb / mb)


def _cleft_depth(image: np.ndarray, affine: np.ndarray, disc: StructureGeometry) -> float:
    """Dip of the nucleus's middle band below the bands above and below it (fraction)."""
    from ..geometry import sample_world

    p = np.arange(disc.posterior + 0.3 * disc.depth, disc.anterior - 0.3 * disc.depth, 0.25)
    if p.size < 4:
        return math.nan
    lower = np.interp(p, disc.p, disc.lower)
    upper = np.interp(p, disc.p, disc.upper)
    t = np.linspace(-0.35, 0.35, 29)  # fractions of the local height about its middle
    q = 0.5 * (lower + upper)[:, None] + t[None, :] * (upper - lower)[:, None]
    prof = sample_world(image, affine, disc.frame.to_world(p[:, None], q))
    prof = np.nanmedian(prof, axis=0)  # one profile along the height, robust across AP
    if not np.isfinite(prof).all():
        return math.nan
    middle = prof[np.abs(t) <= 0.1].min()
    flanks = min(prof[t < -0.15].max(), prof[t > 0.15].max())
    return float(max(0.0, 1.0 - middle / flanks)) if flanks > 0 else math.nan


#: Share of the strip behind a disc taken as its CSF when the map has no canal label: the
#: brightest fifth (CSF is the brightest tissue there on T2w; the strip also crosses the
#: posterior longitudinal ligament, epidural fat, nerve roots or the cord).
IMAGE_CSF_TOP = 0.2

#: A level whose image CSF is below this fraction of the spine's median found none (a narrow
#: canal, or a strip into bone): the median of the other levels stands in.
IMAGE_CSF_FLOOR = 0.7


def _image_csf(image: np.ndarray, affine: np.ndarray,
               disc: StructureGeometry) -> tuple[float, float, int]:
    """CSF signal behind a disc from the image: (value, standard error, voxels used).

    A strip 1-14 mm behind the disc's posterior edge, between 20 and 80 % of the disc's
    posterior height and 1.5 mm either side of its mid-sagittal plane; its brightest fifth
    (:data:`IMAGE_CSF_TOP`) is taken as CSF and summarised by its median.
    """
    from ..geometry import sample_world

    p = np.arange(disc.posterior - 14.0, disc.posterior - 1.0, 0.5)
    lower = float(np.interp(disc.posterior, disc.p, disc.lower))
    upper = float(np.interp(disc.posterior, disc.p, disc.upper))
    q = lower + np.linspace(0.2, 0.8, 9) * (upper - lower)
    pp, qq, xx = np.meshgrid(p, q, np.array([-1.5, 0.0, 1.5]), indexing="ij")
    v = sample_world(image, affine, disc.frame.to_world(pp, qq, xx)).ravel()
    v = v[np.isfinite(v)]
    if v.size < 20:
        return math.nan, math.nan, 0
    top = v[v >= np.quantile(v, 1.0 - IMAGE_CSF_TOP)]
    return _stats(top, 0.5)


def _floor_image_csf(csf: list, sources: list[str]) -> None:
    """Replace image CSF references that found no CSF by the median of the others.

    ``csf`` holds each disc's (signal, standard error) and ``sources`` its ``csf_reference``;
    both are changed in place.
    """
    image = [i for i, source in enumerate(sources) if source == "image"]
    if len(image) < 2:
        return
    median = float(np.nanmedian([csf[i][0] for i in image]))
    for i in image:
        if csf[i][0] < IMAGE_CSF_FLOOR * median:
            csf[i] = (median, float(np.nanmedian([c[1] for c in csf])))
            sources[i] = "image, median of the other levels (none found here)"


#: Normal rise of disc height per level down the lumbar spine, as a log ratio (≈ 10 % a
#: level), and its SD between people. Midsagittal MRI middle heights rise from L1-L2 to L4-L5
#: by 1.30 times in 169 asymptomatic adults (midpoints of the reference ranges, Zhang et al.,
#: J Orthop Surg Res 2018;13:34) and 1.52 times in 106 (7.89 to 11.96 mm, Nepalese MRI
#: study): 0.087-0.139 a level; vertebral body heights change little, so DHI rises alike.
#: The individual order varies (the statistical sequence held in 36-55 % of healthy people,
#: RöFo 1997;167(1):11), hence the spread.
LEVEL_SLOPE, LEVEL_SLOPE_SD = 0.10, 0.04
#: Scatter of one normal disc's log DHI about its person's level trend (≈ 8 %, the
#: disc-to-disc spread of healthy heights at a level after the person's size).
LEVEL_SCATTER = 0.08


def _reference_dhi(names: list[str], dhi: np.ndarray, normal: np.ndarray,
                   normative: float = NORMATIVE_DHI, positions=None, *,
                   slope_sd: float = LEVEL_SLOPE_SD):
    """Expected DHI per disc from the other discs whose nucleus is not hypointense.

    Discs grow taller caudally from the thoracolumbar junction to L4-L5, and the
    lumbosacral disc is as tall as L4-L5 or less (on lateral radiographs of 211 healthy
    adults the mean heights rise from L1-L2 to L4-L5 and stay constant or fall to L5-S1:
    "The physiological pattern of lumbar intervertebral disk height", RöFo 1997;167(1):11).
    So the expectation is a line through the other discs' log DHIs against the level, read
    at the disc's level, and for the disc above S1 at the level above it (not extrapolated
    past L4-L5's rise); as a reference, the disc above S1 stands at that level too.

    The line's slope is the person's (Theil-Sen: the median of the pairwise slopes, which a
    degenerated disc among three, or two among five or more, does not pull) weighed against
    the normal rise (:data:`LEVEL_SLOPE` ± :data:`LEVEL_SLOPE_SD`) by their precisions, the
    person's being ``Σ(level − mean)² / LEVEL_SCATTER²``: two neighbouring discs barely move
    the normal rise, five over five levels set most of it. So one or two references, or
    references all on one side of the disc, are read along the normal trend instead of a
    line through two noisy points, extrapolated, or a flat mean. The line passes through the
    median of the references' intercepts. With none, ``normative`` (:data:`NORMATIVE_DHI` by
    default).

    Parameters
    ----------
    positions : sequence of float, optional
        Level of each disc (consecutive levels one apart); by default 0, 1, 2, ...
    slope_sd : float
        SD of the normal rise (:data:`LEVEL_SLOPE_SD`); ``inf`` takes the person's own slope
        alone, 0 the normal rise alone (the benchmark's baselines).
    """
    n = len(names)
    ref = np.full(n, math.nan)
    how = [""] * n
    ok = normal & np.isfinite(dhi) & (dhi > 0)
    level = np.arange(n, dtype=float) if positions is None else np.asarray(positions, float)
    # the disc above S1 stands at the level above it, as a reference and as a disc
    lumbosacral = np.array([name.endswith("-S1") for name in names], bool)
    at = level - lumbosacral
    log_dhi = np.log(np.where(ok, dhi, 1.0))
    prior = 1.0 / slope_sd**2 if slope_sd > 0 else math.inf
    for k in range(n):
        use = ok & (np.arange(n) != k)
        if not use.any():
            ref[k] = normative
            how[k] = f"normative DHI {normative:g} (no other disc with a bright nucleus)"
            continue
        x, y = at[use], log_dhi[use]
        others = ", ".join(nm for nm, u in zip(names, use, strict=True) if u)
        i, j = np.triu_indices(len(x), 1)
        apart = x[j] != x[i]
        slope, share = LEVEL_SLOPE, 0.0
        if apart.any():
            own = float(np.median((y[j] - y[i])[apart] / (x[j] - x[i])[apart]))
            weight = float(np.sum((x - x.mean()) ** 2)) / LEVEL_SCATTER**2
            share = weight / (weight + prior) if math.isfinite(prior) else 0.0
            slope = share * own + (1.0 - share) * LEVEL_SLOPE
        ref[k] = float(np.exp(np.median(y - slope * x) + slope * at[k]))
        how[k] = (f"trend of {others} ({100 * share:.0f} % own slope, "
                  f"{100 * (math.exp(slope) - 1):.0f} % a level)" + (
                      ", read at the level above (the disc above S1 is no taller than it)"
                      if lumbosacral[k] else ""))
    return ref, how


def _fat_through_csf(out, csf, fat, fat_stats, affine, measurement):
    """Nucleus over fat as (nucleus / CSF at its level) / (fat / CSF at the fat's level).

    The presacral fat lies at the sacrum, centimetres from the upper discs; a coil's bias
    field scales the two differently. Comparing each with the CSF next to it cancels that,
    as long as the CSF is evenly bright (it is one fluid). Without CSF the plain ratio stays.
    ``csf`` holds each row's (CSF signal, its standard error); ``out`` is changed in place.
    """
    from ..geometry import voxel_to_world

    if fat is None or not np.isfinite(fat_stats[0]):
        return
    ok = [i for i, c in enumerate(csf) if np.isfinite(c[0]) and c[0] > 0]
    if ok:
        centre = voxel_to_world(affine, np.argwhere(fat.mask) + [s.start for s in fat.box])
        centre = centre.mean(axis=0)
        discs = measurement.morphometry.discs
        near = min(ok, key=lambda i: float(np.linalg.norm(
            np.asarray(discs[out.level.iat[i]].frame.origin) - centre)))
        fat_csf = _ratio(fat_stats[:2], csf[near])
        for i in ok:
            r, se = _ratio((out.np_csf_ratio.iat[i], out.np_csf_ratio_se.iat[i]), fat_csf)
            out.loc[out.index[i], ["np_fat_ratio", "np_fat_ratio_se"]] = [r, se]


def disc_features(measurement: Measurement, t2w: Volume, *,
                  hypointense_ratio: float = 1.5,
                  normative_dhi: float = NORMATIVE_DHI) -> pd.DataFrame:
    """Evidence for grading every measured disc (see the module description).

    Parameters
    ----------
    measurement : Measurement
        :func:`discmri.measure` of the T2w image (its regions on the T2w grid are used).
    t2w : Volume
        The T2-weighted image it was measured on.
    hypointense_ratio : float
        Nucleus-to-outer-annulus ratio under which a disc is not a height reference (its
        nucleus is hypointense, so its height may be lost too).
    normative_dhi : float
        Expected DHI of a disc when no other disc of the spine has a bright nucleus.

    Returns
    -------
    pandas.DataFrame
        One row per measured disc, cranial to caudal: ``level`` and the columns of
        :data:`FEATURE_UNITS`.
    """
    import pandas as pd

    regions = measurement.regions["t2w"]
    data = np.asarray(t2w.data, dtype=np.float64)
    fat = regions.regions.get(("", "presacral_fat"))
    fat_stats = (_stats(fat.values(data), SIGNAL_QUANTILE) if fat is not None
                 else (math.nan, math.nan, 0))
    table = measurement.table.set_index("level")
    rows, csf, nuclei, sources, positions = [], [], [], [], []
    for position, level in enumerate(measurement.levels.discs):
        disc = measurement.morphometry.discs.get(level.name)
        if disc is None:
            continue
        positions.append(position)
        values = {}
        for region in ("np", "outer_annulus", "csf"):
            found = regions.regions.get((level.name, region))
            v = found.values(data) if found is not None else np.array([])
            values[region] = v[np.isfinite(v)]
        # the nucleus's signal is that of its bright tissue: a cleft, or the annulus that the
        # region's corners reach, darkens only the lower part of its distribution; the
        # references take the same quantile, so noise lifts both alike
        got = {region: _stats(v, SIGNAL_QUANTILE) for region, v in values.items()}
        source = "canal label"
        if got["csf"][2] == 0:  # no canal label: the CSF behind the disc, from the image
            got["csf"], source = _image_csf(data, t2w.affine, disc), "image"
        np_vals = values["np"]
        row = {"level": level.name, "np_signal": got["np"][0],
               "outer_af_signal": got["outer_annulus"][0], "fat_signal": fat_stats[0]}
        for name, ref in (("fat", fat_stats), ("outer_af", got["outer_annulus"])):
            r, se = _ratio(got["np"][:2], ref[:2])
            row[f"np_{name}_ratio"], row[f"np_{name}_ratio_se"] = r, se
        csf.append(got["csf"][:2])
        nuclei.append(got["np"][:2])
        sources.append(source)
        if np_vals.size >= 4 and np.median(np_vals) > 0:
            q1, q3 = np.percentile(np_vals, [25, 75])
            row["np_inhomogeneity"] = float((q3 - q1) / np.median(np_vals))
        else:
            row["np_inhomogeneity"] = math.nan
        row["cleft_depth"] = _cleft_depth(data, t2w.affine, disc)
        for name, column in (("dhi", "dhi_mean_height"), ("np_t2_ms", "np_t2_ms"),
                             ("np_adc_mm2_s", "np_adc_mm2_s")):
            row[name] = float(table.loc[level.name, column]) if (
                column in table.columns) else math.nan
        rows.append(row)
    # the CSF references are settled before the nucleus is compared with them
    _floor_image_csf(csf, sources)
    for row, nucleus, reference, source in zip(rows, nuclei, csf, sources, strict=True):
        row["csf_signal"], row["csf_reference"] = reference[0], source
        row["np_csf_ratio"], row["np_csf_ratio_se"] = _ratio(nucleus, reference)
    out = pd.DataFrame(rows)
    if out.empty:
        return out.reindex(columns=["level", *FEATURE_UNITS])
    _fat_through_csf(out, csf, fat, fat_stats, t2w.affine, measurement)
    normal = (out.np_outer_af_ratio >= hypointense_ratio).to_numpy()
    ref, how = _reference_dhi(out.level.tolist(), out.dhi.to_numpy(float), normal,
                              normative_dhi, positions)
    out["reference_dhi"] = ref
    out["height_loss_pct"] = 100.0 * (1.0 - out.dhi / out.reference_dhi)
    out["height_reference"] = how
    return out.reindex(columns=["level", *FEATURE_UNITS])
