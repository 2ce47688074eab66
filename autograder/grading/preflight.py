"""What a grading run checks before it writes anything: its limits, its results folder, its database.

A TA's mistake gets one line that names the option, what was expected and what came (``ValueError``, exit
status 2 on the command line); a back end that does not answer (the database, a Dask scheduler) gets one
line with the cause and a hint (``RuntimeError``). Either way the results folder is left as it was.

A results folder belongs to one assignment: the first run writes :data:`MARKER` in it, and a run of another
assignment into the same folder is refused (its grades.csv, report and feedback would be overwritten).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .types import GradeOptions

__all__ = ["check_options", "check_results_folder", "bind_results_folder", "check_database", "MARKER", "LIMITS"]

#: the file that binds a results folder to its assignment
MARKER = ".elv-results.json"
#: option -> (smallest, largest) accepted value
LIMITS = {"--jobs": (1, 256), "--cell-timeout": (1, 86_400), "--timeout": (1, 7 * 86_400),
          "--memory": (256, 1_048_576)}


def _within(option: str, value, unit: str = "") -> None:
    low, high = LIMITS[option]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{option} expects a whole number from {low} to {high}{unit}; got {value!r}.")


def check_options(options: GradeOptions) -> None:
    """Refuse limits that cannot work: no worker, a time limit of zero or less, a negative memory limit.

    Raises
    ------
    ValueError
        Naming the option, the range it takes and the value that came.
    """
    _within("--jobs", options.jobs)
    _within("--cell-timeout", options.cell_timeout, " seconds")
    _within("--timeout", options.notebook_timeout, " seconds")
    if options.cell_timeout > options.notebook_timeout:
        raise ValueError(f"--cell-timeout ({options.cell_timeout} s) is longer than --timeout, the whole "
                         f"notebook's limit ({options.notebook_timeout} s): one cell could never use it.")
    low, high = LIMITS["--memory"]
    if options.memory_mb not in (None, 0):
        if not isinstance(options.memory_mb, int) or not low <= options.memory_mb <= high:
            raise ValueError(f"--memory expects 0 (no limit) or a number of MB from {low} to {high}; "
                             f"got {options.memory_mb!r}.")


def _bound_to(out: Path) -> str | None:
    """The assignment the results folder ``out`` holds, from its marker (None when it has none)."""
    marker = out / MARKER
    if not marker.is_file():
        return None
    try:
        return str(json.loads(marker.read_text(encoding="utf-8"))["assignment"])
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"--out {out}: its {MARKER} is damaged; it says which assignment the folder holds. "
                         "Grade into a new folder.") from None


def check_results_folder(out: Path, assignment_id: str) -> None:
    """Whether ``out`` can take the results of ``assignment_id``: a new folder (its parent creatable), or one
    that ``elv grade`` wrote for the same assignment. Writes nothing.

    Raises
    ------
    ValueError
        When ``out`` is a file, lies under a file, cannot be created, holds another assignment's results, or
        holds files that ``elv grade`` did not write.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; expected a results folder (a new one, or one `elv grade` "
                         f"wrote for {assignment_id}).")
    if not out.exists():
        parent = out.parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise ValueError(f"--out {out}: {parent} is a file, so the results folder cannot be made under it.")
        try:                # a probe: can a folder be made there? (removed at once)
            os.rmdir(tempfile.mkdtemp(prefix=".elv-probe-", dir=parent))
        except OSError as exc:
            raise ValueError(f"--out {out}: cannot create the results folder in {parent} "
                             f"({exc.strerror or exc}).") from None
        return
    bound = _bound_to(out)
    if bound is not None and bound != assignment_id:
        raise ValueError(f"--out {out} holds the results of {bound}; grade {assignment_id} into a folder of its "
                         f"own (e.g. {out.parent / assignment_id}), or its grades.csv, report and feedback would "
                         "be overwritten.")
    if bound is None and any(out.iterdir()) and not (out / "journal.jsonl").is_file():
        raise ValueError(f"--out {out} is not empty and holds no results of `elv grade`; give a new folder "
                         "(the results are written there).")


def bind_results_folder(out: Path, assignment_id: str, private: bool = False) -> None:
    """Create ``out`` (checked by :func:`check_results_folder`) and mark it as ``assignment_id``'s; ``private``:
    readable by the grader's account only (when kernels run as another account on this machine)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if private:
        out.chmod(0o700)
    if _bound_to(out) is None:
        (out / MARKER).write_text(json.dumps({"assignment": assignment_id}) + "\n", encoding="utf-8")


def check_database(url: str | None) -> None:
    """Whether the gradebook database at ``url`` answers (None: the default SQLite file, nothing to check).

    Raises
    ------
    ValueError
        When ``url`` is not a database URL.
    ImportError
        When its driver is not installed (with the command that installs it).
    RuntimeError
        When the database does not answer (the cause, and what to check).
    """
    if url is None:
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"--db {url!r} is not a database URL; expected for example "
                         "sqlite:////srv/course/gradebook.db or postgresql+psycopg2://ta@dbhost/course.") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        folder = Path(parsed.database or "").parent
        if parsed.database and not folder.resolve().is_dir():
            raise ValueError(f"--db {shown}: the folder {folder} does not exist.")
        return
    try:
        engine = create_engine(parsed, connect_args={"connect_timeout": 10}
                               if parsed.get_backend_name() == "postgresql" else {})
    except ImportError as exc:
        raise ImportError(f"--db {shown}: its driver is not installed ({exc.name}); for PostgreSQL: "
                          "pip install -e '.[postgres]'") from None
    except ArgumentError as exc:
        raise ValueError(f"--db {shown}: {exc}") from None
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise RuntimeError(f"--db {shown}: the database does not answer ({cause}). Check that its server runs "
                           "and the URL's host, port, user and database name; nothing was written.") from None
    finally:
        engine.dispose()
