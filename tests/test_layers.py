"""Data flows one way (DESIGN.md): a lower layer never imports a higher one; imports are cheap."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "discmri"

#: Rank of each top-level part of the package, lowest first (DESIGN.md, data flow).
RANK = {"_version": 0, "errors": 0, "provenance": 0, "geometry": 1, "acquisition": 1, "io": 2,
        "fitting": 3, "relaxometry": 4, "diffusion": 4, "spine": 4, "morphometry": 5, "regions": 6,
        "table": 6, "measure": 7, "grading": 7, "report": 7, "pipeline": 8, "cli": 9}
#: The phantom makes data for every layer; what it may import is checked in its own tests.
FREE = {"phantom", "__init__"}


def discmri_imports(path: Path, source: str | None = None) -> set[str]:
    """Top-level discmri parts imported by a module (relative imports resolved)."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8") if source is None else source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = (*base, *(node.module.split(".") if node.module else ()))
                if not node.module:
                    target = (*base, node.names[0].name)
            else:
                target = tuple((node.module or "").split("."))
            if target[0] == "discmri" and len(target) > 1:
                found.add(target[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "discmri" and len(parts) > 1:
                    found.add(parts[1])
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    part = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    if part in FREE:
        return
    assert part in RANK, f"{part}: give it a rank in this test and a place in DESIGN.md"
    higher = {p for p in discmri_imports(path) if p not in FREE and RANK[p] > RANK[part]}
    assert not higher, f"{path.relative_to(PACKAGE)} imports higher layers {sorted(higher)}"


def test_numerical_cores_do_not_import_io():
    for part in ("fitting", "relaxometry", "diffusion", "morphometry", "regions"):
        for path in (PACKAGE / part).glob("*.py"):
            if path.name == "outputs.py":  # writers of fitted maps, by design
                continue
            assert "io" not in discmri_imports(path) or part == "morphometry", path
    for path in (PACKAGE / "morphometry").glob("*.py"):  # the Volume container only
        source = path.read_text(encoding="utf-8")
        assert "from ..io import" not in source and "from ..io.load" not in source, path


def test_the_layer_check_sees_a_bad_import():
    labels = PACKAGE / "spine" / "labels.py"
    assert "morphometry" not in discmri_imports(labels)
    # the same module with an upward import, as spine/roi.py had before regions/ existed
    assert "morphometry" in discmri_imports(labels, "from ..morphometry import measure_spine\n")
    assert "regions" in discmri_imports(labels, "from discmri.regions.layout import Region\n")
    assert "spine" in discmri_imports(PACKAGE / "spine" / "__init__.py", "from . import labels\n")


@pytest.mark.parametrize("module", ["discmri.relaxometry", "discmri.diffusion",
                                    "discmri.morphometry", "discmri.measure",
                                    "discmri.pipeline", "discmri.io"])
def test_simpleitk_is_imported_only_for_dicom(module):
    code = f"import sys, {module}; print('SimpleITK' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "False"
