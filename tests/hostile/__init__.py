"""Hostile and broken submissions: the inputs a grader meets in a real course.

Each module ``NN_name.py`` here is one case, built from an assignment's release (the stereo one unless the module
sets ``ASSIGNMENT``):

* its docstring says what the submission does;
* ``EXPECT`` says how it must end: ``status``, ``score`` (out of 100; None
  where a race decides it) and ``flagged`` (recorded in the gradebook and
  the report for a person to review); a tampering case also names its
  ``twin``, the same submission without the trick (``zeros``, ``reference``
  or another case), and must never score more than it; ``student`` names
  its row when that is not the case's name;
* ``build(kit)`` writes the submission (see :class:`Kit`);
* an optional ``verify(kit, row, out)`` checks what else must hold (the
  gradebook intact, the listener never reached, no file written outside
  the submission's folder).

``tests/test_hostile.py`` grades each assignment's cases in one batch, beside that assignment's demo class (the
batch the other tests share).
A network case only ever targets a listener on 127.0.0.1 started by the test.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["Kit", "cases", "assignment_of", "ASSIGNMENT"]

#: the assignment a case is built from unless its module says otherwise (``ASSIGNMENT = "03_self_supervised"``)
ASSIGNMENT = "01_stereo"

#: every graded function of the stereo assignment returning zeros (or False) of the right shape and dtype:
#: grade id of each solution cell -> what replaces it
ZEROS = {
    "q1-depth": """
import numpy as np

def disparity_to_depth(disparity, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(disparity))

def depth_to_disparity(depth, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(depth))
""",
    "q1-reproject": """
def reproject_to_3d(disparity, calib):
    return np.zeros(np.shape(disparity) + (3,))
""",
    "q2-sad": """
def sad_cost(left, right, max_disp, window=5):
    return np.zeros((max_disp,) + np.shape(left), dtype=np.float32)
""",
    "q2-census-transform": """
def census_transform(image, window=5):
    return np.zeros(np.shape(image), dtype=np.uint64)
""",
    "q2-census-cost": """
def census_cost(left, right, max_disp, window=5):
    return np.zeros((max_disp,) + np.shape(left), dtype=np.uint8)
""",
    "q3-wta": """
def winner_take_all(cost):
    if torch.is_tensor(cost):
        return torch.zeros(cost.shape[1:], dtype=torch.int64, device=cost.device)
    return np.zeros(np.shape(cost)[1:], dtype=np.int64)

def refine_subpixel(cost, disparity):
    return np.zeros(np.shape(disparity), dtype=np.float32)
""",
    "q4-sgm-step": """
def sgm_step(L_prev, C, P1, P2):
    return torch.zeros_like(C)
""",
    "q4-aggregate": """
def aggregate_sgm(cost, P1, P2, directions=4):
    if torch.is_tensor(cost):
        return torch.zeros(cost.shape, dtype=torch.float32, device=cost.device)
    return np.zeros(np.shape(cost), dtype=np.float32)
""",
    "q5-right-cost": """
def right_cost_volume(cost):
    return np.zeros_like(np.asarray(cost))
""",
    "q5-lr-check": """
def left_right_check(disp_left, disp_right, max_diff=1.0):
    return np.zeros(np.shape(disp_left), dtype=bool)
""",
    "q7-warp": """
def warp_right_to_left(right, disparity):
    return torch.zeros_like(disparity)
""",
    "q7-losses": """
def ssim(a, b):
    return torch.zeros_like(a)

def appearance_loss(image, reconstructed, alpha=0.85):
    return torch.zeros(())

def disparity_smoothness(disparity, image, edge_weight=10.0):
    return torch.zeros(())

def lr_consistency_loss(disp_left, disp_right):
    return torch.zeros(())
""",
}


@dataclass
class Kit:
    """What a case builds from, and where things are during the test."""

    ref: nbformat.NotebookNode          # the release with the reference's solutions filled in
    release: nbformat.NotebookNode      # the blank release
    folder: Path                        # this case's submission folder (write the notebook here)
    submissions: Path                   # every submission of the batch
    results: Path                       # the grader's results folder (gradebook.db lives there)
    solution: Path                      # the solution script (the reference)
    port: int                           # a listener on 127.0.0.1 that must never be reached
    notebook: str = "stereo.ipynb"      # the assignment's notebook file

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

    def inserted(self, after: str, source: str, nb=None) -> nbformat.NotebookNode:
        """The reference with a code cell of the student's right after the cell ``after`` (a grade id)."""
        nb = self.copy(nb)
        i = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == after)
        nb.cells.insert(i + 1, nbformat.v4.new_code_cell(source))
        return nb

    def appended(self, source: str, nb=None) -> nbformat.NotebookNode:
        """The reference with one more code cell of the student's at the end."""
        nb = self.copy(nb)
        nb.cells.append(nbformat.v4.new_code_cell(source))
        return nb

    def zeros(self, replace: dict | None = None) -> nbformat.NotebookNode:
        """Every graded function returning zeros of the right shape (:data:`ZEROS`), with ``replace``
        (grade id -> source) taking the place of some solution cells."""
        nb = self.copy()
        for grade_id, source in {**ZEROS, **(replace or {})}.items():
            nb = self.with_cell(grade_id, source, nb)
        return nb

    def write_entry(self, name: str, nb=None) -> Path:
        """``nb`` (the reference by default) as the file ``name`` directly in the submissions folder."""
        self.submissions.mkdir(parents=True, exist_ok=True)
        path = self.submissions / name
        path.write_text(nbformat.writes(nb if nb is not None else self.ref), encoding="utf-8")
        return path

    def write(self, nb, name: str | None = None) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / (name or self.notebook)
        path.write_text(nbformat.writes(nb), encoding="utf-8")
        return path


def assignment_of(case) -> str:
    """The assignment a case module is built from."""
    return getattr(case, "ASSIGNMENT", ASSIGNMENT)


def cases(assignment: str | None = None) -> dict:
    """name -> module of every case (of ``assignment`` only, when given), in order."""
    here = Path(__file__).parent
    found = {p.stem[3:]: importlib.import_module(f"{__name__}.{p.stem}") for p in sorted(here.glob("[0-9][0-9]_*.py"))}
    return {n: c for n, c in found.items() if assignment is None or assignment_of(c) == assignment}
