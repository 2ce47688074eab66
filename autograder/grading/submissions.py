"""Finding the submissions in a folder, and reading one.

Every entry of the submissions folder is accounted for: a student's notebook, or an entry that is not
a submission, with the reason (:func:`find_submissions`). Names that cannot be gradebook ids are made
safe (:func:`student_id`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Found", "find_submissions", "student_id", "read_submission"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@+-]")


@dataclass
class Found:
    """One entry of the submissions folder: a student's notebook (``path``; None when there is none), or
    an entry that is not a submission (``ignored``, with the reason in ``note``)."""

    student: str
    path: Path | None
    note: str = ""
    original: str = ""       # the name as submitted, when the gradebook id had to differ
    ignored: bool = False    # an entry of the submissions folder that is not a submission (note: why)
    entry: Path | None = None  # the entry of the submissions folder it comes from


#: characters a spreadsheet takes as the start of a formula (never the first of a gradebook id)
_FORMULA_START = "=+-@"


def student_id(name: str, taken: set) -> str:
    """A gradebook id for a submission's name: unsafe characters become '_', clashes get a suffix.

    An id never starts with a dot or with a character that a spreadsheet reads as a formula.
    """
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    sid = re.sub("_+", "_", _UNSAFE.sub("_", ascii_name)).strip("._" + _FORMULA_START) or "student"
    sid = sid[:120]
    base, n = sid, 2
    while sid in taken:
        sid, n = f"{base}-{n}", n + 1
    return sid


def _is_notebook(path: Path) -> bool:
    return path.suffix.lower() == ".ipynb"


def _folder_notebook(entry: Path, notebook: str, assignment_id: str) -> tuple[Path | None, str]:
    """The notebook in a student's folder and a note; hidden files and Jupyter's checkpoints are the last resort."""
    wanted = [f"{notebook}.ipynb".lower()]
    inside = sorted(p for p in entry.rglob("*") if _is_notebook(p) and (p.is_file() or p.is_symlink()))
    checkpoints = [p for p in inside if ".ipynb_checkpoints" in p.relative_to(entry).parts]
    visible = [p for p in inside if p not in checkpoints
               and not any(part.startswith(".") for part in p.relative_to(entry).parts)]
    hidden = [p for p in inside if p not in checkpoints and p not in visible]
    for group, how in ((visible, ""), (hidden, "a hidden file")):
        exact = [p for p in group if p.name.lower() in wanted and
                 (p.parent == entry or (assignment_id and p.parent == entry / assignment_id))]
        if exact:
            note = "" if exact[0].name == f"{notebook}.ipynb" else f"notebook named {exact[0].relative_to(entry)}"
            if how:
                note = "; ".join(x for x in (note, f"{how}: {exact[0].relative_to(entry)}") if x)
            return exact[0], note
        if len(group) == 1:
            return group[0], (f"notebook named {group[0].relative_to(entry)}, expected {notebook}.ipynb"
                              + (f" ({how})" if how else ""))
        if group:
            return None, (f"{len(group)} notebooks, none named {notebook}.ipynb: "
                          + ", ".join(str(p.relative_to(entry)) for p in group[:5]))
    if checkpoints:
        return None, (f"no {notebook}.ipynb in the folder, only Jupyter's automatic checkpoint copies "
                      f"({', '.join(str(p.relative_to(entry)) for p in checkpoints[:3])})")
    return None, f"no {notebook}.ipynb in the folder"


def find_submissions(folder: Path, notebook: str, assignment_id: str = "") -> list[Found]:
    """Every entry of ``folder``: one submission per student, or the reason an entry is not one.

    Accepted layouts: ``<student>.ipynb`` (any case of the extension); ``<student>/<notebook>.ipynb``;
    and nbgrader's ``<student>/<assignment_id>/<notebook>.ipynb``. A student folder with a single
    notebook of another name is accepted with a note; a folder with none gives "missing". Names
    that cannot be gradebook ids (spaces, accents, a leading dot or formula character) are made
    safe, and the original name is kept in a note. Entries that are not submissions -- other files,
    Jupyter's checkpoint folder, macOS's ``._`` companions -- are returned with ``ignored`` set and
    the reason, so that every entry of the folder is accounted for.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    found: list[Found] = []
    taken: set = set()
    for entry in sorted(folder.iterdir()):
        ignored = ""
        if entry.name.startswith("._"):
            ignored = "macOS metadata file (made when the folder was copied from a Mac), not a submission"
        elif entry.is_symlink() and (_is_notebook(entry) or entry.is_dir()):
            # refused when graded: a link could point the grader at any file of the machine
            name, path, note = (entry.stem if _is_notebook(entry) else entry.name), entry, ""
        elif entry.is_file() and _is_notebook(entry):
            name, path, note = entry.stem, entry, ""
            if entry.suffix != ".ipynb":
                note = f"file extension {entry.suffix}"
        elif entry.is_dir() and entry.name in (".ipynb_checkpoints", "__MACOSX", ".git"):
            ignored = "a folder of Jupyter's, macOS's or git's own, not a submission"
        elif entry.is_dir():
            name = entry.name
            path, note = _folder_notebook(entry, notebook, assignment_id)
        else:
            ignored = "not a notebook (submissions are .ipynb files or one folder per student)"
        if ignored:
            found.append(Found(_UNSAFE.sub("_", entry.name)[:120] or "entry", None, ignored, original=entry.name,
                                ignored=True, entry=entry))
            continue
        if entry.name.startswith("."):
            note = "; ".join(x for x in (note, "a hidden name (starting with a dot)") if x)
        sid = student_id(name, taken)
        taken.add(sid)
        if sid != name:
            note = "; ".join(x for x in (note, f"submitted as {name!r}") if x)
        found.append(Found(sid, path, note, original=name, entry=entry))
    return found


def read_submission(path: Path):
    """Read a submitted notebook: ``(notebook, "")``, or ``(None, why it cannot be graded)`` for a file that is
    not UTF-8, not JSON or not a valid notebook (never raises for a bad file); the same reading as the
    students' ``elv validate`` (:func:`elvkit.validate.read_notebook`)."""
    from elvkit.validate import read_notebook

    return read_notebook(path)

