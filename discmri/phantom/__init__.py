"""Synthetic lumbar spines with exact truth: anatomy, images, trial cohorts.

Typical use::

    rng = np.random.default_rng(0)
    session = simulate_session(random_anatomy(rng), rng=rng)
    session.t2w, session.labels, session.mese, session.dwi, session.truth
"""

from .analytic import HEIGHT_POSITIONS, SpineGeometry
from .anatomy import (
    DiscShape,
    DiscState,
    SpineAnatomy,
    VertebraShape,
    default_anatomy,
    random_anatomy,
)
from .cohort import ArmEffect, Cohort, make_cohort, sample_protocol
from .conditions import SEGMENTATION_CONDITIONS, segmentation_phantom
from .contrasts import BiasField, dwi, mese, rician, t2w_fse
from .grid import Grid, Pose, rotation_matrix
from .readers import READER_THRESHOLDS, feature_cohort, reader_grades
from .render import Mixture, render
from .session import Protocol, SimulatedSession, diffusion_directions, simulate_session
from .tissue import (
    ContrastModel,
    Tissue,
    bright_annulus_contrast,
    disc_tissue,
    griffith_grade,
    pfirrmann_from_griffith,
    t2w_contrast,
)
from .trial import TrialEffect, trial_table
from .truth import truth_table

__all__ = [
    "HEIGHT_POSITIONS",
    "READER_THRESHOLDS",
    "SEGMENTATION_CONDITIONS",
    "ArmEffect",
    "BiasField",
    "Cohort",
    "ContrastModel",
    "DiscShape",
    "DiscState",
    "Grid",
    "Mixture",
    "Pose",
    "Protocol",
    "SimulatedSession",
    "SpineAnatomy",
    "SpineGeometry",
    "Tissue",
    "TrialEffect",
    "VertebraShape",
    "bright_annulus_contrast",
    "default_anatomy",
    "diffusion_directions",
    "disc_tissue",
    "dwi",
    "feature_cohort",
    "griffith_grade",
    "make_cohort",
    "mese",
    "pfirrmann_from_griffith",
    "random_anatomy",
    "reader_grades",
    "render",
    "rician",
    "rotation_matrix",
    "segmentation_phantom",
    "sample_protocol",
    "simulate_session",
    "t2w_contrast",
    "t2w_fse",
    "trial_table",
    "truth_table",
]
