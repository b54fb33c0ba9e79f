"""A trial-like BIDS dataset made by the phantom, with its truth.

Participants are assigned to arms in turn (first arm, second arm, …). Each one gets a random
anatomy, one to three treated levels among L3-L4, L4-L5 and L5-S1 with baseline severity in the
DREAM inclusion range (Griffith 3–7), and mild degeneration elsewhere. At each visit the discs
progress naturally; at treated levels the arm's effect (change in severity and a height gain)
ramps in linearly until ``onset_months`` and stays. The patient's position in the scanner
changes a little between visits. Follow-up visits may be missed (monotone dropout).

Randomness is drawn from ``SeedSequence(seed)`` spawned per participant (and per visit), so a
larger cohort with the same seed starts with the same participants, bit for bit.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..errors import OutputExistsError, ParameterError
from ..io.nifti import save_nifti
from ..spine.levels import native_label_table
from ..volume import Volume
from .anatomy import DiscState, random_anatomy
from .grid import Pose, rotation_matrix
from .session import Protocol, SimulatedSession, simulate_session

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DIURNAL_HEIGHT_MM", "DIURNAL_NP_T2", "ArmEffect", "Cohort", "make_cohort",
           "sample_protocol"]

_TREATABLE = ("L3-L4", "L4-L5", "L5-S1")


@dataclass(frozen=True)
class ArmEffect:
    """Effect of an arm at treated levels, complete at ``onset_months``.

    Per participant the effect varies with a relative SD of ``variability``.

    Parameters
    ----------
    name : str
        Arm label, written to ``participants.tsv`` ``group``.
    delta_severity : float
        Change of Griffith severity (negative = regeneration).
    height_gain_mm : float
        Disc height gain, mm.
    variability : float
        Relative between-participant SD of the effect.
    """

    name: str
    delta_severity: float = 0.0
    height_gain_mm: float = 0.0
    variability: float = 0.3


#: DREAM-like default: MSC improves treated discs, sham does not.
DEFAULT_ARMS = (
    ArmEffect("MSC", delta_severity=-0.6, height_gain_mm=0.6),
    ArmEffect("sham", delta_severity=0.0, height_gain_mm=0.0),
)


def sample_protocol() -> Protocol:
    """The reduced protocol of the shipped sample dataset (small files, still realistic).

    T2w 1 × 1 mm in-plane, 4 mm slices, five slices, SNR 80; MESE 8 echoes 15–120 ms at
    1.5 mm on the three central slices; DWI b = 0, 400, 800 s/mm² in three directions at 2 mm,
    three slices; a 15 % bias field; 400 counts per unit signal (noise of 4–8 counts, so
    rounding to integers adds under 1 % to the noise variance).
    """
    return Protocol(
        slab_mm=20.0,
        t2w_snr=80.0,
        scale=400.0,
        t2w_voxel_mm=(4.0, 1.0, 1.0),
        mese_voxel_mm=(4.0, 1.5, 1.5),
        mese_slab_mm=12.0,
        echo_times_ms=tuple(15.0 * k for k in range(1, 9)),
        dwi_voxel_mm=(4.0, 2.0, 2.0),
        dwi_slab_mm=12.0,
        bias=0.15,
    )


@dataclass(frozen=True)
class Cohort:
    """What :func:`make_cohort` wrote.

    Attributes
    ----------
    root : Path
        The dataset folder.
    truth : pandas.DataFrame
        All per-disc truth rows with ``participant``, ``session``, ``months``, ``arm`` and
        ``treated`` columns in front (also in ``derivatives/truth/discs.tsv``).
    """

    root: Path
    truth: pd.DataFrame = field(repr=False)


#: Disc height lost from morning to evening under the day's load, mm (Boos et al., Spine
#: 1996: ≈ 0.9 mm per lumbar disc).
DIURNAL_HEIGHT_MM = 0.9

#: Nucleus T2 lost from morning to evening, as a fraction (Zhu et al., Korean J Radiol 2015:
#: −13 to −17 ms over a nucleus T2 near 110 ms).
DIURNAL_NP_T2 = 0.14


def _session_label(months: float) -> str:
    return "baseline" if months == 0 else f"month{months:g}".replace(".", "p")


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _tsv(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    def fmt(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "n/a"
        if isinstance(v, (bool, np.bool_)):
            return "true" if v else "false"
        if isinstance(v, (float, np.floating)):
            return f"{float(v):.6g}"
        return str(v)

    lines = ["\t".join(columns)] + ["\t".join(fmt(r[c]) for c in columns) for r in rows]
    return "\n".join(lines) + "\n"


def _save(volume: Volume, path: Path, dtype: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_nifti(volume, path, dtype=dtype)


def _write_session(root: Path, sub: str, ses: str, sim: SimulatedSession,
                   protocol: Protocol) -> None:
    key = f"sub-{sub}_ses-{ses}"
    base = root / f"sub-{sub}" / f"ses-{ses}"
    common = {"Manufacturer": "discmri phantom", "MagneticFieldStrength": 1.5}
    _save(sim.t2w, base / "anat" / f"{key}_T2w.nii.gz", np.int16)
    _write(base / "anat" / f"{key}_T2w.json", _json({**common, **sim.t2w.meta["sidecar"]}))
    truth = root / "derivatives" / "truth" / f"sub-{sub}" / f"ses-{ses}"
    if sim.mese is not None:
        for i, te in enumerate(sim.mese.meta["echo_times_ms"]):
            echo = Volume(sim.mese.data[..., i], sim.mese.affine)
            _save(echo, base / "anat" / f"{key}_echo-{i + 1}_MESE.nii.gz", np.int16)
            _write(base / "anat" / f"{key}_echo-{i + 1}_MESE.json",
                   _json({**common, "EchoTime": te / 1000.0,
                          "RepetitionTime": protocol.mese_tr_ms / 1000.0}))
        _save(sim.t2_truth, truth / f"{key}_desc-truth_T2map.nii.gz", np.float32)
        _save(sim.mese_labels, truth / f"{key}_space-MESE_dseg.nii.gz", np.int16)
    if sim.dwi is not None:
        dwi = base / "dwi" / f"{key}_dwi"
        _save(sim.dwi, dwi.with_name(dwi.name + ".nii.gz"), np.int16)
        _write(dwi.with_name(dwi.name + ".bval"),
               " ".join(f"{b:g}" for b in sim.dwi.meta["bvals"]) + "\n")
        _write(dwi.with_name(dwi.name + ".bvec"), "\n".join(
            " ".join(f"{v:.6f}" for v in row) for row in sim.dwi.meta["bvecs"].T) + "\n")
        _write(dwi.with_name(dwi.name + ".json"),
               _json({**common, "EchoTime": protocol.dwi_te_ms / 1000.0,
                      "RepetitionTime": protocol.dwi_tr_ms / 1000.0}))
        _save(sim.adc_truth, truth / f"{key}_desc-truth_ADC.nii.gz", np.float32)
        _save(sim.dwi_labels, truth / f"{key}_space-DWI_dseg.nii.gz", np.int16)
    labels = root / "derivatives" / "labels" / f"sub-{sub}" / f"ses-{ses}" / "anat"
    _save(sim.labels, labels / f"{key}_dseg.nii.gz", np.int16)
    _write(labels / f"{key}_dseg.json", _json({"LabelScheme": "native"}))
    _write(truth / f"{key}_discs.tsv",
           _tsv(sim.truth.to_dict("records"), list(sim.truth.columns)))
    _write(truth / f"{key}_phantom.json", _json(sim.info))


def make_cohort(
    root: str | os.PathLike[str],
    *,
    participants: int = 4,
    seed: int = 0,
    arms: Sequence[ArmEffect] = DEFAULT_ARMS,
    visits_months: Sequence[float] = (0.0, 3.0, 6.0),
    onset_months: float = 3.0,
    progression_per_year: float = 0.1,
    dropout: float = 0.1,
    protocol: Protocol | None = None,
    positioning_sd_deg: float = 3.0,
    positioning_sd_mm: float = 4.0,
    unlabelled: int = 0,
    retest: int = 0,
) -> Cohort:
    """Write a trial-like BIDS dataset with its labels and truth.

    Parameters
    ----------
    root : path-like
        Dataset folder to create; it must not exist (or be empty). The dataset is written to a
        temporary folder beside it and renamed at the end, so a failure leaves nothing.
    participants : int
        Number of participants, assigned to ``arms`` in turn.
    seed : int
        Seed of all randomness.
    arms : sequence of ArmEffect
        Arms and their effects at treated levels.
    visits_months : sequence of float
        Visit times since injection; the first must be 0 (baseline).
    onset_months : float
        Time at which the treatment effect is complete.
    progression_per_year : float
        Natural increase of severity of every disc, per year.
    dropout : float
        Probability of missing each follow-up visit (and all later ones).
    protocol : Protocol, optional
        Acquisition (defaults to :func:`sample_protocol`).
    positioning_sd_deg, positioning_sd_mm : float
        Between-visit variation of the patient's rotation in the sagittal plane and position.
    unlabelled : int
        Number of sessions, the last ones written, that get no label map in
        ``derivatives/labels``, so that a run segments them from the T2w image as it would a
        session no other tool labelled. Their label maps go to ``derivatives/truth``
        (``<key>_dseg.nii.gz``), where the truth of the segmentation can be read.

    retest : int
        The first ``retest`` participants are scanned twice at baseline, days apart
        (``ses-baselineretest``, months 0): repositioned as between visits, new noise, and
        each scan at its own time of day (uniform between morning and evening) — disc
        heights :data:`DIURNAL_HEIGHT_MM` and nucleus T2 :data:`DIURNAL_NP_T2` lower by
        evening, the same for every disc of the scan. Their truth rows give each scan's
        heights and T2. Other participants, and cohorts without retests, are as before.

    Returns
    -------
    Cohort
    """
    import pandas as pd

    root = Path(root)
    if participants < 1:
        raise ParameterError(f"participants must be >= 1, got {participants}")
    if not arms:
        raise ParameterError("at least one arm is needed")
    visits = [float(v) for v in visits_months]
    increasing = all(b > a for a, b in zip(visits[:-1], visits[1:], strict=True))
    if not visits or visits[0] != 0 or not increasing:
        raise ParameterError(f"visits_months {visits_months!r} must start at 0 and increase")
    if not 0.0 <= dropout < 1.0:
        raise ParameterError(f"dropout must be in [0, 1), got {dropout}")
    for name, value in (("unlabelled", unlabelled), ("retest", retest)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ParameterError(f"{name} must be a whole number >= 0, got {value!r}")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise OutputExistsError(f"{root}: exists and is not an empty folder; choose a new one")
    protocol = sample_protocol() if protocol is None else protocol
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        truth = _fill(tmp, participants, seed, list(arms), visits, onset_months,
                      progression_per_year, dropout, protocol, positioning_sd_deg,
                      positioning_sd_mm, int(unlabelled), int(retest))
        if root.exists():
            root.rmdir()
        os.replace(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Cohort(root, pd.DataFrame(truth))


def _fill(root: Path, n: int, seed: int, arms: list[ArmEffect], visits: list[float],
          onset: float, progression: float, dropout: float, protocol: Protocol,
          sd_deg: float, sd_mm: float, unlabelled: int,
          retest: int = 0) -> list[dict[str, Any]]:
    parameters = {
        "participants": n, "seed": seed, "arms": [asdict(a) for a in arms],
        "visits_months": visits, "onset_months": onset, "progression_per_year": progression,
        "dropout": dropout, "protocol": asdict(protocol), "positioning_sd_deg": sd_deg,
        "positioning_sd_mm": sd_mm, "unlabelled": unlabelled,
        **({"retest": retest} if retest else {}),
    }
    generated = [{"Name": "discmri.phantom.make_cohort", "Version": __version__,
                  "Parameters": parameters}]
    _write(root / "dataset_description.json", _json({
        "Name": "discmri phantom cohort", "BIDSVersion": "1.9.0", "DatasetType": "raw",
        "GeneratedBy": generated}))
    for sub in ("labels", "truth"):
        _write(root / "derivatives" / sub / "dataset_description.json", _json({
            "Name": f"discmri phantom {sub}", "BIDSVersion": "1.9.0",
            "DatasetType": "derivative", "GeneratedBy": generated}))
    participants_rows, all_truth, written = [], [], []
    lumbar_table = None
    for i in range(n):
        sub = f"{i + 1:02d}"
        arm = arms[i % len(arms)]
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i, 0)))
        anatomy = random_anatomy(rng)
        lumbar_table = native_label_table(tuple(v.name for v in anatomy.vertebrae))
        n_treated = int(rng.integers(1, 4))
        treated = sorted(rng.choice(_TREATABLE, size=n_treated, replace=False).tolist(),
                         key=_TREATABLE.index)
        baseline = {}
        for d in anatomy.disc_names:
            hi = 3.5 if d.startswith("L") else 2.5
            baseline[d] = float(rng.uniform(3.0, 7.0) if d in treated else rng.uniform(1.0, hi))
        scale = max(0.0, 1.0 + arm.variability * rng.standard_normal())
        effect_sev, effect_gain = arm.delta_severity * scale, arm.height_gain_mm * scale
        present = [True]
        for _ in visits[1:]:
            present.append(present[-1] and rng.random() >= dropout)
        participants_rows.append({"participant_id": f"sub-{sub}", "group": arm.name,
                                  "treated_levels": ";".join(treated)})
        session_rows = []
        scans = [(v, months, "") for v, months in enumerate(visits)]
        if i < retest:
            scans.insert(1, (0, 0.0, "retest"))
        # a time of day per scan of a participant with a retest (others are not affected)
        day = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i, 10_000)))
        for v, months, tag in scans:
            if not present[v]:
                continue
            ramp = min(months / onset, 1.0) if onset > 0 else 1.0
            states = {}
            for d, s0 in baseline.items():
                s = s0 + progression * months / 12.0
                gain = 0.0
                if d in treated:
                    s += ramp * effect_sev
                    gain = ramp * effect_gain
                states[d] = DiscState(float(np.clip(s, 1.0, 8.0)), gain)
            if i < retest and v == 0:
                late = float(day.uniform()) - 0.5  # −½ morning … +½ evening
                states = {d: replace(st, height_gain_mm=st.height_gain_mm
                                     - DIURNAL_HEIGHT_MM * late,
                                     np_t2_scale=1.0 - DIURNAL_NP_T2 * late)
                          for d, st in states.items()}
            key = (i, v + 1) if not tag else (i, 10_001)
            vrng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
            pose = Pose(rotation_matrix((1, 0, 0), sd_deg * vrng.standard_normal()),
                        sd_mm * vrng.standard_normal(3))
            sim = simulate_session(anatomy.with_states(states), rng=vrng, protocol=protocol,
                                   pose=pose)
            ses = _session_label(months) + tag
            _write_session(root, sub, ses, sim, protocol)
            written.append((sub, ses))
            session_rows.append({"session_id": f"ses-{ses}", "months": months})
            for row in sim.truth.to_dict("records"):
                all_truth.append({"participant": f"sub-{sub}", "session": f"ses-{ses}",
                                  "months": months, "arm": arm.name,
                                  "treated": row["level"] in treated, **row})
        _write(root / f"sub-{sub}" / f"sub-{sub}_sessions.tsv",
               _tsv(session_rows, ["session_id", "months"]))
    _write(root / "participants.tsv",
           _tsv(participants_rows, ["participant_id", "group", "treated_levels"]))
    _write(root / "participants.json", _json({
        "group": {"Description": "trial arm"},
        "treated_levels": {"Description": "disc levels injected, ';'-separated"}}))
    _write(root / "derivatives" / "labels" / "dseg.tsv",
           _tsv([{"index": v, "name": name} for v, name in lumbar_table or []],
                ["index", "name"]))
    for sub, ses in written[len(written) - unlabelled:] if unlabelled else ():
        _unlabel(root, sub, ses)
    columns = list(all_truth[0].keys())
    _write(root / "derivatives" / "truth" / "discs.tsv", _tsv(all_truth, columns))
    cli = (arms == list(DEFAULT_ARMS) and protocol == sample_protocol()
           and (onset, progression, sd_deg, sd_mm) == (3.0, 0.1, 3.0, 4.0))
    unlabelled_keys = [f"sub-{a}_ses-{b}" for a, b in written[len(written) - unlabelled:]] \
        if unlabelled else []
    _write(root / "README", _readme(n, seed, arms, visits, dropout, participants_rows,
                                    unlabelled_keys, cli=cli))
    return all_truth


def _unlabel(root: Path, sub: str, ses: str) -> None:
    """Move a session's label map from ``derivatives/labels`` to ``derivatives/truth``."""
    key = f"sub-{sub}_ses-{ses}"
    labels = root / "derivatives" / "labels" / f"sub-{sub}" / f"ses-{ses}"
    truth = root / "derivatives" / "truth" / f"sub-{sub}" / f"ses-{ses}"
    os.replace(labels / "anat" / f"{key}_dseg.nii.gz", truth / f"{key}_dseg.nii.gz")
    os.replace(labels / "anat" / f"{key}_dseg.json", truth / f"{key}_dseg.json")
    shutil.rmtree(labels)
    if not any(labels.parent.iterdir()):
        labels.parent.rmdir()


