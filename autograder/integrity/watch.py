"""The grader's watch on a running notebook: nbclient's per-cell hooks (:class:`CellWatch`).

Before a graded cell runs it removes any record of that cell; right after, it reads the records the cell wrote
into memory -- so no later cell, thread or timer can change them -- never through a symbolic link and never
past the submission's budget, hands them to the judge (:class:`autograder.integrity.judge.CellJudge`) and drops
them. It also follows the guard's log (:mod:`autograder.kernel_side.guard`): the log may only grow, and the guard
must report every cell. The hooks never raise: whatever the kernel leaves in its folder is a finding.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

from ..course.notebooks import grade_id
from ..kernel_side.records import (MAX_JSON_BYTES, MAX_RECORD_BYTES, RecordError, RecordTooLarge, cell_key,
                                   parse_record)

__all__ = ["CellWatch", "RecordBudgetError", "RECORD_BUDGET_BYTES", "RECORD_BUDGET_ARRAYS"]

#: the guard's log is read up to this size
_GUARD_LOG_BYTES = 1_000_000
#: what one submission's records may hold in all, decompressed, and how many arrays: a cell whose records would
#: pass it scores 0 (flagged); with each cell's records dropped once judged, one worker holds at most this much
RECORD_BUDGET_BYTES = 512 * 2**20
RECORD_BUDGET_ARRAYS = 20_000


class RecordBudgetError(RecordError):
    """A record that would take the submission's records past the grader's budget."""


class _OverBudget(str):
    """Why a record was not read: the budget (kept in place of its bytes)."""


class CellWatch:
    """nbclient's per-cell hooks: execution replies, each graded cell's records, the guard's log."""

    def __init__(self, folder: Path, p):
        self.folder = Path(folder)
        self.stems = {gid: list(names) for gid, names in p.hidden.items()}
        for gid, _, _ in p.visible:
            self.stems[gid] = [f"cells/{gid}"]
        self.replies: dict = {}           # cell index -> the kernel's execution status ("ok", "error", ...)
        self.records: dict = {}           # grade_id -> {stem: (json bytes, npz bytes) or a problem (str)}
        self.verdicts: dict = {}          # grade_id -> (verdict, findings), judged as soon as the cell ran
        self.own: dict = {}               # checked function -> whether its hidden check passed (so far)
        self.findings: list = []
        self.left = RECORD_BUDGET_BYTES   # what the submission's records may still hold, decompressed
        self.arrays_left = RECORD_BUDGET_ARRAYS
        self._judge = None
        self.judging = 0.0                # seconds spent judging while the notebook ran
        self._log = b""
        self._silent = False

    def attach(self, judge) -> None:
        """Judge each graded cell as soon as it has run with ``judge`` (``judge(watch, grade_id, ran, kernel_ok)
        -> (verdict, findings)``, a :class:`autograder.integrity.judge.CellJudge`), and drop its records then: the
        grader holds one cell's records at a time, whatever the notebook records in all (see
        :data:`RECORD_BUDGET_BYTES`)."""
        self._judge = judge

    def cells_file(self, nb, p) -> None:
        """``in/cells.json``: how the kernel's recorder recognises the visible test cells (by their source)."""
        names = {gid: names for gid, _, names in p.visible}
        entries = {}
        for cell in nb.cells:
            gid = grade_id(cell)
            if gid in names and cell.cell_type == "code":
                isolate = {n: list(p.isolate[n]) for n in names[gid] if n in getattr(p, "isolate", {})}
                entries[cell_key(cell.source)] = {"cell": gid, "names": names[gid],
                                                  **({"isolate": isolate} if isolate else {})}
        target = self.folder / "in" / "cells.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(entries), encoding="utf-8")

    def _parent(self, relative: str) -> Path | None:
        """The folder of ``folder/relative``, when every folder on the way is a real folder (the kernel may
        put symbolic links in its folder: the grader, outside the sandbox, never follows one)."""
        import stat

        here = self.folder.joinpath(*relative.split("/")[:-1])
        node = self.folder.parent
        for part in here.relative_to(self.folder.parent).parts:
            node = node / part
            try:
                if not stat.S_ISDIR(os.lstat(node).st_mode):
                    return None
            except OSError:
                return None
        return here

    def _files(self, stem: str):
        name = stem.split("/")[-1]
        parent = self._parent(f"out/{stem}")
        return (None, None) if parent is None else (parent / f"{name}.json", parent / f"{name}.npz")

    def before(self, cell=None, cell_index=None, **_):
        """nbclient's hook before a cell runs: any record of that graded cell is removed first. Never raises:
        whatever the kernel left in its folder gives a finding, not an aborted run."""
        try:
            self._before(cell)
        except Exception as exc:  # the kernel controls the folder: odd files must not stop the notebook
            self._find(f"before cell {cell_index + 1 if cell_index is not None else '?'}: the kernel's folder "
                       f"held something the grader could not clear ({type(exc).__name__}: {exc})"[:300])

    def _before(self, cell) -> None:
        for stem in self.stems.get(grade_id(cell), ()):
            for path in self._files(stem):
                if path is not None:
                    try:
                        os.unlink(path)             # removes a link itself, never what it points to
                    except OSError:
                        pass

    def after(self, cell=None, cell_index=None, execute_reply=None, **_):
        """nbclient's hook after a cell ran: its execution reply and its records are kept in memory, and the
        guard's log is followed. Never raises (see :meth:`before`)."""
        self.replies[cell_index] = (execute_reply or {}).get("content", {}).get("status", "")
        gid = grade_id(cell)
        try:
            if gid in self.stems:
                self.records[gid] = {stem: self._read(stem) for stem in self.stems[gid]}
        except Exception as exc:  # noqa: BLE001 - a record is then missing, and a person told why
            self.records[gid] = {stem: f"could not be read ({type(exc).__name__})" for stem in self.stems[gid]}
            self._find(f"{gid}: its records could not be read ({type(exc).__name__}: {exc})"[:300])
        if self._judge is not None and gid in self.stems:
            ok = self.replies[cell_index] == "ok"
            started = time.perf_counter()
            try:
                self.verdicts[gid] = self._judge(self, gid, True, ok)
            except Exception as exc:  # noqa: BLE001 - the grader's own failure: this cell scores 0, a person looks
                self.verdicts[gid] = (f"the grader could not judge this cell ({type(exc).__name__}: {exc})",
                                      [f"{gid}: the grader failed while judging it ({type(exc).__name__})"])
            finally:
                self.records.pop(gid, None)         # judged: the records are dropped
                self.judging += time.perf_counter() - started
        try:
            self._follow_guard(cell, cell_index)
        except Exception as exc:  # noqa: BLE001
            self._find(f"the guard's log could not be read after cell {cell_index + 1} ({type(exc).__name__})")

    def _read(self, stem: str):
        js, npz = self._files(stem)
        if js is None:
            return "its record's folder was replaced by something that is not a folder"
        parts = []
        for path, limit in ((js, MAX_JSON_BYTES), (npz, MAX_RECORD_BYTES)):
            if self.left <= 0:
                return _OverBudget(f"the submission's records passed the grader's budget of "
                                   f"{RECORD_BUDGET_BYTES / 2**20:.0f} MB before this one")
            data = _read_plain(path, min(limit, self.left))
            if data is None:
                return None
            if isinstance(data, str):
                if data == "is too large to be read" and self.left < limit:
                    return _OverBudget(f"its record is larger than the {max(self.left, 0) / 2**20:.0f} MB left of the "
                                       f"grader's budget of {RECORD_BUDGET_BYTES / 2**20:.0f} MB for one submission")
                return f"its record {data}"
            parts.append(data)
        self.left -= len(parts[0])
        return tuple(parts)

    def _follow_guard(self, cell, cell_index) -> None:
        parent = self._parent("guard.jsonl")
        data = _read_plain(parent / "guard.jsonl", _GUARD_LOG_BYTES, truncate=True) if parent is not None else None
        data = data if isinstance(data, bytes) else b""
        if not data.startswith(self._log):
            self._find("the guard's log was changed while the notebook ran (shortened, rewritten or removed)")
            self._log = b""
        fresh, self._log = data[len(self._log):], data
        beat = cell_key(cell.source)[:16]
        seen = False
        for line in fresh.decode("utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            if entry.get("beat") == beat:
                seen = True
            elif isinstance(entry.get("finding"), str):
                self._find(f"while running: {entry['finding'][:300]}")
        if not seen and not self._silent:
            self._silent = True
            self._find(f"the kernel's guard stopped reporting at cell {cell_index + 1} (its event callbacks were "
                       "removed, or its log was changed)")

    def _find(self, what: str) -> None:
        if what not in self.findings:
            self.findings.append(what)

    def record(self, gid: str, stem: str):
        """``(payload, arrays)`` of a record, None when there is none; RecordError when it is unreadable,
        RecordBudgetError when it would take the submission's records past the budget."""
        raw = self.records.get(gid, {}).get(stem)
        if raw is None:
            return None
        if isinstance(raw, _OverBudget):
            raise RecordBudgetError(str(raw))
        if isinstance(raw, str):
            raise RecordError(raw)
        limit = min(MAX_RECORD_BYTES, max(self.left, 0))
        try:
            payload, arrays = parse_record(*raw, max_bytes=limit)
        except RecordTooLarge:
            if limit < MAX_RECORD_BYTES:
                raise RecordBudgetError(f"its arrays hold more than the {limit / 2**20:.0f} MB left of the grader's "
                                        f"budget of {RECORD_BUDGET_BYTES / 2**20:.0f} MB for one submission's records "
                                        "(0 points for this cell; return smaller results)") from None
            raise
        self.left -= sum(a.nbytes for a in arrays.values())
        self.arrays_left -= len(arrays)
        if self.arrays_left < 0:
            raise RecordBudgetError(f"the submission's records hold more than {RECORD_BUDGET_ARRAYS} arrays in all "
                                    "(0 points for this cell)")
        return payload, arrays


def _read_plain(path: Path, limit: int, truncate: bool = False):
    """The bytes of a regular file, never through a symbolic link; None when it does not exist; a reason
    (str) when it is something else or larger than ``limit`` (``truncate``: its first ``limit`` bytes)."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return "is a symbolic link" if exc.errno == errno.ELOOP else f"could not be read ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):       # a folder, a FIFO, a device: never opened as a file
            return "is not a plain file"
        if info.st_size > limit and not truncate:
            return "is too large to be read"
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit)
    except OSError as exc:
        return f"could not be read ({exc.strerror or type(exc).__name__})"
    finally:
        os.close(fd)
