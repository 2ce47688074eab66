"""The journal of a grading run: what is finished is never graded twice, nothing is lost."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from .types import STATUS_INFRA, SubmissionResult

__all__ = ["Journal", "reused", "POLICY_FLAGS"]

# flags that come from the course's policies, not from grading: recomputed when a result is reused
POLICY_FLAGS = ("not on the roster", "submission time from", "submission time unknown", "late by")
# what the journal keeps of a result: the grading, not the policies
_JOURNAL_FIELDS = ("student", "status", "message", "scores", "max_scores", "flags", "source_file", "sha256",
                   "seconds", "judging", "peak_mb", "feedback", "answers")


class Journal:
    """RESULTS/journal.jsonl: one line per finished submission, appended and flushed to disk.

    A rerun after a crash (even SIGKILL) reads it and reuses every result whose submission has
    the same sha256 and whose assignment source is unchanged, so nothing is graded twice and
    nothing is lost. A torn last line (the crash hit mid-write) is ignored.
    """

    def __init__(self, path: Path, source_digest: str):
        self.path, self.digest = path, source_digest
        self.lock = threading.Lock()

    def load(self) -> dict:
        """student -> the entry of each submission finished with this assignment source (infrastructure errors
        left out, so that they are graded again)."""
        done = {}
        if not self.path.is_file():
            return done
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("source") == self.digest and entry.get("status") != STATUS_INFRA:
                done[entry["student"]] = entry
        return done

    def append(self, result: SubmissionResult) -> None:
        """Append one finished result and flush it to disk (thread-safe); policy flags are left out."""
        keep = {k: getattr(result, k) for k in _JOURNAL_FIELDS}
        keep["flags"] = [f for f in result.flags if not f.startswith(POLICY_FLAGS)]
        keep["source"] = self.digest
        line = json.dumps(keep) + "\n"
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


def reused(entry: dict) -> SubmissionResult:
    """A journal entry (from :meth:`Journal.load`) as a result again."""
    return SubmissionResult(**{k: entry[k] for k in _JOURNAL_FIELDS if k in entry})

