"""Finding the submissions in a folder, and reading one.

Every entry of the submissions folder is accounted for: a student's notebook, or an entry that is not
a submission, with the reason (:func:`find_submissions`). Names that cannot be gradebook ids are made
safe (:func:`student_id`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Found", "find_submissions", "student_id", "read_submission", "collect_zip"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.@+-]")
#: a file of a Canvas bulk download: ``<lastfirst>[_LATE]_<user id>_<submission id>_<file as uploaded>``
_CANVAS = re.compile(r"^(?P<login>[A-Za-z0-9-]+?)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
#: the most a zip of submissions may unpack to, in all and per file (bytes)
ZIP_LIMITS = (4 << 30, 256 << 20)


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


def _canvas(stem: str, by_lms: dict) -> tuple[str, str] | None:
    """(student, note) for a Canvas bulk-download name: the roster student with that Canvas user id, else the
    name Canvas wrote; None for a name that is not Canvas's."""
    m = _CANVAS.match(stem)
    if m is None:
        return None
    student = by_lms.get(m.group("uid"), m.group("login"))
    notes = []              # nothing to say of an ordinary download: the student is found by the id
    if m.group("late"):
        notes.append("marked late by Canvas")
    if by_lms and m.group("uid") not in by_lms:
        notes.append(f"Canvas user {m.group('uid')} is on no roster row (no such lms_id)")
    note = "; ".join(notes)
    return student, note


def _latest_per_student(pending: list) -> tuple[list, list]:
    """Of the Canvas downloads of one student (``pending``: (entry, name, path, note)), keep the highest
    submission id; returns (kept, the others as ignored :class:`Found`)."""
    best: dict = {}
    for item in pending:
        m = _CANVAS.match(item[0].stem) if item[2] is item[0] else None
        if m is not None and (item[1] not in best or int(m.group("sub")) > best[item[1]][0]):
            best[item[1]] = (int(m.group("sub")), item)
    kept, dropped = [], []
    for item in pending:
        m = _CANVAS.match(item[0].stem) if item[2] is item[0] else None
        if m is not None and best[item[1]][1] is not item:
            dropped.append(Found(_UNSAFE.sub("_", item[0].name)[:120], None, f"an earlier Canvas submission of "
                                 f"{item[1]} (a later one is graded)", original=item[0].name, ignored=True,
                                 entry=item[0]))
        else:
            kept.append(item)
    return kept, dropped


def find_submissions(folder: Path, notebook: str, assignment_id: str = "", roster: dict | None = None) -> list[Found]:
    """Every entry of ``folder``: one submission per student, or the reason an entry is not one.

    Accepted layouts: ``<student>.ipynb`` (any case of the extension); ``<student>/<notebook>.ipynb``;
    and nbgrader's ``<student>/<assignment_id>/<notebook>.ipynb``. A student folder with a single
    notebook of another name is accepted with a note; a folder with none gives "missing". Names
    that cannot be gradebook ids (spaces, accents, a leading dot or formula character) are made
    safe, and the original name is kept in a note. Entries that are not submissions -- other files,
    Jupyter's checkpoint folder, macOS's ``._`` companions -- are returned with ``ignored`` set and
    the reason, so that every entry of the folder is accounted for.

    Files of a Canvas bulk download (``lastfirst[_LATE]_<user id>_<submission id>_<file>.ipynb``, as
    nbgrader's ``zip_collect`` reads them) belong to the ``roster`` student whose ``lms_id`` is that user id
    (else to ``lastfirst``); of two files of one student the later submission is graded. This holds only in a
    folder where every notebook is so named (a download): a file a student named like that among others
    keeps its own name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    by_lms = {e.lms_id: name for name, e in (roster or {}).items() if getattr(e, "lms_id", "")}
    files = [p.stem for p in folder.iterdir() if p.is_file() and _is_notebook(p) and not p.name.startswith("._")]
    # a Canvas download names every file so; a student's own file name alone never makes them someone else
    canvas_folder = bool(files) and all(_CANVAS.match(stem) for stem in files)
    found: list[Found] = []
    pending: list = []          # (entry, name, notebook, note) of each submission, before ids are given
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
            canvas = _canvas(entry.stem, by_lms) if canvas_folder else None
            if canvas is not None:
                name, note = canvas[0], "; ".join(x for x in (note, canvas[1]) if x)
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
        pending.append((entry, name, path, note))
    kept, dropped = _latest_per_student(pending)
    for entry, name, path, note in kept:
        sid = student_id(name, taken)
        taken.add(sid)
        if sid != name:
            note = "; ".join(x for x in (note, f"submitted as {name!r}") if x)
        found.append(Found(sid, path, note, original=name, entry=entry))
    return sorted(found + dropped, key=lambda f: f.entry.name if f.entry is not None else f.student)


def collect_zip(archive: Path, dest: Path) -> Path:
    """Unpack a zip of submissions (an LMS's bulk download) into ``dest`` and return the folder to grade: the
    zip's single top folder when it has one. Member names are data: only their relative parts are used (no
    absolute path, no ``..``, no link), macOS's companions are skipped, and the sizes are bounded
    (:data:`ZIP_LIMITS`) as the bytes are written, whatever the zip's headers claim.

    Raises
    ------
    ValueError
        When the file is not a zip, or unpacks to more than the limits.
    """
    import shutil
    import zipfile
    from pathlib import PurePosixPath

    total_cap, file_cap = ZIP_LIMITS
    written = 0
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{archive} is not a readable zip of submissions ({exc}).") from None
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with zf:
        for info in zf.infolist():
            parts = [p for p in PurePosixPath(info.filename.replace("\\", "/")).parts if p not in ("", ".")]
            if info.is_dir() or not parts or ".." in parts or info.filename.startswith("/") or \
                    parts[0] == "__MACOSX" or parts[-1].startswith("._") or (info.external_attr >> 16) & 0o170000 == 0o120000:
                continue
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            with zf.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    size += len(chunk)
                    written += len(chunk)
                    if size > file_cap or written > total_cap:
                        raise ValueError(f"{archive}: {info.filename} unpacks to more than the grader takes "
                                         f"({file_cap >> 20} MB a file, {total_cap >> 30} GB in all).")
                    out.write(chunk)
    tops = [p for p in dest.iterdir()]
    return tops[0] if len(tops) == 1 and tops[0].is_dir() else dest


def read_submission(path: Path):
    """Read a submitted notebook: ``(notebook, "")``, or ``(None, why it cannot be graded)`` for a file that is
    not UTF-8, not JSON or not a valid notebook (never raises for a bad file); the same reading as the
    students' ``elv validate`` (:func:`elvkit.validate.read_notebook`)."""
    from elvkit.validate import read_notebook

    return read_notebook(path)

