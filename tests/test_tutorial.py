"""The tutorial runs as written: every bash and python block of docs/tutorial.rst, in order."""

import os
import re
import shlex
from pathlib import Path

import pytest

from discmri.cli import main

ROOT = Path(__file__).resolve().parents[1]


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of each ``.. code-block::`` of an rst text, in order."""
    found = []
    for match in re.finditer(r"^\.\. code-block:: (\w+)\n\n((?:    .*\n|\n)+)", text, re.M):
        code = "\n".join(line[4:] for line in match.group(2).splitlines()).strip()
        found.append((match.group(1), code))
    return found


@pytest.mark.slow
def test_tutorial_runs_as_written(tmp_path, monkeypatch, capsys):
    text = (ROOT / "docs" / "tutorial.rst").read_text(encoding="utf-8")
    steps = blocks(text)
    assert [lang for lang, _ in steps].count("bash") >= 3
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for lang, code in steps:
        if lang == "bash":
            for line in code.splitlines():
                argv = shlex.split(line)
                assert argv[0] == "discmri", line
                # the run would use every CPU; the suite keeps to one process here
                if argv[1] == "run" and "--workers" not in argv:
                    argv += ["--workers", "1"]
                assert main(argv[1:]) == 0, (line, capsys.readouterr())
        elif lang == "python":
            exec(compile(code, "tutorial.rst", "exec"), namespace)  # noqa: S102
    assert (tmp_path / "results" / "discs.tsv").is_file()
    assert os.path.isfile(tmp_path / "results_py" / "run.json")
    out = capsys.readouterr().out
    assert "10 sessions in" in out and "median error" in out
