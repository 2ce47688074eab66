"""Percent-format scripts to notebooks, and the pieces of a notebook the grader needs.

The solution script (jupytext ``py:percent``) carries nbgrader metadata in its
cell headers, in a short form: ``nbgrader={"grade_id": "q1-depth", "solution": true}``.
:func:`read_source` completes it to nbgrader's schema (version 3), gives every
cell a stable id (so that a rebuild is byte-identical) and drops jupytext's
own metadata.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import re
from functools import lru_cache
from pathlib import Path

import nbformat

from elvkit.validate import ANSWER_STUB     # nbgrader's text stub: one definition, shared with `elv validate`

__all__ = ["read_source", "write_notebook", "normalise_nbgrader", "solution_code", "grade_cells",
           "notebook_bytes", "marked_lines", "grade_meta", "grade_id", "hidden_region", "without_hidden_region",
           "has_hidden_tests", "has_test_code", "error_output", "stream_output", "imports_source", "SOLUTION", "HIDDEN_TESTS", "IMPORTS",
           "ANSWER_STUB", "released_answer", "is_blank_answer", "manual_cells"]

_NBGRADER_DEFAULTS = {"grade": False, "solution": False, "locked": False, "task": False, "schema_version": 3}
_JUPYTEXT_CELL_KEYS = ("lines_to_next_cell", "lines_to_end_of_cell_marker", "cell_marker")
_ID_OK = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


#: the grade id of the read-only cell that holds a notebook's imports (the reference and the replay start from it)
IMPORTS = "imports"
SOLUTION = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_TESTS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def marked_lines(source: str, *regions) -> list[tuple[str, bool]]:
    """The lines of a cell without nbgrader's marker lines, each with whether it lies inside one
    of ``regions`` (pairs of begin/end markers such as :data:`SOLUTION`)."""
    out, inside = [], False
    for line in source.split("\n"):
        if any(begin in line for begin, _ in regions):
            inside = True
        elif any(end in line for _, end in regions):
            inside = False
        else:
            out.append((line, inside))
    return out


def grade_meta(cell) -> dict:
    """A cell's nbgrader metadata (grade_id, grade, points, solution, locked, ...), the dict itself so that it
    can be changed in place; ``{}`` when the cell has none, or when what it has is not a mapping (in a
    submission, metadata is data written by the student)."""
    metadata = cell.get("metadata") if hasattr(cell, "get") else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    """A cell's nbgrader grade id; None when it has none (or one that is not a string)."""
    gid = grade_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def hidden_region(source: str) -> str:
    """The lines of a cell inside its hidden-test regions (:data:`HIDDEN_TESTS`), markers left out."""
    return "\n".join(line for line, inside in marked_lines(source, HIDDEN_TESTS) if inside)


def without_hidden_region(source: str) -> str:
    """A cell's source with its hidden-test regions removed, as the release shows it."""
    return "\n".join(line for line, inside in marked_lines(source, HIDDEN_TESTS) if not inside)


def has_hidden_tests(source: str) -> bool:
    """Whether a cell's source holds a hidden-test region: a *hidden test cell*. In the release the region
    is gone; there, :func:`has_test_code` tells the cells that run nothing visible."""
    return HIDDEN_TESTS[0] in source


def has_test_code(source: str) -> bool:
    """Whether a cell runs code of its own outside its hidden-test regions (comments and blank lines aside)."""
    return any(line.strip() and not line.strip().startswith("#") for line in without_hidden_region(source).splitlines())


def normalise_nbgrader(cell) -> None:
    """Fill in nbgrader's metadata: defaults, locking of read-only cells, points as floats."""
    meta = cell.metadata.get("nbgrader")
    if meta is None:
        return
    if "grade_id" not in meta:
        raise ValueError(f"a cell with nbgrader metadata has no grade_id: {cell.source[:60]!r}")
    full = dict(_NBGRADER_DEFAULTS)
    full.update(meta)
    if full["grade"] and not full["solution"]:
        full["locked"] = True          # test cells are read-only
        if "points" not in full:
            raise ValueError(f"grade cell {full['grade_id']!r} has no points")
    if full["grade"]:
        full["points"] = float(full["points"]) if float(full["points"]) % 1 else int(full["points"])
    if full["solution"]:
        full["locked"] = False
    cell.metadata["nbgrader"] = {k: full[k] for k in sorted(full)}


def read_source(path: Path) -> nbformat.NotebookNode:
    """The notebook made from a solution script, with complete nbgrader metadata and stable ids.

    Parsed once per version of the file; each call returns a fresh copy to modify.
    """
    path = Path(path)
    return copy.deepcopy(_read_source(path.resolve(), path.stat().st_mtime_ns))


