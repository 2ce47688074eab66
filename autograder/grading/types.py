"""The grading engine's typed contracts: the options of a batch, what a worker is asked to do (:class:`Job`)
and what it hands back (:class:`Outcome`), and one submission's result in the gradebook
(:class:`SubmissionResult`).

A job and an outcome cross process boundaries (worker processes, Dask workers): they hold plain data
and the assignment's id, never an :class:`autograder.course.Assignment` or an open file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["GradeOptions", "SubmissionResult", "Job", "Outcome", "Page", "STATUS_GRADED", "STATUS_TIMEOUT",
           "STATUS_KERNEL_DIED", "STATUS_MALFORMED", "STATUS_MISSING", "STATUS_INFRA", "STATUS_IGNORED"]

STATUS_GRADED = "graded"
STATUS_TIMEOUT = "timeout"
STATUS_KERNEL_DIED = "kernel-died"
STATUS_MALFORMED = "malformed"
STATUS_MISSING = "missing"
STATUS_INFRA = "infrastructure-error"
STATUS_IGNORED = "ignored"           # an entry of the submissions folder that is not a submission


@dataclass
class GradeOptions:
    """How a batch is graded: parallelism, limits, policies and outputs (``elv grade``'s options)."""

    jobs: int = 1
    cell_timeout: int = 120          # seconds per cell
    notebook_timeout: int = 600      # seconds per notebook
    kernel_retries: int = 2          # extra attempts when a kernel fails to start
    db_url: str | None = None        # default: sqlite:///RESULTS/gradebook.db
    progress: bool = True
    env: dict = field(default_factory=dict)
    roster: dict | None = None       # student -> policy.RosterEntry (LMS ids, extensions)
    late: object = None              # policy.LatePolicy, or None: no late penalty
    submitted_from_mtime: bool = False   # no timestamp.txt: take the notebook file's modification time
    gradescope: bool = False         # also write RESULTS/gradescope/<student>/results.json
    regrade: bool = False            # ignore the journal of an earlier run: grade every submission again
    only: tuple = ()                 # grade these students only (names as submitted or gradebook ids); the
                                     # others keep their earlier results (--student NAME ...)
    memory_mb: int | None = 6144     # a kernel's data segment (RLIMIT_DATA); None: no limit
    file_mb: int | None = 512        # the largest file a kernel may write (RLIMIT_FSIZE)
    scheduler: str | None = None     # Dask: a scheduler address, "local" (a LocalCluster) or "slurm"
    device: str | None = None        # "cpu" or "cuda": ELVKIT_DEVICE in the kernels; None: what is there
    slurm: dict = field(default_factory=dict)   # dask-jobqueue SLURMCluster keywords (queue, memory, ...)
    sandbox: str = "auto"            # "auto", "bwrap", "user" (kernels as kernel_user) or "none"; see batch
    kernel_user: str | None = None   # an account that cannot read the grader's files (needs root)
    processes: int | None = 256      # tasks (processes and threads) a kernel may have at once

    @property
    def cpu_seconds(self) -> int:
        """A kernel's CPU-time limit: twice the notebook's wall-clock limit, at least a minute."""
        return max(self.notebook_timeout * 2, 60)


@dataclass
class SubmissionResult:
    """One row of ``grades.csv``: a student's status, scores per grade cell, flags and policies."""

    student: str
    status: str
    message: str = ""
    scores: dict = field(default_factory=dict)      # grade_id -> score (None: needs manual grading)
    max_scores: dict = field(default_factory=dict)  # grade_id -> points
    flags: list = field(default_factory=list)
    source_file: str = ""
    sha256: str = ""
    seconds: float = 0.0                             # wall time in the worker (kernel and cells)
    judging: float = 0.0                             # the grader's own judging: hidden inputs, every verdict
    peak_mb: float | None = None                     # the worker's peak resident memory for this submission
    feedback: str = ""
    lms_id: str = ""
    name: str = ""
    email: str = ""
    submitted: str = ""                              # ISO time the submission was handed in
    late_days: int = 0
    penalty: float = 0.0                             # points taken off for lateness
    answers: dict = field(default_factory=dict)      # grade_id -> digest of a written answer (did it change?)
    #: grade_id -> (score or None, comment) a person gave in the gradebook (nbgrader's formgrader), read every run
    manual: dict = field(default_factory=dict)
    answers_changed: list = field(default_factory=list)   # written answers that changed since a person graded them

    @property
    def final_scores(self) -> dict:
        """grade_id -> the score that counts: a person's (written answers, or a TA's override of a test) when
        given, else the autograder's; None for a written answer no one has graded yet."""
        out = dict(self.scores)
        for gid, (score, _) in self.manual.items():
            if score is not None and gid in out:
                out[gid] = float(score)
        return out

    @property
    def pending(self) -> list:
        """The written answers waiting for a person's grade."""
        return [gid for gid, s in self.final_scores.items() if s is None]

    @property
    def raw_score(self) -> float:
        """The points given so far (tests, and written answers once graded), before any late penalty."""
        return float(sum(s for s in self.final_scores.values() if s is not None))

    @property
    def score(self) -> float:
        """The final score: the tests' points minus the late penalty."""
        return self.raw_score - self.penalty

    @property
    def max_score(self) -> float:
        """The points of every graded cell."""
        return float(sum(self.max_scores.values()))


@dataclass
class Page:
    """What a worker needs to render a feedback page: the assignment's title, notebook name and question
    titles, and the flags known before the run."""

    title: str
    notebook: str
    questions: dict
    flags: list = field(default_factory=list)


@dataclass
class Job:
    """One sanitised submission for a worker to execute and judge.

    ``plan`` is the assignment's :class:`autograder.integrity.judge.Plan` (it names the assignment by
    id); ``files`` are written beside the notebook before it runs (relative path -> bytes); ``workdir``
    is where it runs ("" : a temporary folder of the worker's own, on a cluster node); ``seed`` seeds
    the hidden inputs (one per student, from the batch's secret salt); ``tamper`` holds what the
    grader found before the run (static scan, metadata); ``page`` asks for the feedback page to be
    rendered in the worker.
    """

    notebook: str
    plan: object
    files: dict
    env: dict
    cell_timeout: int
    notebook_timeout: int
    retries: int = 2
    workdir: str = ""
    seed: int | None = None
    tamper: list = field(default_factory=list)
    sandboxed: bool = False
    kernel_user: str = ""            # the unprivileged account the kernel runs as ("" : the grader's own)
    page: Page | None = None


@dataclass
class Outcome:
    """What a worker hands back for a :class:`Job`: status, scores, the executed notebook (JSON), timings,
    flags, and the feedback page when one was asked for (``page_flags``: the flags it shows)."""

    status: str
    message: str
    scores: dict
    max_scores: dict
    notebook: str
    seconds: float
    judging: float
    flags: list
    page: str | None = None
    page_flags: list | None = None
    #: the worker process's peak resident memory while it graded this job (MB; None where it cannot be read)
    peak_mb: float | None = None
