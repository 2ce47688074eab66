"""Where things are: the course repository's assignments, one folder each.

An assignment is a folder ``solutions/<id>/`` that holds everything about it::

    solutions/01_stereo/
        stereo.nb.py        the percent-format script: the notebook, its solutions and its tests
                            (the only hand-edited notebook source)
        spec.py             hidden-test inputs and tolerances: ``SPECS = {name: Spec(...)}``
        mistakes/           realistic wrong implementations, one file each (the demo class)
        student_files/      optional: files students receive beside the notebook
        stereo.ipynb        the instructor's solution notebook, written by ``elv release`` (not tracked)

The course is discovered, never listed: every folder of ``solutions/`` with one ``*.nb.py`` script is
an assignment. The script's jupytext header carries ``elvkit.title`` and ``elvkit.questions``
(question id -> title). Grade cells belong to the question named by the prefix of their ``grade_id``
(``q4-aggregate-hidden`` -> ``q4``). Nothing under ``solutions/`` reaches a student's kernel: the
sandbox leaves the whole tree out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["root", "Assignment", "assignments", "get_assignment", "kernel_files", "rescan", "STUDENT_FILES"]

#: the folder of an assignment whose files are released beside the notebook
STUDENT_FILES = "student_files"
#: a kernel's matplotlib settings under the grader: smaller pictures in the feedback pages
_MATPLOTLIBRC = b"figure.dpi: 60\n"


def root() -> Path:
    """The course repository: ``ELVKIT_COURSE_ROOT`` or the checkout this package lives in."""
    env = os.environ.get("ELVKIT_COURSE_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Assignment:
    """One assignment: its id, the notebook students submit, the script it is built from, its title and
    questions, and the paths of everything else in its folder."""

    id: str            # "01_stereo"
    notebook: str      # "stereo": the notebook students submit is stereo.ipynb
    source: Path       # solutions/01_stereo/stereo.nb.py
    title: str
    questions: dict    # "q1" -> "Triangulation"

    @property
    def solution_dir(self) -> Path:
        """The assignment's folder, ``solutions/<id>/``."""
        return self.source.parent

    @property
    def release_dir(self) -> Path:
        """Where its student release is written: ``assignments/<id>/``."""
        return root() / "assignments" / self.id

    @property
    def release_notebook(self) -> Path:
        """The released notebook students complete."""
        return self.release_dir / f"{self.notebook}.ipynb"

    @property
    def spec_path(self) -> Path:
        """Its hidden-test spec, ``solutions/<id>/spec.py``."""
        return self.solution_dir / "spec.py"

    @property
    def mistakes_dir(self) -> Path:
        """Its mistakes corpus, ``solutions/<id>/mistakes/``."""
        return self.solution_dir / "mistakes"

    @property
    def student_files_dir(self) -> Path:
        """Files released beside the notebook (data, helper modules), ``solutions/<id>/student_files/``."""
        return self.solution_dir / STUDENT_FILES

    def student_files(self) -> list[tuple[Path, Path]]:
        """``(path in the release, file)`` for each file of :attr:`student_files_dir`, sorted; caches and
        hidden files left out."""
        base = self.student_files_dir
        if not base.is_dir():
            return []
        out = []
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base)
            if path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
                out.append((rel, path))
        return out


def kernel_files(a: Assignment) -> dict:
    """The files a graded kernel finds beside the notebook: the release's files other than notebooks
    (relative path -> bytes), and a ``matplotlibrc`` that keeps the feedback pages' pictures small."""
    files = {}
    if a.release_dir.is_dir():
        files = {str(p.relative_to(a.release_dir)): p.read_bytes() for p in sorted(a.release_dir.rglob("*"))
                 if p.is_file() and p.suffix != ".ipynb"}
    files.setdefault("matplotlibrc", _MATPLOTLIBRC)
    return files


def _read_header(path: Path) -> dict:
    """The ``elvkit`` entry of a script's jupytext header (the YAML between the first two ``# ---`` lines), read
    without parsing the whole notebook (every process that looks up an assignment reads every header)."""
    import yaml

    lines = []
    with open(path, encoding="utf-8") as fh:
        first = fh.readline().rstrip("\n")
        if first.strip() == "# ---":
            for line in fh:
                line = line.rstrip("\n")
                if line.strip() == "# ---":
                    meta = yaml.safe_load("\n".join(lines)) or {}
                    return dict(((meta.get("jupyter") or {}).get("elvkit") or {}))
                if not line.startswith("#"):
                    break
                lines.append(line[2:] if line.startswith("# ") else line[1:])
    import jupytext         # no header of the usual form: jupytext decides

    nb = jupytext.read(path, fmt="py:percent")
    return dict(nb.metadata.get("elvkit", {}))


@lru_cache(maxsize=None)
def _scan(solutions: Path) -> tuple:
    found = []
    for folder in sorted(p for p in solutions.iterdir() if p.is_dir()) if solutions.is_dir() else []:
        scripts = sorted(folder.glob("*.nb.py"))
        if len(scripts) != 1:
            continue
        script = scripts[0]
        meta = _read_header(script)
        found.append(Assignment(id=folder.name, notebook=script.name[: -len(".nb.py")], source=script,
                                title=meta.get("title", folder.name),
                                questions=dict(meta.get("questions", {}))))
    return tuple(found)


def rescan() -> None:
    """Forget the assignments found so far: the next call of :func:`assignments` looks at ``solutions/``
    again (after ``elv new``, or when ``ELVKIT_COURSE_ROOT`` changes)."""
    _scan.cache_clear()


def assignments() -> list[Assignment]:
    """Every assignment of the course, in the order of their ids: each folder of ``solutions/`` that holds
    exactly one ``*.nb.py`` script."""
    return list(_scan(root() / "solutions"))


def get_assignment(assignment_id: str) -> Assignment:
    """The assignment with this id (``01_stereo``) or notebook name (``stereo``).

    Raises
    ------
    KeyError
        When the course has none, with the ids it has.
    """
    known = assignments()
    for a in known:
        if assignment_id in (a.id, a.notebook):
            return a
    names = ", ".join(a.id for a in known) or "none"
    raise KeyError(f"no assignment {assignment_id!r} in {root() / 'solutions'} (known: {names}).")
