"""Simulate one imaging session of one participant: images, labels and truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ParameterError
from ..io.acquisition_files import world_to_bvecs
from ..volume import Volume
from .analytic import SpineGeometry
from .anatomy import SpineAnatomy
from .contrasts import BiasField, dwi, mese, rician, t2w_fse
from .grid import Grid, Pose, rotation_matrix
from .render import Mixture, render
from .truth import np_region_median, truth_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Protocol", "SimulatedSession", "diffusion_directions", "simulate_session"]


@dataclass(frozen=True)
class Protocol:
    """What a simulated session acquires, and how.

    Voxel sizes are (slice thickness left-right, AP, SI) in mm on sagittal grids. Set
    ``mese_voxel_mm`` or ``dwi_voxel_mm`` to None to skip that series. SNR is that of a
    unit-proton-density tissue with full recovery and no decay (see
    :mod:`discmri.phantom.contrasts`). Images are scaled by ``scale`` and rounded to integers,
    as a scanner stores them. With ``mese_b1`` set, the MESE echo trains follow the CPMG
    extended phase graph (stimulated echoes) at refocusing angle ``mese_refocusing_deg × B1``;
    ``mese_b1_variation`` > 0 makes B1 a smooth map around ``mese_b1`` with at most that
    relative deviation. Partial volume is rendered with sub-samples ``t2w_subsample_mm`` apart
    (per grid axis) on the T2w image, fine enough in-plane to place edges to about 0.03 mm for
    testing sub-voxel morphometry, and 0.5 mm apart on the MESE and DWI grids.
    """

    slab_mm: float = 24.0
    t2w_voxel_mm: tuple[float, float, float] = (4.0, 0.6, 0.6)
    t2w_tr_ms: float = 4000.0
    t2w_te_ms: float = 100.0
    t2w_snr: float = 40.0
    t2w_subsample_mm: tuple[float, float, float] = (1.0, 0.1, 0.1)
    mese_voxel_mm: tuple[float, float, float] | None = (4.0, 1.0, 1.0)
    mese_slab_mm: float | None = None
    echo_times_ms: tuple[float, ...] = tuple(10.0 * k for k in range(1, 17))
    mese_tr_ms: float = 2000.0
    mese_snr: float = 100.0
    mese_b1: float | None = None
    mese_b1_variation: float = 0.0
    mese_refocusing_deg: float = 180.0
    dwi_voxel_mm: tuple[float, float, float] | None = (4.0, 2.0, 2.0)
    dwi_slab_mm: float | None = None
    bvals: tuple[float, ...] = (0.0, 400.0, 800.0)
    directions: int = 3
    dwi_tr_ms: float = 3000.0
    dwi_te_ms: float = 70.0
    dwi_snr: float = 50.0
    bias: float = 0.0
    oblique_deg: float = 0.0
    scale: float = 1000.0
    anterior_margin_mm: float = 35.0
    si_margin_mm: float = 8.0


@dataclass(frozen=True, eq=False)
class SimulatedSession:
    """Images of one session with their exact truth.

    Attributes
    ----------
    geometry : SpineGeometry
    pose : Pose
    truth : pandas.DataFrame
        Per-disc truth (:func:`~discmri.phantom.truth.truth_table`), with
        ``np_region_t2_ms`` when the MESE series is simulated: the truth of the tables'
        ``np_t2_ms``, the nucleus region's median T2 on the MESE grid
        (:func:`~discmri.phantom.truth.np_region_median`).
    t2w, labels : Volume
        T2-weighted image and native label map on its grid.
    mese, mese_labels, t2_truth : Volume or None
        MESE series (``meta["echo_times_ms"]``), labels and T2 truth map (ms) on its grid.
    b1_truth : Volume or None
        B1 map on the MESE grid when the protocol simulates stimulated echoes.
    dwi, dwi_labels, adc_truth : Volume or None
        DWI series (``meta["bvals"]``, ``meta["bvecs"]`` FSL), labels and ADC truth (mm²/s).
    info : dict
        Noise levels, scale and pose, for provenance.
    """

    geometry: SpineGeometry
    pose: Pose
    truth: pd.DataFrame
    t2w: Volume
    labels: Volume
    mese: Volume | None = None
    mese_labels: Volume | None = None
    t2_truth: Volume | None = None
    b1_truth: Volume | None = None
    dwi: Volume | None = None
    dwi_labels: Volume | None = None
    adc_truth: Volume | None = None
    info: dict[str, Any] = field(default_factory=dict)


def diffusion_directions(n: int) -> np.ndarray:
    """``n`` ≥ 3 unit gradient directions: the three axes, then a spiral on the hemisphere."""
    if n < 3:
        raise ParameterError(f"need at least 3 diffusion directions, got {n}")
    if n == 3:
        return np.eye(3)
    k = np.arange(n) + 0.5
    z = 1.0 - k / n  # upper hemisphere
    r = np.sqrt(1.0 - z * z)
    phi = np.pi * (1.0 + 5**0.5) * k
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def _grids(geometry: SpineGeometry, pose: Pose, protocol: Protocol):
    a = geometry.anatomy
    lo, hi = geometry.extent()
    lo = lo.copy()
    hi = hi.copy()
    lo[1] -= a.canal_gap_mm + a.canal_ap_mm + a.back_mm + 10.0  # some air behind the back
    hi[1] += protocol.anterior_margin_mm
    lo[2] -= protocol.si_margin_mm
    hi[2] += protocol.si_margin_mm
    centre = pose.to_world(np.array([0.0, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2]))
    rot = rotation_matrix((1, 0, 0), protocol.oblique_deg)

    def grid(voxel, slab):
        fov = (slab or protocol.slab_mm, hi[1] - lo[1], hi[2] - lo[2])
        return Grid.sagittal(fov, voxel, center=centre, rotation=rot)

    return centre, grid


def _scanner_image(signal: np.ndarray, sigma: float, scale: float, rng) -> np.ndarray:
    return np.rint(rician(signal, sigma, rng) * scale).astype(np.float32)


def simulate_session(
    anatomy: SpineAnatomy,
    *,
    rng: np.random.Generator,
    protocol: Protocol | None = None,
    pose: Pose | None = None,
) -> SimulatedSession:
    """Simulate the T2w, MESE and DWI images of one session with their truth.

    Parameters
    ----------
    anatomy : SpineAnatomy
        Shapes and disc states at this visit.
    rng : numpy.random.Generator
        Noise and bias field source.
    protocol : Protocol, optional
    pose : Pose, optional
        Patient position in the scanner (identity by default).

    Returns
    -------
    SimulatedSession
    """
    protocol = Protocol() if protocol is None else protocol
    pose = Pose.identity() if pose is None else pose
    geometry = SpineGeometry(anatomy)
    centre, make_grid = _grids(geometry, pose, protocol)
    field_ = BiasField.random(rng, protocol.bias, centre)
    scale = protocol.scale
    info: dict[str, Any] = {
        "scale": scale,
        "pose_rotation": pose.rotation.tolist(),
        "pose_translation_mm": pose.translation.tolist(),
        "bias": protocol.bias,
    }

    def mixture(voxel, slab=None, subsample=0.5) -> Mixture:
        return render(geometry, make_grid(voxel, slab), pose, subsample_mm=subsample,
                      max_per_axis=12)

    def label_volume(m: Mixture) -> Volume:
        return Volume(m.labels, m.grid.affine, {"LabelScheme": "native"})

    m = mixture(protocol.t2w_voxel_mm, subsample=protocol.t2w_subsample_mm)
    sigma = 1.0 / protocol.t2w_snr
    info["t2w_sigma"] = sigma * scale
    image = t2w_fse(m, tr_ms=protocol.t2w_tr_ms, te_ms=protocol.t2w_te_ms) * field_.on(m.grid)
    t2w = Volume(
        _scanner_image(image, sigma, scale, rng), m.grid.affine,
        {"sidecar": {"RepetitionTime": protocol.t2w_tr_ms / 1000,
                     "EchoTime": protocol.t2w_te_ms / 1000}},
    )
    out: dict[str, Any] = {"t2w": t2w, "labels": label_volume(m)}
    if protocol.mese_voxel_mm is not None:
        m = mixture(protocol.mese_voxel_mm, protocol.mese_slab_mm)
        sigma = 1.0 / protocol.mese_snr
        info["mese_sigma"] = sigma * scale
        te = tuple(float(t) for t in protocol.echo_times_ms)
        b1_map = None
        if protocol.mese_b1 is not None:
            b1_map = np.full(m.grid.shape, protocol.mese_b1, np.float32)
            if protocol.mese_b1_variation > 0:
                b1_map = b1_map * BiasField.random(rng, protocol.mese_b1_variation, centre).on(
                    m.grid)
            out["b1_truth"] = Volume(b1_map, m.grid.affine)
        signal = mese(m, te, tr_ms=protocol.mese_tr_ms, b1=b1_map,
                      refocusing_deg=protocol.mese_refocusing_deg) * field_.on(m.grid)[..., None]
        out["mese"] = Volume(_scanner_image(signal, sigma, scale, rng), m.grid.affine,
                             {"echo_times_ms": te, "repetition_time_ms": protocol.mese_tr_ms})
        out["mese_labels"] = label_volume(m)
        out["t2_truth"] = Volume(m.parameter_map("t2_ms"), m.grid.affine)
    if protocol.dwi_voxel_mm is not None:
        m = mixture(protocol.dwi_voxel_mm, protocol.dwi_slab_mm)
        sigma = 1.0 / protocol.dwi_snr
        info["dwi_sigma"] = sigma * scale
        # Gradient directions are set in the acquisition (image) frame, as a scanner does.
        grid_axes = m.grid.affine[:3, :3] / np.linalg.norm(m.grid.affine[:3, :3], axis=0)
        dirs = diffusion_directions(protocol.directions) @ grid_axes.T
        bvals = [float(b) for b in protocol.bvals for _ in (range(1) if b == 0 else dirs)]
        world_arr = np.concatenate(
            [np.zeros((1, 3)) if b == 0 else dirs for b in protocol.bvals])
        signal = dwi(m, bvals, world_arr, fibre_axis_world=pose.rotation[:, 0],
                     tr_ms=protocol.dwi_tr_ms, te_ms=protocol.dwi_te_ms)
        signal = signal * field_.on(m.grid)[..., None]
        out["dwi"] = Volume(
            _scanner_image(signal, sigma, scale, rng), m.grid.affine,
            {"bvals": np.array(bvals), "bvecs": world_to_bvecs(world_arr, m.grid.affine)},
        )
        out["dwi_labels"] = label_volume(m)
        out["adc_truth"] = Volume(m.parameter_map("adc_mm2_s"), m.grid.affine)
    truth = truth_table(geometry)
    if "t2_truth" in out:  # the truth of the tables' np_t2_ms (cleft, partial volume included)
        truth["np_region_t2_ms"] = truth.level.map(
            np_region_median(geometry, pose, out["t2_truth"]))
    return SimulatedSession(geometry, pose, truth, info=info, **out)
