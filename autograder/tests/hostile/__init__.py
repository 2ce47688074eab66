"""Hostile and broken submissions: the inputs a grader meets in a real course.

Each module ``NN_name.py`` here is one case, built from the stereo release:

* its docstring says what the submission does;
* ``EXPECT`` says how it must end: ``status``, ``score`` (out of 100) and
  ``flagged`` (tampering recorded in the gradebook and the report);
* ``build(kit)`` writes the submission (see :class:`Kit`);
* an optional ``verify(kit, row, out)`` checks what else must hold (the
  gradebook intact, the listener never reached, the flood stopped).

``tests/test_hostile.py`` grades them all in one batch, beside the reference.
A network case only ever targets a listener on 127.0.0.1 started by the test.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["Kit", "cases"]

#: points of the hidden test cells of the stereo assignment (decided by the grader, never by the kernel)
HIDDEN_POINTS = 44


@dataclass
class Kit:
    """What a case builds from, and where things are during the test."""

    ref: nbformat.NotebookNode          # the release with the reference's solutions filled in
    release: nbformat.NotebookNode      # the blank release
    folder: Path                        # this case's submission folder (write stereo.ipynb here)
    submissions: Path                   # every submission of the batch
    results: Path                       # the grader's results folder (gradebook.db lives there)
    solution: Path                      # the solution script (the reference)
    port: int                           # a listener on 127.0.0.1 that must never be reached

    def copy(self, nb=None) -> nbformat.NotebookNode:
        return nbformat.from_dict(json.loads(json.dumps(nb if nb is not None else self.ref)))

    def with_cell(self, grade_id: str, source: str, nb=None) -> nbformat.NotebookNode:
        """The reference with the cell ``grade_id`` replaced by ``source``."""
        nb = self.copy(nb)
        hits = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
        assert hits, f"no cell {grade_id}"
        hits[0].source = source
        return nb

    def without(self, grade_id: str, nb=None) -> nbformat.NotebookNode:
        nb = self.copy(nb)
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
        return nb

    def appended(self, source: str, nb=None) -> nbformat.NotebookNode:
        """The reference with one more code cell of the student's at the end."""
        nb = self.copy(nb)
        nb.cells.append(nbformat.v4.new_code_cell(source))
        return nb

    def write(self, nb, name: str = "stereo.ipynb") -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        path.write_text(nbformat.writes(nb), encoding="utf-8")
        return path


def cases() -> dict:
    """name -> module of every case, in order."""
    here = Path(__file__).parent
    return {p.stem[3:]: importlib.import_module(f"{__name__}.{p.stem}") for p in sorted(here.glob("[0-9][0-9]_*.py"))}
