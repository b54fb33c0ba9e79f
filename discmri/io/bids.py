"""Find the sessions of a BIDS dataset laid out as in discmri's design.

::

    participants.tsv                  participant_id, group, treated_levels ("L4-L5;L5-S1")
    sub-01/sub-01_sessions.tsv        session_id, months
    sub-01/ses-baseline/anat/sub-01_ses-baseline_T2w.nii.gz
    sub-01/ses-baseline/anat/sub-01_ses-baseline_echo-1_MESE.nii.gz (+ .json with EchoTime)
    sub-01/ses-baseline/dwi/sub-01_ses-baseline_dwi.nii.gz + .bval + .bvec
    derivatives/labels/sub-01/ses-baseline/anat/sub-01_ses-baseline_dseg.nii.gz (+ .json)
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import nibabel as nib
import numpy as np

from ..errors import DatasetError, DiscMRIError, InputNotFoundError
from .acquisition_files import echo_times_from_sidecar, sibling, validate_echo_times
from .bidsname import parse_bids_name, read_json, read_sidecar

__all__ = ["HINTS", "Session", "find_sessions", "read_tsv"]


@dataclass(frozen=True)
class Session:
    """What one participant × session of a dataset holds.

    Attributes
    ----------
    participant : str
        Participant label without ``sub-``.
    session : str or None
        Session label without ``ses-``; None for a dataset without session folders.
    path : Path
        The session folder.
    arm : str or None
        ``group`` column of ``participants.tsv``.
    treated_levels : tuple of str
        Disc levels treated, from ``participants.tsv`` (``"L4-L5;L5-S1"``).
    months : float or None
        Time since injection (baseline 0) from ``sub-<label>_sessions.tsv``.
    t2w : Path or None
        T2-weighted image.
    mese : tuple of Path
        Multi-echo spin-echo files in echo order (one 4-D file, or one per echo).
    echo_times_ms : tuple of float or None
        Echo times of ``mese`` from the sidecars, ms.
    dwi, bval, bvec : Path or None
        Diffusion series and its gradient tables.
    labels : Path or None
        Label map under ``derivatives/labels``.
    label_scheme : str or None
        ``LabelScheme`` named in the label map's sidecar.
    missing : tuple of str
        Parts the session lacks (``"T2w"``, ``"MESE"``, ``"DWI"``, ``"labels"``).
    problems : tuple of str
        What is wrong with parts that are present (one sentence each).
    hint_l5s1 : tuple of 3 float or None
        For segmenting a session without a label map: a scanner point (RAS mm) in the L5-S1
        disc, from :data:`HINTS` (``hint_l5s1`` column).
    level_range : str or None
        The same: the discs in view, ``FIRST..LAST`` (``level_range`` column).
    hints : Path or None
        The hints file, when it has a row for this session (an input of the session).
    """

    participant: str
    session: str | None
    path: Path
    arm: str | None = None
    treated_levels: tuple[str, ...] = ()
    months: float | None = None
    t2w: Path | None = None
    mese: tuple[Path, ...] = ()
    echo_times_ms: tuple[float, ...] | None = None
    dwi: Path | None = None
    bval: Path | None = None
    bvec: Path | None = None
    labels: Path | None = None
    label_scheme: str | None = None
    missing: tuple[str, ...] = field(default=())
    problems: tuple[str, ...] = field(default=())
    hint_l5s1: tuple[float, float, float] | None = None
    level_range: str | None = None
    hints: Path | None = None

    @property
    def key(self) -> str:
        """``sub-<p>_ses-<s>`` (or ``sub-<p>``), the prefix of this session's file names."""
        return f"sub-{self.participant}" + (f"_ses-{self.session}" if self.session else "")


#: Where a dataset gives segmentation hints for sessions without a label map: columns
#: ``participant_id``, ``session`` (empty without session folders), ``hint_l5s1`` (``X,Y,Z``,
#: scanner mm) and ``level_range`` (``FIRST..LAST``, e.g. ``T12-L1..L4-L5``); ``n/a`` or empty
#: where not given.
HINTS = Path("derivatives") / "labels" / "hints.tsv"


