"""The documentation builds without a warning."""

import shutil
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    sphinx = pytest.importorskip("sphinx.cmd.build")
    out = tmp_path / "html"
    status = sphinx.build_main(["-W", "--keep-going", "-q", "-b", "html", "-d",
                                str(tmp_path / "doctrees"), str(DOCS), str(out)])
    assert status == 0
    assert (out / "api" / "phantom.html").is_file()
    shutil.rmtree(out)
