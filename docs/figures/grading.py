"""Make docs/_static/grading_qc.png: a phantom disc of every Griffith grade, as the assist sees it.

Two phantom spines (0.6 mm, SNR 30, bias field): the first with grades 1-7 from T11-T12 down
to L5-S1, the second with a collapsed grade 8 disc at L4-L5 (shown as the eighth panel by
drawing both figures and stacking them). Run from the repository root:

    python docs/figures/grading.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def main() -> None:
    from _panels import join_panels

    from discmri.grading import suggest_grades
    from discmri.measure import measure
    from discmri.phantom import DiscState, Protocol, default_anatomy, simulate_session
    from discmri.qc import grade_figure

    panels = []
    for severities, levels, title in (((1, 2, 3, 4, 5, 6, 7), None, None),
                                      ((3, 3, 3, 3, 3, 8, 3), ["L4-L5"], "")):
        anatomy = default_anatomy()
        anatomy = anatomy.with_states({n: DiscState(float(s)) for n, s in
                                       zip(anatomy.disc_names, severities, strict=True)})
        sim = simulate_session(anatomy, rng=np.random.default_rng(7), protocol=Protocol(
            t2w_snr=30.0, mese_voxel_mm=None, dwi_voxel_mm=None, bias=0.2))
        result = measure(sim.t2w, sim.labels)
        grades = suggest_grades(result, sim.t2w)
        truth = sim.truth.set_index("level").grade_griffith
        print(", ".join(f"{r.level}: phantom {truth[r.level]}, suggested {r.griffith}"
                        for r in grades.itertuples()))
        panels.append(grade_figure(result, sim.t2w, grades, levels=levels, columns=4, dpi=110,
                                   title=title))
    join_panels(panels, Path(__file__).resolve().parents[1] / "_static" / "grading_qc.png",
                across=False)


if __name__ == "__main__":
    main()