def _read_hints(root: Path, known: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """Segmentation hints by (participant, session) label, checked line by line."""
    path = root / HINTS
    if not path.is_file():
        return {}
    table = read_tsv(path)
    if table and "participant_id" not in table[0]:
        raise DatasetError(f"{path}: no participant_id column; expected participant_id, "
                           "session, hint_l5s1, level_range")
    out: dict[tuple[str, str], dict] = {}
    for line, row in enumerate(table, start=2):
        key = (row.get("participant_id", "").strip().removeprefix("sub-"),
               (row.get("session") or "").strip().removeprefix("ses-"))
        where = f"{path}, line {line}"
        if key not in known:
            raise DatasetError(f"{where}: sub-{key[0]}" + (f" ses-{key[1]}" if key[1] else "")
                               + " is not a session of the dataset")
        hint = (row.get("hint_l5s1") or "").strip()
        levels = (row.get("level_range") or "").strip()
        entry: dict = {}
        if hint and hint != "n/a":
            try:
                values = tuple(float(v) for v in hint.split(","))
            except ValueError:
                values = ()
            if len(values) != 3 or not all(math.isfinite(v) for v in values):
                raise DatasetError(f"{where}: hint_l5s1 {hint!r}; expected X,Y,Z in scanner mm")
            entry["hint_l5s1"] = values
        if levels and levels != "n/a":
            if levels.count("..") != 1:
                raise DatasetError(f"{where}: level_range {levels!r}; expected FIRST..LAST, "
                                   "e.g. T12-L1..L4-L5")
            entry["level_range"] = levels
        if not entry:
            raise DatasetError(f"{where}: neither hint_l5s1 nor level_range given")
        out[key] = entry
    return out


def read_tsv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Read a BIDS TSV file into a list of row dicts (``n/a`` kept as text)."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: not a readable TSV file ({exc})") from exc
    return rows


def _level_name(text: str) -> str:
    """A disc level as written by hand ("l4/l5", "L4–L5") in discmri's spelling ("L4-L5")."""
    return "-".join(part.strip() for part in
                    text.strip().upper().replace("/", "-").replace("–", "-").split("-"))


def _nifti(folder: Path, pattern: str) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(pattern) if p.name.endswith((".nii", ".nii.gz")))


def _one(files: list[Path], what: str, problems: list[str]) -> Path | None:
    if len(files) > 1:
        problems.append(f"{len(files)} {what} files ({', '.join(f.name for f in files)}); "
                        "expected one, none used")
        return None
    return files[0] if files else None


def _mese(anat: Path, root: Path, problems: list[str]):
    per_echo = []
    for f in _nifti(anat, "*_MESE.nii*"):
        name = parse_bids_name(f)
        if name is not None and name.get("echo") is not None:
            per_echo.append((name.get("echo"), f))
    four_d = [f for f in _nifti(anat, "*_MESE.nii*") if "_echo-" not in f.name]
    if per_echo:
        try:
            per_echo.sort(key=lambda item: int(item[0]))
        except ValueError:
            problems.append("MESE echo entities are not integers; expected echo-1, echo-2, …")
            return (), None
        files = tuple(f for _, f in per_echo)
        try:
            te = [t for f in files for t in echo_times_from_sidecar(read_sidecar(f, root=root),
                                                                     source=f)]
            te = validate_echo_times(te, n_echoes=len(files), source=files[0])
        except DiscMRIError as exc:
            problems.append(str(exc))
            return files, None
        return files, tuple(float(t) for t in te)
    f = _one(four_d, "4-D MESE", problems)
    if f is None:
        return (), None
    try:
        shape = nib.load(f).shape
        n = shape[3] if len(shape) > 3 else 1
        te = echo_times_from_sidecar(read_sidecar(f, root=root), source=f)
        te = validate_echo_times(te, n_echoes=n, source=f)
    except DiscMRIError as exc:
        problems.append(str(exc))
        return (f,), None
    return (f,), tuple(float(t) for t in te)


def _check_grid(image: Path, labels: Path, problems: list[str]) -> None:
    try:
        a, b = nib.load(image), nib.load(labels)
    except Exception as exc:  # noqa: BLE001 - unreadable files are reported, not fatal
        problems.append(f"cannot read image header ({exc})")
        return
    if a.shape[:3] != b.shape[:3]:
        problems.append(f"{labels.name}: shape {b.shape[:3]} does not match T2w {a.shape[:3]}")
    elif not np.allclose(a.affine, b.affine, atol=1e-3):
        problems.append(f"{labels.name}: affine does not match the T2w image")


def _months(sub_dir: Path, participant: str, problems_by_session: dict) -> dict[str, float | None]:
    path = sub_dir / f"sub-{participant}_sessions.tsv"
    if not path.is_file():
        return {}
    out: dict[str, float | None] = {}
    for row in read_tsv(path):
        sid = row.get("session_id", "").removeprefix("ses-")
        try:
            out[sid] = float(row.get("months", "n/a"))
        except ValueError:
            problems_by_session.setdefault(sid, []).append(
                f"{path.name}: months {row.get('months')!r} is not a number"
            )
            out[sid] = None
    return out


