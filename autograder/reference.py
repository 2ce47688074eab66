"""The reference solution of an assignment, loaded from its solution script.

There is one source of truth: the solution cells of ``solutions/<id>/*.nb.py``.
:func:`load` executes them (with the imports of the notebook's ``imports``
cell, and nothing else of the notebook) in a fresh module and caches it.
"""

from __future__ import annotations

import types
from functools import lru_cache

from .course import get_assignment
from .notebooks import read_source, solution_code

__all__ = ["load"]


@lru_cache(maxsize=None)
def _load(assignment_id: str, mtime_ns: int) -> types.ModuleType:
    a = get_assignment(assignment_id)
    code = solution_code(read_source(a.source))
    module = types.ModuleType(f"reference_{a.id}")
    module.__file__ = str(a.source)
    exec(compile(code, f"<reference {a.id}>", "exec"), module.__dict__)
    return module


def load(assignment_id: str) -> types.ModuleType:
    """The reference module: its attributes are the solution's functions."""
    a = get_assignment(assignment_id)
    return _load(a.id, a.source.stat().st_mtime_ns)
