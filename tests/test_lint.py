"""Ruff (pyflakes, pycodestyle, numpydoc docstrings, imports) passes on the whole tree."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    ruff = shutil.which("ruff")
    cmd = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    try:
        result = subprocess.run([*cmd, "check", "--no-cache", str(ROOT)], capture_output=True,
                                text=True, check=False)
    except FileNotFoundError:
        pytest.fail("ruff is not installed; it is part of the test extra")
    assert result.returncode == 0, result.stdout + result.stderr
