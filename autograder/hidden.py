"""Hidden tests, as a notebook calls them: ``from autograder.hidden import check``.

::

    check("01_stereo", "census_cost", census_cost)

Under the grader (``ELVKIT_HIDDEN_DIR`` set), ``check`` only records what the student's function returns
on the grader's hidden inputs (:mod:`autograder.kernel_side.capture`); the grader judges the record in
its own process (:mod:`autograder.integrity.specs`). Run by hand, in the course repository (an
instructor running the solution notebook), it judges at once against the reference and raises
``HiddenTestFailure`` with a message that teaches.

This module runs in the student's kernel: at import it loads nothing of the grader's side.
"""

from __future__ import annotations

import os

from .kernel_side.records import HIDDEN_DIR_VARIABLE

__all__ = ["check"]


def check(assignment_id: str, name: str, student_fn) -> None:
    """Test ``student_fn`` as the function ``name`` of the assignment ``assignment_id`` on hidden inputs.

    Raises
    ------
    RuntimeError
        Under the grader, when it wrote no inputs for ``name``; by hand, when the grader's side of the
        toolkit (the solutions) is not there.
    HiddenTestFailure
        By hand, when the function differs from the reference (the message says where and how).
    """
    folder = os.environ.get(HIDDEN_DIR_VARIABLE)
    if folder:
        from .kernel_side.capture import record_check

        record_check(folder, assignment_id, name, student_fn)
        return
    try:
        from .integrity.specs import self_check
    except ImportError:
        raise RuntimeError("hidden tests run only when the notebook is graded") from None
    self_check(assignment_id, name, student_fn)
