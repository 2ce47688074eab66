"""The shape of the grading engine, as a newcomer reads it: small modules, documented public functions, one
definition of each concept, and a trust boundary that imports run across one way only."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "autograder"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
MAX_LINES = 400


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def test_no_module_is_over_400_lines():
    long = {_rel(p): n for p in MODULES if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (at most {MAX_LINES} lines each): {long}"


def _public_functions(tree: ast.Module):
    """Module-level public functions, public classes, and the public methods of public classes."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            yield node.name, node
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("_"):
                    yield f"{node.name}.{item.name}", item


def test_every_public_function_has_a_docstring():
    missing = [f"{_rel(p)}: {name}" for p in MODULES for name, node in _public_functions(ast.parse(p.read_text()))
               if not ast.get_docstring(node)]
    assert not missing, "public functions without a docstring:\n" + "\n".join(missing)


def _imports(tree: ast.Module, module: str, top_level_only: bool = False):
    """The absolute names of the autograder modules a module imports."""
    package = module.rsplit(".", 1)[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("autograder"):
                yield name
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("autograder"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts)


@pytest.mark.parametrize("path", [p for p in MODULES if "kernel_side" in p.parts], ids=_rel)
def test_kernel_side_imports_nothing_of_the_grader(path):
    """What runs in the student's kernel never imports the grader's side: imports cross the trust boundary one
    way only (the grader reads the record format from the kernel side)."""
    outside = [m for m in _imports(ast.parse(path.read_text()), _module_name(path))
               if not m.startswith("autograder.kernel_side") and m != "autograder"]
    assert not outside, f"{_rel(path)} imports {outside}"


def test_the_notebooks_entry_point_loads_only_the_kernel_side():
    path = PACKAGE / "hidden.py"
    loaded = list(_imports(ast.parse(path.read_text()), "autograder.hidden", top_level_only=True))
    assert loaded and all(m.startswith("autograder.kernel_side") for m in loaded), loaded


@pytest.mark.parametrize("spelling, home", [
    ('"BEGIN HIDDEN TESTS"', "course/notebooks.py"),         # the hidden-test region
    ('get("nbgrader"', "course/notebooks.py"),               # a cell's grade metadata
    ("GenerateAssignment(", "course/nbgrader_course.py"),    # nbgrader's course configuration
    ('"matplotlibrc"', "course/assignments.py"),             # what a graded kernel finds beside the notebook
])
def test_each_concept_has_one_definition(spelling, home):
    where = [_rel(p) for p in MODULES if spelling in p.read_text()]
    assert where == [f"autograder/{home}"], f"{spelling} is spelled in {where}; its one definition is in {home}"
