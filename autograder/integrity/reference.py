"""The reference solution of an assignment, loaded from its solution script.

There is one source of truth: the solution cells of ``solutions/<id>/*.nb.py``. :func:`load` executes
them (with the imports of the notebook's ``imports`` cell, and nothing else of the notebook) in a fresh
module and caches it. Only the grader loads it; a student's kernel never can (the sandbox leaves
``solutions/`` out).
"""

from __future__ import annotations

import types
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from ..course import Assignment, get_assignment
from ..course.notebooks import read_source, solution_code

__all__ = ["load", "locked_cell", "fresh", "using"]

#: assignment id -> the module :func:`load` returns instead of the cached one, while :func:`using` holds
_SUBSTITUTE: ContextVar[dict] = ContextVar("reference_substitute", default={})


@lru_cache(maxsize=None)
def _code(assignment_id: str, source: str, mtime_ns: int):
    """The compiled solution cells of one version of the script (cached by its modification time)."""
    from pathlib import Path

    return compile(solution_code(read_source(Path(source))), f"<reference {assignment_id}>", "exec")


def _module(assignment_id: str, source: str, mtime_ns: int) -> types.ModuleType:
    module = types.ModuleType(f"reference_{assignment_id}")
    module.__file__ = source
    exec(_code(assignment_id, source, mtime_ns), module.__dict__)
    return module


@lru_cache(maxsize=None)
def _load(assignment_id: str, source: str, mtime_ns: int) -> types.ModuleType:
    """The reference module of one version of the script (cached by its modification time)."""
    return _module(assignment_id, source, mtime_ns)


def fresh(assignment) -> types.ModuleType:
    """A new copy of the reference module of ``assignment``, not cached: its names may be replaced (see
    :func:`using`) without touching the one :func:`load` shares."""
    a = assignment if isinstance(assignment, Assignment) else get_assignment(assignment)
    return _module(a.id, str(a.source), a.source.stat().st_mtime_ns)


@contextmanager
def using(assignment, module: types.ModuleType):
    """Within the block (in this thread or task), :func:`load` of ``assignment`` returns ``module``: the
    specs' judges, which load the reference themselves, then compute with its replaced names."""
    a = assignment if isinstance(assignment, Assignment) else get_assignment(assignment)
    token = _SUBSTITUTE.set({**_SUBSTITUTE.get(), a.id: module})
    try:
        yield module
    finally:
        _SUBSTITUTE.reset(token)


def load(assignment) -> types.ModuleType:
    """The reference module of ``assignment`` (an :class:`~autograder.course.Assignment` or its id): its
    attributes are the solution's functions.

    Raises
    ------
    KeyError
        For an unknown assignment id.
    """
    aid = assignment.id if isinstance(assignment, Assignment) else assignment
    substitute = _SUBSTITUTE.get().get(aid)
    if substitute is not None:
        return substitute
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
