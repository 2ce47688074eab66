"""Grade a folder of submitted notebooks with nbgrader, in parallel, in one command.

``elv grade 01_stereo SUBMISSIONS/ --out RESULTS/ [--jobs N]``

Pipeline, per batch
    1. The assignment's source notebook is registered in nbgrader's gradebook
       (``generate_assignment``, run in-process, skipped when unchanged).
    2. Each submission is read and sanitised in this process, which is the
       gradebook's only writer (:mod:`autograder.grading.gradebook`): grading metadata
       taken from the release, outputs cleared, kernelspec reset, read-only and test
       cells restored from the source, deleted ones put back.
    3. Worker processes execute the sanitised notebooks (:mod:`autograder.grading.worker`:
       a fresh kernel per notebook in the sandbox, a time limit per cell, and a watchdog
       for the whole notebook) and judge every test cell in their own process from what
       the kernel recorded (:mod:`autograder.integrity.judge`); the feedback page is
       rendered there too.
    4. This process writes the scores to the gradebook as they arrive, while a writer
       thread keeps the executed notebooks and the feedback pages (hidden tests' source
       removed); then ``grades.csv`` and the summary.

A submission that cannot be read, that times out or that kills its kernel gets a status and a
score (the cells that ran keep their points); the batch goes on.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import shutil
import sys
from pathlib import Path

from ..course import Assignment, get_assignment, kernel_files
from ..course.notebooks import grade_id, grade_meta, read_source
from ..integrity.judge import plan
from ..outputs.feedback import refresh_pages
from .executors import executor, gpu_ids, run_jobs
from .execute import kernel_path
from .gradebook import Gradebook, answer_digests
from .preflight import bind_results_folder, check_database, check_options, check_results_folder
from .journal import Journal, reused
from .policy import apply_late, apply_roster
from .submissions import Found, find_submissions, read_submission, student_id
from .types import (STATUS_GRADED, STATUS_IGNORED, STATUS_INFRA, STATUS_MALFORMED, STATUS_MISSING, GradeOptions,
                    Job, Outcome, Page, SubmissionResult)
from .worker import feedback_page, warm_up

__all__ = ["grade"]


def _page(a: Assignment, flags=()) -> Page:
    """What a feedback page of ``a`` shows besides the notebook."""
    return Page(title=a.title, notebook=a.notebook, questions=dict(a.questions), flags=list(flags))


def _isolation(options: GradeOptions, out: Path, submissions: Path) -> tuple[bool, str | None, str]:
    """How kernels are kept from the grader's files: (in bubblewrap, the account they run as or None, the
    sentence the report says about it).

    ``auto`` takes bubblewrap where it runs, else the unprivileged ``--kernel-user``; with neither it refuses,
    since the kernel could read the reference solutions. ``bwrap`` and ``user`` insist on theirs; ``none``
    is the TA's explicit choice to run kernels with the grader's rights (for notebooks they trust).
    """
    from ..isolation.sandbox import probe, readable_secrets, secret_folders

    if options.sandbox not in ("auto", "bwrap", "user", "none"):
        raise ValueError(f"--sandbox expects auto, bwrap, user or none; got {options.sandbox!r}.")
    if options.sandbox == "none":
        return False, None, "no sandbox (--sandbox none): students' code ran with the grader's user rights."
    ok, why = probe() if options.sandbox != "user" else (False, "--sandbox user")
    if ok:
        return True, None, (f"each kernel ran in a bubblewrap sandbox ({why}): its own folder writable, the "
                            "grader's files, other submissions and the network out of reach.")
    if options.sandbox == "bwrap":
        raise RuntimeError(f"--sandbox bwrap: {why}")
    user = options.kernel_user
    if not user:
        raise RuntimeError(f"no sandbox here ({why}), and the kernels would run as this account, which can read "
                           f"the reference solutions in {secret_folders()[0]}. Install bubblewrap, or run as root "
                           "with --kernel-user NAME (an account that cannot read them), or pass --sandbox none to "
                           "grade anyway (only for notebooks you trust); nothing was written.")
    if os.geteuid() != 0:
        raise RuntimeError(f"--kernel-user {user}: the grader must run as root to start kernels as another account.")
    readable = readable_secrets(user, secret_folders() + [Path(submissions).resolve()])    # `out`: made private
    if readable:
        raise RuntimeError(f"--kernel-user {user} can read {readable[0]}" + (f" and {len(readable) - 1} more"
                           if len(readable) > 1 else "") + ": its kernels could read the reference or other "
                           "students' work. Make them unreadable to it (chmod -R go-rwx), or use another account; "
                           "nothing was graded.")
    return False, user, (f"no bubblewrap here ({why}): each kernel ran as the unprivileged account {user}, which "
                         "cannot read the reference solutions, the results or other submissions.")


def _hidden_salt(out: Path) -> str:
    """A secret kept with the results: hidden inputs differ per student and cannot be predicted from the
    student's id alone, yet a rerun makes the same inputs."""
    import secrets

    path = out / "nbgrader" / ".hidden-salt"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
    return path.read_text().strip()


