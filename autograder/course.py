"""Where things are: the course repository's assignments and their metadata.

An assignment is a folder ``solutions/<id>/`` holding one percent-format
script ``<notebook>.nb.py``, the only hand-edited source. Its notebook-level
metadata (the jupytext header) carries ``elvkit.title`` and
``elvkit.questions`` (question id -> title). Grade cells belong to the question
named by the prefix of their ``grade_id`` (``q4-aggregate-hidden`` -> ``q4``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["root", "Assignment", "assignments", "get_assignment"]


def root() -> Path:
    """The course repository: ``ELVKIT_COURSE_ROOT`` or the checkout this package lives in."""
    env = os.environ.get("ELVKIT_COURSE_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Assignment:
    id: str            # "01_stereo"
    notebook: str      # "stereo": the notebook students submit is stereo.ipynb
    source: Path       # solutions/01_stereo/stereo.nb.py
    title: str
    questions: dict    # "q1" -> "Triangulation"

    @property
    def solution_dir(self) -> Path:
        return self.source.parent

    @property
    def release_dir(self) -> Path:
        return root() / "assignments" / self.id

    @property
    def release_notebook(self) -> Path:
        return self.release_dir / f"{self.notebook}.ipynb"

    @property
    def spec_path(self) -> Path:
        return Path(__file__).resolve().parent / "specs" / f"{self.id}.py"

    @property
    def mistakes_dir(self) -> Path:
        return Path(__file__).resolve().parent / "mistakes" / self.id



def _read_header(path: Path) -> dict:
    import jupytext

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


def assignments() -> list[Assignment]:
    """Every assignment of the course, in order."""
    return list(_scan(root() / "solutions"))


def get_assignment(assignment_id: str) -> Assignment:
    """The assignment with this id (``01_stereo``) or notebook name (``stereo``)."""
    known = assignments()
    for a in known:
        if assignment_id in (a.id, a.notebook):
            return a
    names = ", ".join(a.id for a in known) or "none"
    raise KeyError(f"no assignment {assignment_id!r} in {root() / 'solutions'} (known: {names}).")
