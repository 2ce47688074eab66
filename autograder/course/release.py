"""Build the student release: percent script -> notebook -> ``nbgrader generate_assignment``.

``elv release [ASSIGNMENT]`` writes ``assignments/<id>/`` (committed, so that
students can clone it) and the instructor's solution notebook
``solutions/<id>/<name>.ipynb`` (generated, not tracked).
``elv release --check`` rebuilds in a temporary folder and fails when the
committed release differs from the rebuild, or when anything under
``assignments/`` holds a solution or a hidden test.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .assignments import Assignment, assignments, get_assignment, root
from .nbgrader_course import generate_assignment
from .notebooks import HIDDEN_TESTS, SOLUTION, grade_id, grade_meta, has_test_code, marked_lines, read_source, \
    write_notebook

__all__ = ["build_release", "release", "check_release", "ReleaseProblem", "leaks", "manifest"]

_MARKERS = SOLUTION + HIDDEN_TESTS + ("autograder.hidden", "from autograder", "import autograder")
_IGNORED = {"__pycache__", ".ipynb_checkpoints"}


@dataclass
class ReleaseProblem:
    """Something wrong with a committed release: the assignment, the file, and what."""

    assignment: str
    path: str
    what: str

    def __str__(self) -> str:
        return f"{self.assignment}: {self.path}: {self.what}"


@dataclass
class BuildResult:
    """A freshly built release: its files, the source notebook it came from, and the lines that must not leak."""

    files: dict = field(default_factory=dict)     # relative path -> bytes
    source_notebook: bytes = b""
    secrets: list = field(default_factory=list)   # solution and hidden-test lines that must not leak


def _secret_lines(nb) -> list[str]:
    """Substantial lines inside solution and hidden-test regions of the source notebook."""
    return [line.strip() for cell in nb.cells for line, inside in marked_lines(cell.source, SOLUTION, HIDDEN_TESTS)
            if inside and len(line.strip()) >= 24 and not line.strip().startswith("#")]


def build_release(a: Assignment) -> BuildResult:
    """Build the release of ``a`` in a temporary nbgrader course: the notebook made from its script, with
    its ``student_files/`` beside it. Returns the release's files (nothing is written to the course)."""
    nb = read_source(a.source)
    result = BuildResult(secrets=_secret_lines(nb))
    with tempfile.TemporaryDirectory(prefix="elv-release-") as tmp:
        course = Path(tmp)
        src_dir = course / "source" / a.id
        write_notebook(nb, src_dir / f"{a.notebook}.ipynb")
        result.source_notebook = (src_dir / f"{a.notebook}.ipynb").read_bytes()
        for rel, path in a.student_files():
            (src_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src_dir / rel)
        out_dir = generate_assignment(course, f"sqlite:///{course / 'gradebook.db'}", a.id)
        for path in sorted(out_dir.rglob("*")):
            if path.is_file() and not (_IGNORED & set(path.relative_to(out_dir).parts)):
                result.files[str(path.relative_to(out_dir))] = path.read_bytes()
    return result


def leaks(files: dict, secrets: list[str], assignment: str) -> list[ReleaseProblem]:
    """Solutions or hidden tests found in release files (relative path -> bytes): nbgrader's markers, the
    grader's import path, and any of ``secrets`` (lines of the solution and hidden-test regions)."""
    problems = []
    for rel, data in files.items():
        text = data.decode("utf-8", errors="replace")
        for marker in _MARKERS:
            if marker in text:
                problems.append(ReleaseProblem(assignment, rel, f"contains {marker!r}"))
        for line in secrets:
            if line in text:
                problems.append(ReleaseProblem(assignment, rel, f"contains solution or hidden-test code: {line[:60]!r}"))
                break
    return problems