def _readme(n: int, seed: int, arms: list[ArmEffect], visits: list[float], dropout: float,
            participants: list[dict[str, str]], unlabelled: list[str], *, cli: bool) -> str:
    counts = ", ".join(
        f"{a.name} (n={sum(r['group'] == a.name for r in participants)})" for a in arms)
    lines = [
        f"Synthetic lumbar spine MRI made by discmri {__version__} (discmri.phantom.make_cohort).",
        "",
        f"Arms: {counts}; visits at {', '.join(f'{v:g}' for v in visits)} months; seed {seed};",
        f"dropout {dropout:g} per follow-up visit. Labels (native scheme) are in",
        "derivatives/labels, the exact truth (per-disc table, T2 and ADC maps, labels on the",
        "MESE and DWI grids) in derivatives/truth. All parameters are in",
        "dataset_description.json (GeneratedBy).",
    ]
    if unlabelled:
        lines += ["", "Without a label map (a run segments them from the T2w image; their labels",
                  f"are in derivatives/truth): {', '.join(unlabelled)}."]
    if cli:
        visit_arg = ",".join(f"{v:g}" for v in visits)
        lines += ["", "Remake it bit for bit with:", "",
                  f"    discmri sample-data OUT --participants {n} --seed {seed} "
                  f"--visits {visit_arg} --dropout {dropout:g} --unlabelled {len(unlabelled)}"]
    return "\n".join(lines) + "\n"
