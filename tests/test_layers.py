"""Data flows one way (DESIGN.md): a lower layer never imports a higher one; imports are cheap."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "discmri"

#: Rank of every top-level part of the package, lowest first (DESIGN.md, data flow); the one
#: list of the layers. A module may import its own rank or lower, never higher.
RANK = {"__init__": 0, "_version": 0, "errors": 0, "provenance": 0,
        "geometry": 1, "acquisition": 1, "volume": 1, "unwrap": 1, "plotting": 1,
        "fitting": 2,
        "relaxometry": 3, "diffusion": 3, "spine": 3,
        "io": 4, "morphometry": 4,
        "regions": 5, "table": 5, "phantom": 5,
        "measure": 6, "grading": 6, "report": 6, "planning": 6,
        "qc": 7,
        "pipeline": 8,
        "cli": 9}
#: Parts that compute on arrays: they take and return arrays and Volumes, never files.
NUMERICAL = ("fitting", "relaxometry", "diffusion", "spine", "morphometry", "regions")


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


def module_name(path: Path) -> tuple[str, ...]:
    """``discmri/report/build.py`` → ("discmri", "report", "build"); a package's __init__ is
    the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def module_imports(path: Path, source: str | None = None) -> set[tuple[str, ...]]:
    """The discmri modules a module imports, anywhere in it (in functions too): a package's
    ``__init__`` when a name is taken from the package, a submodule when one is."""
    own = module_name(path)
    package = own if path.name == "__init__.py" else own[:-1]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = (*base, *(node.module.split(".") if node.module else ()))
            else:
                target = tuple((node.module or "").split("."))
            if target[0] != "discmri":
                continue
            for alias in node.names:
                sub = (*target, alias.name)
                is_module = (PACKAGE.parent.joinpath(*sub).with_suffix(".py").is_file()
                             or PACKAGE.parent.joinpath(*sub, "__init__.py").is_file())
                found.add(sub if is_module else target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "discmri":
                    found.add(tuple(alias.name.split(".")))
    return {t for t in found if t != own}


def import_cycle() -> list[tuple[str, ...]] | None:
    """A cycle in the graph of discmri's modules, or None (depth-first search)."""
    graph = {module_name(p): module_imports(p) for p in MODULES}
    state: dict[tuple[str, ...], int] = {}
    stack: list[tuple[str, ...]] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    part = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    assert part in RANK, f"{part}: give it a rank in this test and a place in DESIGN.md"
    higher = {p for p in discmri_imports(path) if RANK[p] > RANK[part]}
    assert not higher, f"{path.relative_to(PACKAGE)} imports higher layers {sorted(higher)}"


def test_modules_inside_packages_form_no_cycle():
    """No two modules import each other, directly or round a loop, inside a package or
    across; a module that imports its own package's __init__ is such a loop."""
    cycle = import_cycle()
    assert cycle is None, " → ".join(".".join(m) for m in cycle)


def test_the_cycle_check_sees_a_loop():
    build = PACKAGE / "report" / "build.py"
    figures = ("discmri", "report", "figures")
    assert figures in module_imports(build)  # the page's figures are drawn by build_report
    # figures.py importing build back, as it once did for the Report type
    assert ("discmri", "report", "build") in module_imports(PACKAGE / "report" / "figures.py",
                                                            "from .build import Report\n")
    # a submodule importing its own package's __init__, as segmentation/complete.py did
    complete = PACKAGE / "spine" / "segmentation" / "complete.py"
    assert ("discmri", "spine", "segmentation") in module_imports(
        complete, "from . import segment_spine\n")


def test_numerical_cores_do_not_import_io():
    for part in NUMERICAL:
        for path in (PACKAGE / part).rglob("*.py"):
            assert "io" not in discmri_imports(path), path


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
