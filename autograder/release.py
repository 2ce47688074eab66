"""Build the student release: percent script -> notebook -> ``nbgrader generate_assignment``.

``elv release [ASSIGNMENT]`` writes ``assignments/<id>/`` (committed, so that
students can clone it) and the instructor's solution notebook
``solutions/<id>/<name>.ipynb`` (generated, not tracked).
``elv release --check`` rebuilds in a temporary folder and fails when the
committed release differs from the rebuild, or when anything under
``assignments/`` holds a solution or a hidden test.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .course import Assignment, assignments, get_assignment, root
from .notebooks import HIDDEN_TESTS, SOLUTION, marked_lines, read_source, write_notebook

__all__ = ["build_release", "release", "check_release", "ReleaseProblem", "leaks"]

_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
            "autograder.hidden", "from autograder", "import autograder")
_IGNORED = {"__pycache__", ".ipynb_checkpoints"}


@dataclass
class ReleaseProblem:
    assignment: str
    path: str
    what: str

    def __str__(self) -> str:
        return f"{self.assignment}: {self.path}: {self.what}"


@dataclass
class BuildResult:
    files: dict = field(default_factory=dict)     # relative path -> bytes
    source_notebook: bytes = b""
    secrets: list = field(default_factory=list)   # solution and hidden-test lines that must not leak


def _extra_files(a: Assignment):
    for path in sorted(a.solution_dir.rglob("*")):
        rel = path.relative_to(a.solution_dir)
        if path.is_dir() or _IGNORED & set(rel.parts):
            continue
        if path.name.endswith(".nb.py") or path.suffix == ".ipynb":
            continue
        yield rel, path


def _secret_lines(nb) -> list[str]:
    """Substantial lines inside solution and hidden-test regions of the source notebook."""
    return [line.strip() for cell in nb.cells for line, inside in marked_lines(cell.source, SOLUTION, HIDDEN_TESTS)
            if inside and len(line.strip()) >= 24 and not line.strip().startswith("#")]


def build_release(a: Assignment) -> BuildResult:
    """Build the release of ``a`` in a temporary nbgrader course and return its files."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    nb = read_source(a.source)
    result = BuildResult(secrets=_secret_lines(nb))
    with tempfile.TemporaryDirectory(prefix="elv-release-") as tmp:
        course = Path(tmp)
        src_dir = course / "source" / a.id
        write_notebook(nb, src_dir / f"{a.notebook}.ipynb")
        result.source_notebook = (src_dir / f"{a.notebook}.ipynb").read_bytes()
        for rel, path in _extra_files(a):
            (src_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src_dir / rel)
        config = Config()
        config.CourseDirectory.root = str(course)
        config.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
        config.CourseDirectory.assignment_id = a.id
        config.CourseDirectory.course_id = "elv"
        config.GenerateAssignment.force = True
        coursedir = CourseDirectory(config=config)
        converter = GenerateAssignment(coursedir=coursedir, config=config)
        converter.log.setLevel(logging.WARNING)
        converter.start()
        out_dir = course / "release" / a.id
        for path in sorted(out_dir.rglob("*")):
            if path.is_file() and not (_IGNORED & set(path.relative_to(out_dir).parts)):
                result.files[str(path.relative_to(out_dir))] = path.read_bytes()
    return result


def leaks(files: dict, secrets: list[str], assignment: str) -> list[ReleaseProblem]:
    """Solutions or hidden tests found in release files."""
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


def _committed(a: Assignment) -> dict:
    files = {}
    if a.release_dir.is_dir():
        for path in sorted(a.release_dir.rglob("*")):
            if path.is_file() and not (_IGNORED & set(path.relative_to(a.release_dir).parts)):
                files[str(path.relative_to(a.release_dir))] = path.read_bytes()
    return files


def release(assignment_ids=None, *, log=print) -> list[Path]:
    """Build and write the releases (all assignments by default); returns the written files."""
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
    """Problems with the committed releases: stale, missing or extra files, and leaks."""
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
