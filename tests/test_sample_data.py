"""The shipped sample dataset is what ``discmri sample-data`` makes, bit for bit."""

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from discmri.cli import main
from discmri.io import find_sessions

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_sample_data_is_reproduced_bit_for_bit(tmp_path):
    # Every participant is drawn from the seed alone (a larger cohort extends a smaller one:
    # tests/phantom/test_cohort.py), so remaking the first participant checks the shipped
    # files against the current phantom at a quarter of the cost of remaking all four.
    again = tmp_path / "again"
    assert main(["sample-data", str(again), "--participants", "1", "--unlabelled", "0"]) == 0
    shipped, remade = digest(SAMPLE), digest(again)
    first = sorted(k for k in remade if "sub-01" in k)
    assert len(first) > 20
    differ = [k for k in first if shipped.get(k) != remade[k]]
    truth = "derivatives/truth/discs.tsv"
    rows = pd.read_csv(SAMPLE / truth, sep="\t", dtype=str)
    rows_again = pd.read_csv(again / truth, sep="\t", dtype=str)
    if not rows[rows.participant == "sub-01"].reset_index(drop=True).equals(rows_again):
        differ.append(truth)
    assert not differ, (
        f"sample_data/ differs from `discmri sample-data` in {len(differ)} files, e.g. "
        f"{differ[:5]}; if the phantom changed on purpose, remake it with "
        "`rm -r sample_data && discmri sample-data sample_data`")


def test_sample_data_is_complete_and_small():
    sessions = find_sessions(SAMPLE)
    assert len({s.participant for s in sessions}) == 4
    assert {s.arm for s in sessions} == {"MSC", "sham"}
    assert {s.months for s in sessions} == {0.0, 3.0, 6.0}
    for s in sessions:  # one session has no label map: a run segments it
        assert s.problems == ()
    assert [s.missing for s in sessions if s.missing] == [("labels",)]
    unlabelled = next(s for s in sessions if s.missing)
    assert (SAMPLE / "derivatives" / "truth" / f"sub-{unlabelled.participant}"
            / f"ses-{unlabelled.session}"
            / f"sub-{unlabelled.participant}_ses-{unlabelled.session}_dseg.nii.gz").is_file()
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size < 15e6
    assert (SAMPLE / "README").read_text().count("discmri sample-data OUT") == 1