@lru_cache(maxsize=8)
def _read_source(path: Path, mtime_ns: int) -> nbformat.NotebookNode:
    import jupytext

    nb = jupytext.read(path, fmt="py:percent")
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("language_info", {"name": "python"})
    seen = set()
    for index, cell in enumerate(nb.cells):
        for key in _JUPYTEXT_CELL_KEYS:
            cell.metadata.pop(key, None)
        normalise_nbgrader(cell)
        gid = grade_id(cell)
        if gid in seen:
            raise ValueError(f"{path}: grade_id {gid!r} is used twice")
        if gid:
            seen.add(gid)
        digest = hashlib.sha1(f"{index}:{cell.cell_type}".encode()).hexdigest()[:8]
        cell_id = gid if gid and _ID_OK.match(gid) else f"cell-{index:03d}-{digest}"
        cell["id"] = cell_id
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def notebook_bytes(nb) -> bytes:
    """A notebook serialised the way it is committed (nbformat's JSON, one trailing newline)."""
    text = nbformat.writes(nb, version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def write_notebook(nb, path: Path) -> None:
    """Write ``nb`` to ``path`` as it is committed (see :func:`notebook_bytes`), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(notebook_bytes(nb))


def released_answer(source: str) -> str:
    """A manually graded answer cell as students receive it: its solution region replaced by
    :data:`ANSWER_STUB`, the rest kept."""
    lines, inside = [], False
    for line in source.split("\n"):
        if SOLUTION[0] in line:
            inside = True
            lines.append(ANSWER_STUB)
        elif SOLUTION[1] in line:
            inside = False
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


def is_blank_answer(submitted, released: str) -> bool:
    """Whether a submitted written answer is blank: nothing, or the release's cell unchanged (whitespace
    aside). ``submitted`` is the student's data: anything but a string counts as blank."""
    if not isinstance(submitted, str):
        return True
    text = " ".join(submitted.split())
    return not text or text == " ".join(released.split()) or text == ANSWER_STUB


def manual_cells(nb) -> list:
    """The cells a person grades (written answers): ``(grade_id, points)`` in notebook order."""
    out = []
    for cell in nb.cells:
        meta = grade_meta(cell)
        if meta.get("grade") and (meta.get("solution") or cell.cell_type != "code"):
            out.append((meta["grade_id"], float(meta.get("points", 0))))
    return out


def grade_cells(nb) -> list:
    """The autograded cells: ``(grade_id, points)`` in notebook order."""
    out = []
    for cell in nb.cells:
        meta = grade_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            out.append((meta["grade_id"], float(meta.get("points", 0))))
    return out


def imports_source(nb) -> str:
    """The source of the notebook's ``imports`` cell ("" when it has none)."""
    for cell in nb.cells:
        if grade_id(cell) == IMPORTS:
            return cell.source
    return ""


def _constant_assignment(node) -> bool:
    """``NAME = <literal data>`` (upper-case names; numbers, strings, tuples, lists, dicts, ``dict(...)`` and
    arithmetic only): a constant of the ``imports`` cell that solution functions may use as a default."""
    if not isinstance(node, ast.Assign) or not all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
        return False
    for sub in ast.walk(node.value):
        if isinstance(sub, ast.Call) and not (isinstance(sub.func, ast.Name) and sub.func.id == "dict"):
            return False
        if isinstance(sub, (ast.Name, ast.Attribute)) and not (isinstance(sub, ast.Name) and sub.id == "dict"):
            return False
    return True


def solution_code(nb) -> str:
    """The code that defines the reference: the imports and the constants (upper-case names bound to literal
    data) of the ``imports`` cell, and every solution cell."""
    parts = []
    for cell in nb.cells:
        meta = grade_meta(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("grade_id") == IMPORTS:
            tree = ast.parse(cell.source)
            lines = cell.source.splitlines()
            for node in tree.body:
                if isinstance(node, (ast.Import, ast.ImportFrom)) or _constant_assignment(node):
                    parts.append("\n".join(lines[node.lineno - 1: node.end_lineno]))
        elif meta.get("solution"):
            parts.append(cell.source)
    return "\n\n".join(parts) + "\n"


def error_output(ename: str, text: str, traceback: str | None = None):
    """An error output written by the grader, as nbformat holds one (nbgrader scores a cell with one 0);
    its traceback is the single line ``ename: text`` unless ``traceback`` is given."""
    from nbformat import NotebookNode

    return NotebookNode(output_type="error", ename=ename, evalue=text,
                        traceback=[f"{ename}: {text}" if traceback is None else traceback])


def stream_output(text: str):
    """A stdout stream output holding ``text``."""
    from nbformat import NotebookNode

    return NotebookNode(output_type="stream", name="stdout", text=text)
