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


def test_import_does_no_work():
    """No heavy imports at import time (pandas, scipy, SimpleITK load on first use)."""
    code = ("import sys, discmri; heavy = {'pandas', 'scipy', 'SimpleITK', 'nibabel'} & "
            "set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