def manifest(a: Assignment, release_nb=None, *, cell_timeout: int | None = None,
             notebook_timeout: int | None = None) -> dict:
    """The release manifest of ``a`` that ``elvkit.validate`` checks a student's notebook against: every graded
    cell's grade id, nbgrader metadata and whether it has visible test code, the source of the read-only
    cells (all public in the release), the files beside the notebook, and the grader's limits (default: those
    of :class:`autograder.grading.types.GradeOptions`). ``release_nb``: the released notebook (default: read
    from ``a.release_notebook``)."""
    import nbformat

    from ..grading.types import GradeOptions

    nb = release_nb if release_nb is not None else nbformat.read(a.release_notebook, as_version=4)
    defaults = GradeOptions()
    cells = []
    for cell in nb.cells:
        gid, meta = grade_id(cell), grade_meta(cell)
        if gid is None:
            continue
        cells.append({"grade_id": gid, "cell_type": cell.cell_type, "metadata": dict(meta),
                      "visible": bool(meta.get("grade")) and cell.cell_type == "code" and has_test_code(cell.source),
                      "source": cell.source if meta.get("locked") else None})
    files = sorted(rel.as_posix() for rel, _ in a.student_files())
    return {"format": 1, "assignment": a.id, "title": a.title, "notebook": a.notebook,
            "cell_timeout": cell_timeout or defaults.cell_timeout,
            "notebook_timeout": notebook_timeout or defaults.notebook_timeout, "files": files, "cells": cells}


def _committed(a: Assignment) -> dict:
    """The committed release's files: relative path -> bytes."""
    files = {}
    if a.release_dir.is_dir():
        for path in sorted(a.release_dir.rglob("*")):
            if path.is_file() and not (_IGNORED & set(path.relative_to(a.release_dir).parts)):
                files[str(path.relative_to(a.release_dir))] = path.read_bytes()
    return files


def release(assignment_ids=None, *, log=print) -> list[Path]:
    """Build and write the releases of ``assignment_ids`` (all assignments by default), and each
    instructor's solution notebook; returns the written files.

    Raises
    ------
    RuntimeError
        When a build would leak a solution or a hidden test (nothing is written for it).
    KeyError
        For an unknown assignment id.
    """
    chosen = [get_assignment(i) for i in assignment_ids] if assignment_ids else assignments()
    written = []
    for a in chosen:
        built = build_release(a)
        problems = leaks(built.files, built.secrets, a.id)
        if problems:
            raise RuntimeError("refusing to write a release that leaks:\n" + "\n".join(map(str, problems)))
        if a.release_dir.exists():
            shutil.rmtree(a.release_dir)
        for rel, data in built.files.items():
            target = a.release_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(target)
        instructor = a.solution_dir / f"{a.notebook}.ipynb"
        instructor.write_bytes(built.source_notebook)
        log(f"{a.id}: wrote {len(built.files)} file(s) to {a.release_dir.relative_to(root())}/ "
            f"and the solution notebook {instructor.relative_to(root())}")
    return written


def check_release(assignment_ids=None) -> list[ReleaseProblem]:
    """Problems with the committed releases of ``assignment_ids`` (all by default): stale, missing or extra
    files, leaks, and release folders without an assignment. An empty list: all is well."""
    chosen = [get_assignment(i) for i in assignment_ids] if assignment_ids else assignments()
    problems = []
    for a in chosen:
        built = build_release(a)
        committed = _committed(a)
        for rel in sorted(set(built.files) | set(committed)):
            if rel not in committed:
                problems.append(ReleaseProblem(a.id, rel, "missing from the committed release (run `elv release`)"))
            elif rel not in built.files:
                problems.append(ReleaseProblem(a.id, rel, "not produced by a fresh build (stale file)"))
            elif committed[rel] != built.files[rel]:
                problems.append(ReleaseProblem(a.id, rel, "differs from a fresh build (run `elv release`)"))
        problems += leaks(committed, built.secrets, a.id)
    # anything under assignments/ that belongs to no assignment
    known = {a.id for a in assignments()}
    base = root() / "assignments"
    if base.is_dir():
        for folder in sorted(p for p in base.iterdir() if p.is_dir() and p.name not in known):
            problems.append(ReleaseProblem(folder.name, "", "release folder without a solution script"))
    return problems
