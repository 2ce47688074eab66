"""The reference solution of an assignment, loaded from its solution script.

There is one source of truth: the solution cells of ``solutions/<id>/*.nb.py``. :func:`load` executes
them (with the imports of the notebook's ``imports`` cell, and nothing else of the notebook) in a fresh
module and caches it. Only the grader loads it; a student's kernel never can (the sandbox leaves
``solutions/`` out).
"""

from __future__ import annotations

import types
from functools import lru_cache

from ..course import Assignment, get_assignment
from ..course.notebooks import read_source, solution_code

__all__ = ["load", "locked_cell"]


@lru_cache(maxsize=None)
def _load(assignment_id: str, source: str, mtime_ns: int) -> types.ModuleType:
    """The reference module of one version of the script (cached by its modification time)."""
    from pathlib import Path

    code = solution_code(read_source(Path(source)))
    module = types.ModuleType(f"reference_{assignment_id}")
    module.__file__ = source
    exec(compile(code, f"<reference {assignment_id}>", "exec"), module.__dict__)
    return module


def load(assignment) -> types.ModuleType:
    """The reference module of ``assignment`` (an :class:`~autograder.course.Assignment` or its id): its
    attributes are the solution's functions.

    Raises
    ------
    KeyError
        For an unknown assignment id.
    """
    a = assignment if isinstance(assignment, Assignment) else get_assignment(assignment)
    return _load(a.id, str(a.source), a.source.stat().st_mtime_ns)


def locked_cell(assignment, grade_id: str, **names) -> dict:
    """The namespace of one of the script's locked cells (``grade_id``) run over the reference's functions and
    ``names``: the functions a notebook defines outside the exercises (its evaluation part's stronger pipeline, say),
    for the bench and the lecture demos, from the one copy in the notebook.

    Raises
    ------
    KeyError
        When the script has no cell with that grade id.
    """
    from ..course.notebooks import grade_id as cell_id, read_source

    a = assignment if isinstance(assignment, Assignment) else get_assignment(assignment)
    cells = [c for c in read_source(a.source).cells if cell_id(c) == grade_id]
    if not cells:
        raise KeyError(f"{a.source.name} has no cell with grade id {grade_id!r}.")
    namespace = dict(vars(load(a)), **names)
    exec(compile(cells[0].source, f"<{a.id} {grade_id}>", "exec"), namespace)
    return namespace
