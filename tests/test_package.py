"""The top-level package: cheap to import, and the public entry points the issues name."""

import subprocess
import sys

import discmri


def test_top_level_entry_points():
    from discmri.diffusion import fit_adc
    from discmri.io import find_sessions, load_volume
    from discmri.relaxometry import fit_t2

    assert discmri.fit_t2 is fit_t2 and discmri.fit_adc is fit_adc
    assert discmri.load_volume is load_volume and discmri.find_sessions is find_sessions
    from discmri.pipeline import process_session, run_dataset

    assert discmri.run_dataset is run_dataset and discmri.process_session is process_session
    assert set(discmri.__all__) <= set(dir(discmri)) | {"__version__"}


def test_every_top_level_part_is_reachable_as_an_attribute():
    """Issue 25: ``discmri.grading`` raised AttributeError, as did ``discmri.report``."""
    from pathlib import Path

    root = Path(discmri.__file__).parent
    parts = {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    parts |= {p.stem for p in root.glob("*.py") if not p.stem.startswith("_")}
    parts -= {"errors", "cli"}  # errors: DiscMRIError is exported; cli: the command line
    # in a fresh interpreter, where no test has imported the parts already
    code = ("import discmri; print(' '.join(getattr(discmri, n).__name__ for n in "
            f"{sorted(parts)!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [f"discmri.{n}" for n in sorted(parts)]
    from discmri.grading import suggest_grades
    from discmri.report import build_report

    assert discmri.grading.suggest_grades is suggest_grades
    assert discmri.report.build_report is build_report


def test_import_does_no_work():
    """No heavy imports at import time (pandas, scipy, SimpleITK load on first use)."""
    code = ("import sys, discmri; heavy = {'pandas', 'scipy', 'SimpleITK', 'nibabel'} & "
            "set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
