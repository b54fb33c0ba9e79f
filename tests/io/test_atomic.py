"""All-or-nothing writes: every file appears, or none does and nothing is left behind."""

import os
from pathlib import Path

import pytest

from discmri.errors import OutputError, OutputExistsError
from discmri.io.atomic import ensure_folder, write_all_or_nothing


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_all_files_appear(tmp_path):
    files = {tmp_path / "a.txt": b"a", tmp_path / "sub" / "b.txt": b"b"}
    assert write_all_or_nothing(files) == list(files)
    assert (tmp_path / "a.txt").read_bytes() == b"a"
    assert (tmp_path / "sub" / "b.txt").read_bytes() == b"b"
    assert not [p for p in tmp_path.rglob(".*")]


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"old")
    files = {tmp_path / "a.txt": b"new", tmp_path / "b.txt": "not bytes"}
    with pytest.raises(TypeError):
        write_all_or_nothing(files, overwrite=True)
    assert listing(tmp_path) == {"a.txt": b"old"}  # no hidden temporary file, a.txt as it was


def test_a_failure_during_the_renames_puts_everything_back(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_bytes(b"old a")
    (tmp_path / "c.txt").write_bytes(b"old c")
    files = {tmp_path / "a.txt": b"new a", tmp_path / "b.txt": b"new b",
             tmp_path / "c.txt": b"new c"}
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(Path(dst).name)
        # fail on the second rename of a new file into place (after a.txt went in)
        if Path(dst).name == "b.txt" and not Path(src).name.startswith(".b.txt.old"):
            raise OSError(28, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OutputError, match="No space left"):
        write_all_or_nothing(files, overwrite=True)
    monkeypatch.setattr(os, "replace", real)
    assert "a.txt" in calls  # a.txt had been replaced before the failure …
    assert listing(tmp_path) == {"a.txt": b"old a", "c.txt": b"old c"}  # … and is restored


def test_existing_outputs_and_inputs_are_refused_before_writing(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"keep")
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_all_or_nothing({tmp_path / "b.txt": b"b", tmp_path / "a.txt": b"x"})
    with pytest.raises(OutputExistsError, match="input"):
        write_all_or_nothing({tmp_path / "a.txt": b"x"}, overwrite=True,
                             protected=[tmp_path / "a.txt"])
    assert listing(tmp_path) == {"a.txt": b"keep"}


def test_ensure_folder(tmp_path):
    assert ensure_folder(tmp_path / "x" / "y").is_dir()
    (tmp_path / "f").write_text("file")
    with pytest.raises(OutputError, match="is a file"):
        ensure_folder(tmp_path / "f" / "y")
    with pytest.raises(OutputError, match="cannot write there"):
        ensure_folder("/proc/discmri-test")
    assert not list(tmp_path.rglob(".*"))