def find_sessions(
    root: str | os.PathLike[str],
    *,
    participants: str | os.PathLike[str] | None = None,
) -> list[Session]:
    """List every participant × session of a BIDS dataset with what it holds.

    Missing or faulty pieces are recorded per session (``missing``, ``problems``) and never stop
    the walk; only a root that does not exist or holds no participant is an error.

    Parameters
    ----------
    root : path-like
        Dataset folder (holding ``participants.tsv`` and ``sub-*`` folders).
    participants : path-like, optional
        A ``participants.tsv`` to use instead of the dataset's own (e.g. the arms, kept apart
        from the images until unblinding).

    Returns
    -------
    list of Session
        Sorted by participant, then session.

    Raises
    ------
    InputNotFoundError
        If ``root`` does not exist.
    DatasetError
        If ``root`` holds no ``sub-*`` folder, or its segmentation hints (:data:`HINTS`) name a
        session it does not have or a value that is not a point or a level range (the line is
        named).
    """
    root = Path(root)
    if not root.exists():
        raise InputNotFoundError(f"{root}: no such dataset folder")
    if not root.is_dir():
        raise DatasetError(f"{root}: is a file, expected a BIDS dataset folder")
    subjects = sorted(p for p in root.glob("sub-*") if p.is_dir())
    if not subjects:
        raise DatasetError(
            f"{root}: no participant folders (sub-*) found; expected a BIDS dataset with "
            "participants.tsv and sub-<label>/ folders"
        )
    rows: dict[str, dict[str, str]] = {}
    ptsv = root / "participants.tsv" if participants is None else Path(participants)
    if participants is not None and not ptsv.is_file():
        raise InputNotFoundError(f"participants file {ptsv}: no such file")
    if ptsv.is_file():
        table = read_tsv(ptsv)
        if participants is not None and table and "participant_id" not in table[0]:
            raise DatasetError(f"participants file {ptsv}: no participant_id column; expected "
                               "participant_id, group, treated_levels")
        for row in table:
            rows[row.get("participant_id", "").removeprefix("sub-")] = row
    labels_root = root / "derivatives" / "labels"
    sessions = []
    for sub_dir in subjects:
        participant = sub_dir.name.removeprefix("sub-")
        prow = rows.get(participant)
        extra: dict[str, list[str]] = {}
        months = _months(sub_dir, participant, extra)
        ses_dirs = sorted(p for p in sub_dir.glob("ses-*") if p.is_dir()) or [sub_dir]
        for ses_dir in ses_dirs:
            label = ses_dir.name.removeprefix("ses-") if ses_dir != sub_dir else None
            problems = list(extra.get(label or "", []))
            missing = []
            if prow is None:
                problems.append("participant not listed in participants.tsv")
            arm = (prow or {}).get("group") or None
            treated = tuple(
                _level_name(t) for t in (prow or {}).get("treated_levels", "").split(";")
                if t.strip() and t.strip() != "n/a"
            )
            if label is not None and months and label not in months:
                problems.append(f"session not listed in sub-{participant}_sessions.tsv")
            anat, dwi_dir = ses_dir / "anat", ses_dir / "dwi"
            t2w = _one(_nifti(anat, "*_T2w.nii*"), "T2w", problems)
            mese, te = _mese(anat, root, problems)
            dwi = _one(_nifti(dwi_dir, "*_dwi.nii*"), "dwi", problems)
            bval = bvec = None
            if dwi is not None:
                bval, bvec = sibling(dwi, ".bval"), sibling(dwi, ".bvec")
                for f in (bval, bvec):
                    if not f.is_file():
                        problems.append(f"{f.name} missing beside {dwi.name}")
                bval = bval if bval.is_file() else None
                bvec = bvec if bvec.is_file() else None
            rel = ses_dir.relative_to(root)
            lab = _one(_nifti(labels_root / rel / "anat", "*_dseg.nii*"), "dseg", problems)
            scheme = None
            if lab is not None:
                side = sibling(lab, ".json")
                if side.is_file():
                    try:
                        scheme = read_json(side).get("LabelScheme")
                    except DiscMRIError as exc:
                        problems.append(str(exc))
                if t2w is not None:
                    _check_grid(t2w, lab, problems)
            for name, value in (("T2w", t2w), ("MESE", mese), ("DWI", dwi), ("labels", lab)):
                if not value:
                    missing.append(name)
            sessions.append(
                Session(
                    participant=participant,
                    session=label,
                    path=ses_dir,
                    arm=arm,
                    treated_levels=treated,
                    months=months.get(label or "") if label is not None else None,
                    t2w=t2w,
                    mese=mese,
                    echo_times_ms=te,
                    dwi=dwi,
                    bval=bval,
                    bvec=bvec,
                    labels=lab,
                    label_scheme=scheme,
                    missing=tuple(missing),
                    problems=tuple(problems),
                )
            )
    hints = _read_hints(root, {(s.participant, s.session or "") for s in sessions})
    for i, s in enumerate(sessions):
        given = hints.get((s.participant, s.session or ""))
        if given:
            sessions[i] = replace(s, hints=root / HINTS, **given)
    return sessions