def _student_seed(salt: str, student: str) -> int:
    """The seed of a student's hidden inputs."""
    return int(hashlib.sha256(f"{salt}/{student}".encode()).hexdigest()[:8], 16)


def _scan(nb) -> list:
    """Static tampering findings in the cells the student wrote (locked cells were restored already)."""
    from ..integrity.tamper import scan

    cells = [(grade_id(c) or f"cell {i + 1}", c.source) for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and not grade_meta(c).get("locked")]
    return scan(cells)


class _Batch:
    """One grading run: the submissions prepared here, executed by the workers, and written here (the
    gradebook's single writer) and on one writer thread (notebooks, feedback pages, the journal)."""

    def __init__(self, a: Assignment, submissions: Path, out: Path, options: GradeOptions, bar):
        self.a, self.submissions, self.out, self.options, self.bar = a, submissions, out, options, bar
        self.sandboxed, self.user, self.isolation = _isolation(options, out, submissions)
        bind_results_folder(out, a.id, private=self.user is not None)
        for sub in ("feedback", "autograded"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        self.gradebook = Gradebook(a, out, options.db_url, options.late)
        self.journal = Journal(out / "journal.jsonl", hashlib.sha256(a.source.read_bytes()).hexdigest())
        if options.regrade and not options.only and self.journal.path.is_file():
            self.journal.path.unlink()          # with --student, only the chosen are graded again (see _prepare)
        self.finished = self.journal.load()
        self.files = kernel_files(a)
        threads = max(1, (os.cpu_count() or 1) // max(1, options.jobs))
        self.env = {"NBGRADER_EXECUTION": "autograde", "ELVKIT_SMOKE": "1", "OMP_NUM_THREADS": str(threads),
                    "MKL_NUM_THREADS": str(threads), "PYTHONHASHSEED": "0",
                    "JUPYTER_PATH": kernel_path(out / "nbgrader" / "jupyter", options, self.sandboxed, self.user),
                    **options.env}
        if options.device:
            self.env["ELVKIT_DEVICE"] = options.device
        source_nb = read_source(a.source)
        self.plan = plan(a, source_nb)                   # how the grader judges each graded cell
        self.max_scores = dict(self.plan.points)         # every graded cell (tests and written answers), points
        self.salt = _hidden_salt(out)
        self.results: list[SubmissionResult] = []
        self.reused = 0
        self.people: dict = {}      # what TAs gave in the gradebook: student -> {grade_id: (score, comment)}

    def with_people(self, result: SubmissionResult) -> None:
        """Add the scores and comments people gave this student in the gradebook (written answers, overrides),
        except for answers that changed since."""
        given = self.people.get(result.student, {})
        result.manual = {gid: v for gid, v in given.items()
                         if gid in result.max_scores and gid not in result.answers_changed}

    def publish(self, result: SubmissionResult, journal: Journal | None, nb=None) -> None:
        """The last step for every submission: Gradescope's results.json if asked for, then the journal entry
        that marks it done (``journal`` None: it is done already)."""
        if self.options.gradescope and result.status != STATUS_MISSING:    # nothing submitted: nothing to upload
            from ..outputs.gradescope import write_results

            write_results(self.a, result, self.out, nb)
        if journal is not None and result.sha256:
            journal.append(result)

    def zero(self, result: SubmissionResult, status: str, message: str) -> None:
        """A submission that is not run: every cell scores 0, with the status and the reason."""
        result.status, result.message = status, message
        result.scores = {gid: 0.0 for gid in self.max_scores}
        result.max_scores = dict(self.max_scores)
        self.finish(result, self.journal)

    def finish(self, result: SubmissionResult, journal: Journal | None) -> None:
        """Save a result that needs no worker and publish it."""
        self.gradebook.save(result)
        self.publish(result, journal)
        self.results.append(result)
        self.bar.update()

    def prepare(self, f: Found) -> tuple[Job, SubmissionResult] | None:
        """The job for one entry of the submissions folder; None when it is settled here (ignored, missing,
        malformed, or unchanged since it was graded)."""
        if f.ignored and self.options.only:      # --student: the folder's other entries are not this run's
            self.bar.update()
            return None
        if f.ignored:               # accounted for in grades.csv and the summary, not in the gradebook
            self.results.append(SubmissionResult(student=f.student, status=STATUS_IGNORED, message=f.note,
                                                 source_file=str(f.entry)))
            self.bar.update()
            return None
        result = SubmissionResult(student=f.student, status=STATUS_GRADED, source_file=str(f.path or f.entry or ""),
                                  flags=[f.note] if f.note else [])
        try:
            return self._prepare(f, result)
        except Exception as exc:  # the grader's own failure on this submission: reported, the batch goes on
            self.zero(result, STATUS_INFRA, f"grader error while preparing it: {type(exc).__name__}: {exc}")
            return None

    def _reuse(self, earlier: dict, result: SubmissionResult, f: Found, note: str = "") -> None:
        """Keep a journal entry's grading, with this run's roster details, policies and flags (and ``note``)."""
        again = reused(earlier)
        again.flags += [x for x in result.flags + ([note] if note else []) if x not in again.flags]
        again.lms_id, again.name, again.email, again.submitted = (result.lms_id, result.name, result.email,
                                                                   result.submitted)
        self.with_people(again)
        apply_late(again, self.options, f.original)
        self.reused += 1
        self.finish(again, None)

    def _prepare(self, f: Found, result: SubmissionResult):
        import nbformat

        apply_roster(result, f, self.submissions, self.options)
        if f.path is None:
            return self.zero(result, STATUS_MISSING, f.note)
        if f.path.is_symlink():     # a link could point the grader at any file of the machine
            return self.zero(result, STATUS_MALFORMED, f"{f.path.name} is a symbolic link, not a file: submissions "
                                                       "are read only as plain files (upload the notebook itself)")
        result.sha256 = hashlib.sha256(f.path.read_bytes()).hexdigest()
        earlier = self.finished.get(f.student)
        chosen = not self.options.only or {f.student, f.original} & set(self.options.only)
        if not chosen:                          # --student: the others keep what they got, or are left out
            if earlier is None:
                self.bar.update()
                return None
            changed = earlier["sha256"] != result.sha256
            return self._reuse(earlier, result, f, "changed since it was graded; not graded again in this run "
                                                   "(--student)" if changed else "")
        if self.options.only and self.options.regrade:
            earlier = None                      # a chosen student is graded again
        if earlier is not None and earlier["sha256"] == result.sha256 and \
                (not earlier["feedback"] or (self.out / earlier["feedback"]).is_file()):
            return self._reuse(earlier, result, f)     # graded before a crash or in an earlier run: keep it
        nb, problem = read_submission(f.path)
        if nb is not None and not any(grade_id(c) in self.max_scores for c in nb.cells):
            nb, problem = None, ("the notebook has none of the assignment's cells (empty, or another notebook): "
                                 f"submit the {self.a.notebook}.ipynb you were given, with your answers in it")
        found_in_metadata = []
        if nb is not None:
            try:
                nb, flags, found_in_metadata = self.gradebook.sanitise(nb, f.student)
                result.flags += flags
            except Exception as exc:
                nb, problem = None, f"nbgrader could not restore its cells: {type(exc).__name__}: {exc}"
        if nb is None:
            return self.zero(result, STATUS_MALFORMED, problem)
        result.answers = answer_digests(nb, self.plan.manual)
        if earlier is not None:                 # a new version: a person's grade of a changed answer is void
            before = earlier.get("answers") or {}
            result.answers_changed = [gid for gid, digest in result.answers.items()
                                      if gid in before and before[gid] != digest]
            if result.answers_changed and any(gid in self.people.get(f.student, {}) for gid in result.answers_changed):
                result.flags.append("written answers changed since a TA graded them (to be graded again): "
                                    + ", ".join(result.answers_changed))
        o = self.options
        job = Job(notebook=nbformat.writes(nb), plan=self.plan, files=self.files, env=self.env,
                  cell_timeout=o.cell_timeout, notebook_timeout=o.notebook_timeout, retries=o.kernel_retries,
                  workdir="" if o.scheduler or self.user else str(self.out / "work" / f.student),
                  seed=_student_seed(self.salt, f.student), tamper=found_in_metadata + _scan(nb),
                  sandboxed=self.sandboxed, kernel_user=self.user or "", page=_page(self.a, result.flags))
        return job, result

    def collect(self, result: SubmissionResult, original: str, done: Outcome, writer) -> cf.Future:
        """Record a worker's outcome: the gradebook now, the notebook and the feedback page on the writer
        thread (returned)."""
        result.status, result.message = done.status, done.message
        result.scores, result.max_scores = done.scores, done.max_scores
        result.seconds, result.judging, result.peak_mb = done.seconds, done.judging, done.peak_mb
        result.flags += done.flags
        result.feedback = f"feedback/{result.student}.html"
        self.with_people(result)
        apply_late(result, self.options, original)
        self.gradebook.save(result)
        page = done.page if done.page_flags == result.flags else None
        self.results.append(result)
        self.bar.set_postfix_str(f"{result.student}: {result.status}", refresh=False)
        self.bar.update()
        return writer.submit(self.write_graded, result, done.notebook, page)

    def write_graded(self, result: SubmissionResult, notebook_json: str, page: str | None) -> None:
        """Keep the executed notebook and its feedback page (rendered here only when the worker's page is out
        of date, e.g. a late penalty was added), then publish (runs on the writer thread)."""
        import nbformat

        target = self.out / "autograded" / result.student / f"{self.a.notebook}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(notebook_json, encoding="utf-8")
        executed = nbformat.reads(notebook_json, as_version=4)
        if page is None:
            page, note = feedback_page(executed, _page(self.a), result.scores, result.max_scores, result.status,
                                       result.message, result.flags)
            if note:
                result.flags.append(note)
        (self.out / result.feedback).write_text(page, encoding="utf-8")
        self.publish(result, self.journal, executed)

    def notes(self) -> list:
        """What the report says about how the batch was graded."""
        o = self.options
        limits = [f"data segment {o.memory_mb} MB" if o.memory_mb else "", f"files {o.file_mb} MB" if o.file_mb else "",
                  f"CPU time {o.cpu_seconds} s",
                  f"wall time {o.cell_timeout} s a cell and {o.notebook_timeout} s a notebook"]
        if o.processes:
            limits.append(f"{o.processes} processes/threads")
        return ["kernels ran under resource limits (" + ", ".join(x for x in limits if x) + ") with a scrubbed "
                "environment; " + self.isolation,
                "every test was judged in the grader's process: hidden and end-to-end checks on what each kernel "
                "returned for inputs seeded per student, visible tests by running their code again on the values "
                "the student's functions returned; submissions whose source or run showed tampering are flagged."]


def _with_roster(found: list, roster: dict | None) -> list:
    """The submissions found, and a missing one for each student of the roster who handed in nothing."""
    if roster is None:
        return found
    present = {f.student for f in found if not f.ignored} | {f.original for f in found if not f.ignored}
    taken = {f.student for f in found if not f.ignored}
    for name in sorted(set(roster) - present):
        sid = student_id(name, taken)
        taken.add(sid)
        found.append(Found(sid, None, "on the roster, no submission", original=name))
    return found


def grade(assignment, submissions: Path, out: Path, options: GradeOptions | None = None) -> list[SubmissionResult]:
    """Grade every submission in ``submissions``; write the gradebook, grades.csv, feedback and summary to
    ``out``.

    ``assignment`` is an :class:`~autograder.course.Assignment` or its id. Returns one
    :class:`SubmissionResult` per entry of the folder (and per roster student without a submission),
    sorted by student.

    Nothing is written before the options, the results folder, the database and the workers have been
    checked (:mod:`autograder.grading.preflight`).

    Raises
    ------
    ValueError
        For options that cannot work (limits out of range, ``--device cuda`` without a GPU, an unknown
        sandbox), a results folder that is a file or holds another assignment's results.
    RuntimeError
        When the database or the Dask scheduler does not answer, or ``--sandbox bwrap`` cannot run.
    FileNotFoundError
        When ``submissions`` is not a folder.
    """
    from tqdm.auto import tqdm

    from ..outputs import report

    options = options or GradeOptions()
    check_options(options)
    a = assignment if isinstance(assignment, Assignment) else get_assignment(assignment)
    out = Path(out).resolve()
    check_results_folder(out, a.id)
    found = _with_roster(find_submissions(Path(submissions), a.notebook, a.id, options.roster), options.roster)
    if options.device == "cuda" and not options.scheduler and not gpu_ids():
        raise ValueError("--device cuda: this machine has no NVIDIA GPU (nvidia-smi finds none); grade on the "
                         "CPU, or on GPU workers with --scheduler.")
    check_database(options.db_url)
    with executor(options) as pool, cf.ThreadPoolExecutor(max_workers=1) as writer:
        batch = _Batch(a, Path(submissions), out, options, None)      # refuses here what cannot be isolated
        batch.bar = bar = tqdm(total=len(found), desc=f"grading {a.id}", unit="nb", disable=not options.progress)
        warm = [pool.submit(warm_up, batch.plan) for _ in range(options.jobs)]     # workers start meanwhile
        batch.gradebook.register()
        batch.people = batch.gradebook.manual_grades()
        jobs = []
        for f in found:
            prepared = batch.prepare(f)
            if prepared is not None:
                jobs.append((*prepared, f.original))
        cf.wait(warm)
        written = run_jobs(pool, jobs, batch, writer, window=options.jobs)
        for w in written:
            w.result()
    bar.close()
    shutil.rmtree(out / "work", ignore_errors=True)
    results = sorted(batch.results, key=lambda r: r.student)
    refresh_pages(out, results)
    report.write_outputs(a, results, out, notes=batch.notes())
    if batch.reused and options.progress:
        print(f"{batch.reused} submission(s) unchanged since they were graded: results kept from "
              f"{batch.journal.path.name} (--regrade grades everything again).", file=sys.stderr)
    return results
