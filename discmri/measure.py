"""One image's disc table: heights, DHI and regional T2 / ADC per disc level.

This is what ``discmri measure`` runs and what the dataset pipeline will run per session: read
the levels of a label map, measure every disc and vertebral body on the T2-weighted image
(:mod:`discmri.morphometry`), lay the regions on each parameter map's grid
(:mod:`discmri.regions`) and put one row per disc level in a table.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DiscMRIError, GeometryError
from .morphometry.dhi import DHI_COLUMNS, DHI_FORMULAS, L5S1_NOTE, disc_height_index
from .morphometry.gaps import (
    DERIVED_BODY_NOTE,
    DERIVED_NOTE,
    derive_gap_bodies,
    derive_gap_discs,
)
from .morphometry.spine_morphometry import HEIGHT_POSITIONS, SpineMorphometry, measure_spine
from .morphometry.structure import edge_mode
from .regions import SpineRegions, region_stats, spine_regions
from .regions.checks import MAP_KINDS, check_map_header, check_map_values
from .spine.labels import SpineLevels, read_levels
from .spine.schemes import LabelScheme, load_scheme
from .table import MEASURED, NOT_MEASURED, columns_from
from .table import MEASUREMENT_COLUMNS as COLUMN_UNITS
from .unwrap import WRAPPED_FRACTION, unwrap_8bit
from .volume import Volume

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMN_UNITS", "L5S1_NOTE", "Measurement", "measure"]

_DHI_COLUMN = DHI_COLUMNS



@dataclass(frozen=True, eq=False)
class Measurement:
    """Everything measured on one image.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per disc level (columns :data:`COLUMN_UNITS`, DHI columns as requested).
    levels : SpineLevels
    morphometry : SpineMorphometry
    regions : dict of str to SpineRegions
        Regions on the grid of each map given (``"t2w"``, ``"t2"``, ``"adc"``).
    stats : pandas.DataFrame
        :func:`~discmri.regions.region_stats` of every map, with a ``parameter`` column
        (``"t2"``, ``"adc"``).
    parameters : dict
        Settings used (for provenance).
    """

    table: pd.DataFrame
    levels: SpineLevels
    morphometry: SpineMorphometry
    regions: dict[str, SpineRegions]
    stats: pd.DataFrame
    parameters: dict[str, Any]

    @property
    def units(self) -> dict[str, dict[str, str]]:
        """Unit and description of each column of :attr:`table`."""
        return {c: COLUMN_UNITS[c].sidecar() for c in self.table.columns}

    def sidecar(self) -> dict[str, Any]:
        """The table's JSON sidecar: column units, settings, levels and label scheme."""
        return {**self.units, "Parameters": self.parameters,
                "Levels": list(self.levels.levels), "LabelScheme": self.levels.scheme}


def _check_formulas(dhi: Sequence[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(dhi))
    bad = [f for f in out if f not in DHI_FORMULAS]
    if bad:
        raise DiscMRIError(f"unknown DHI formula(s) {bad}; expected some of "
                           f"{list(DHI_FORMULAS)}")
    return out


def _vb_values(morph: SpineMorphometry, name: str):
    vb = morph.vertebrae.get(name)
    if vb is None:
        return (math.nan,) * 3, math.nan, math.nan
    return vb.heights, vb.area_mm2, vb.depth


def _load_labels_scheme(levels: SpineLevels, scheme: str | os.PathLike[str] | LabelScheme):
    if isinstance(scheme, LabelScheme):
        return scheme
    if str(scheme) == "auto":
        return load_scheme(levels.scheme)
    return load_scheme(scheme)


def measure(
    t2w: Volume,
    labels: Volume,
    *,
    scheme: str | os.PathLike[str] | LabelScheme = "auto",
    t2map: Volume | None = None,
    adcmap: Volume | None = None,
    dhi: Sequence[str] = DHI_FORMULAS,
    positions: Sequence[float] = HEIGHT_POSITIONS,
    central_mm: float = 5.0,
    erosion_mm: float = 0.5,
    edges: str = "marrow",
    parasagittal_mm: float = 0.0,
) -> Measurement:
    """Measure every disc level of a T2-weighted image with its label map.

    Parameters
    ----------
    t2w : Volume
        T2-weighted image (3-D).
    labels : Volume
        Label map on the T2w grid, in any supported scheme.
    scheme : "auto", scheme name, JSON mapping file or LabelScheme
    t2map, adcmap : Volume, optional
        T2 (ms) and ADC (mm²/s) maps, each on its own grid (e.g. the MESE and DWI grids);
        regions are laid on each map's grid from the geometry measured on the T2w image.
    dhi : sequence of str
        DHI formulas to report (:data:`~discmri.morphometry.DHI_FORMULAS`).
    positions : sequence of 3 float
        Fractions of the AP depth (from anterior) of the three heights.
    central_mm, erosion_mm : float
        Region settings (:func:`discmri.regions.disc_regions`).
    edges : {"marrow", "endplate", "labels"}
        Where the endplate edges are placed (:data:`~discmri.morphometry.EDGE_MODES`, as in
        :func:`~discmri.morphometry.measure_structure`; default the marrow boundary).
    parasagittal_mm : float
        0 (default): heights in each disc's mid-sagittal plane; otherwise from the mean of it
        and the planes this far (mm) to either side (the "three central slices" convention;
        docs/morphometry.rst).

    Returns
    -------
    Measurement

    Raises
    ------
    DiscMRIError
        Bad input: label map off the image grid, unknown or empty labels, unknown formula,
        a map that is not 3-D.
    MapError
        A map that cannot be what it claims (:mod:`discmri.regions.checks`): an acquired image,
        other units, no finite value, no value over any disc, disc values outside the range
        of the unit.
    """
    import pandas as pd

    formulas = _check_formulas(dhi)
    edges = edge_mode(edges)
    # an 8-bit image cast rather than rescaled wraps its brightest tissues to near 0: the
    # edges are read on the unwrapped intensities
    unwrapped, wrapped = unwrap_8bit(t2w.data)
    if wrapped > WRAPPED_FRACTION:
        t2w = t2w.with_data(unwrapped)
    for key, vol in (("T2", t2map), ("ADC", adcmap)):
        if vol is not None and vol.data.ndim != 3:
            raise GeometryError(f"{key} map {vol.source or ''} has shape {vol.shape}; "
                                "expected a 3-D parameter map")
    levels = read_levels(labels.data, scheme=scheme)
    # vertebra-only maps (and discs missing between two bodies): the disc is the gap
    derived_lab, levels, derived = derive_gap_discs(labels.data, labels.affine, levels)
    if derived:
        labels = labels.with_data(derived_lab)
    # disc-only maps: the vertebral body is the gap between two discs
    body_lab, levels, bodies = derive_gap_bodies(labels.data, labels.affine, levels)
    if bodies:
        labels = labels.with_data(body_lab)
    if not levels.discs:
        raise DiscMRIError(f"label map {labels.source or ''} has no disc labels in the "
                           f"{levels.scheme} scheme and no two consecutive vertebral bodies "
                           "to find one between; expected at least one disc")
    chosen = _load_labels_scheme(levels, scheme)
    maps = {"t2": t2map, "adc": adcmap}
    for key, vol in maps.items():
        if vol is not None:
            same = vol.spatial_shape == t2w.spatial_shape and np.allclose(vol.affine, t2w.affine)
            check_map_header(key, vol.data, vol.meta, vol.source,
                             image=t2w.data if same else None)
    morph = measure_spine(t2w, labels, levels, positions=positions, edges=edges,
                          parasagittal_mm=parasagittal_mm)
    for name in derived:
        if name in morph.discs:
            disc = morph.discs[name]
            morph.discs[name] = replace(disc, notes=(*disc.notes, f"{name}: {DERIVED_NOTE}"))
    for level in levels.discs:
        near = [b for b in bodies if b in (level.cranial, level.caudal)]
        if near and level.name in morph.discs:
            disc = morph.discs[level.name]
            morph.discs[level.name] = replace(disc, notes=(*disc.notes, *(
                f"{level.name}: {DERIVED_BODY_NOTE.format(name=b)}" for b in near)))
    lab = np.asarray(labels.data).astype(np.int32)
    regions = {"t2w": spine_regions(morph, lab, labels.affine, chosen, central_mm=central_mm,
                                    erosion_mm=erosion_mm)}
    stats = []
    values: dict[str, dict[tuple[str, str], float]] = {}
    outside: dict[str, set[str]] = {}
    for key, vol in maps.items():
        if vol is None:
            continue
        regions[key] = spine_regions(morph, lab, labels.affine, chosen,
                                     shape=vol.spatial_shape, affine=vol.affine,
                                     central_mm=central_mm, erosion_mm=erosion_mm)
        st = region_stats(vol.data, regions[key])
        st.insert(0, "parameter", key)
        stats.append(st)
        values[key] = {(r.level, r.region): r.median for r in st.itertuples()}
        disc_rows = st[st.region.isin(["np", "af"])]
        check_map_values(key, disc_rows.groupby("level")["median"].median().to_dict(),
                         vol.source)
        empty = disc_rows.groupby("level")[["n", "n_excluded"]].sum()
        outside[key] = set(empty.index[(empty.n == 0) & (empty.n_excluded == 0)])
    rows = []
    for level in levels.discs:
        row: dict[str, Any] = {"level": level.name}
        disc = morph.discs.get(level.name)
        if disc is None:
            row["status"] = NOT_MEASURED
            row["notes"] = morph.failures.get(level.name, "")
            rows.append(row)
            continue
        sacral = level.caudal == "S1"
        up, low = _vb_values(morph, level.cranial), _vb_values(morph, level.caudal)
        ha, hm, hp = disc.heights
        row.update({
            "height_anterior_mm": ha, "height_middle_mm": hm, "height_posterior_mm": hp,
            "height_mean_mm": (ha + hm + hp) / 3, "ap_depth_mm": disc.depth,
            "area_mm2": disc.area_mm2, "central_area_mm2": disc.central_area_mm2,
            "volume_mm3": disc.volume_mm3, "wedge_angle_deg": disc.wedge_deg,
        })
        for side, (vb_heights, vb_area, vb_depth) in (("cranial", up), ("caudal", low)):
            for pos, h in zip(("anterior", "middle", "posterior"), vb_heights, strict=True):
                row[f"vb_{side}_height_{pos}_mm"] = h
            row[f"vb_{side}_depth_mm"] = vb_depth
            row[f"vb_{side}_area_mm2"] = vb_area
        for f in formulas:
            row[_DHI_COLUMN[f]] = disc_height_index(f, disc.heights, disc.depth,
                                                    disc.central_area_mm2, up,
                                                    None if sacral else low)
        row["dhi_note"] = L5S1_NOTE if sacral else ""
        for key in MAP_KINDS:
            if key in values:
                columns = columns_from(key)
                for col, region in columns.items():
                    row[col] = values[key].get((level.name, region), math.nan)
        notes = list(disc.notes)
        for key, names in outside.items():
            if level.name in names:
                notes.append(f"outside the {MAP_KINDS[key]['name']} map's field of view")
        for name in (level.cranial, level.caudal):
            if name in morph.vertebrae:
                notes.extend(morph.vertebrae[name].notes)
            elif name in morph.failures and name != "S1":
                notes.append(morph.failures[name])
        row["status"] = MEASURED
        row["notes"] = "; ".join(dict.fromkeys(notes))
        rows.append(row)
    columns = [c for c in COLUMN_UNITS
               if not (c in _DHI_COLUMN.values() and c not in
                       {_DHI_COLUMN[f] for f in formulas})
               and not (COLUMN_UNITS[c].source in MAP_KINDS
                        and COLUMN_UNITS[c].source not in values)]
    table = pd.DataFrame(rows).reindex(columns=columns)
    table["notes"] = table["notes"].fillna("")
    table["dhi_note"] = table["dhi_note"].fillna("")
    parameters = {"scheme": levels.scheme, "scheme_detected": levels.detected,
                  "dhi_formulas": list(formulas), "height_positions": list(positions),
                  "central_mm": central_mm, "erosion_mm": erosion_mm, "edges": edges,
                  "parasagittal_mm": parasagittal_mm,
                  "t2w_unwrapped": bool(wrapped > WRAPPED_FRACTION),
                  "label_problems": list(levels.problems),
                  "derived_discs": list(derived),
                  "region_notes": sorted({n for r in regions.values() for n in r.notes})}
    stats_df = (pd.concat(stats, ignore_index=True) if stats
                else pd.DataFrame(columns=["parameter", "level", "region", "n", "mean", "median",
                                           "sd", "n_excluded"]))
    return Measurement(table, levels, morph, regions, stats_df, parameters)
