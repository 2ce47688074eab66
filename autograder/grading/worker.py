"""The worker: one sanitised submission executed and judged, in a process that never runs student code
itself (the student's code runs in the kernel it starts).

:func:`work` takes a :class:`~autograder.grading.types.Job` and returns an
:class:`~autograder.grading.types.Outcome`: the hidden inputs are made for the student's seed, the
notebook runs under a :class:`~autograder.integrity.judge.CellWatch`, every test cell is judged here
(:func:`autograder.integrity.judge.score`), and the feedback page is rendered here too, so that pages
are made in parallel and not by the batch's single writer.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from ..course.notebooks import error_output, grade_id, stream_output
from ..integrity.judge import TAMPERING, CellJudge, CellWatch, score
from .execute import execute, mark_not_run
from .types import STATUS_GRADED, Job, Outcome, Page

__all__ = ["work", "warm_up", "worker_init", "feedback_page", "MAX_OUTPUT_BYTES"]

#: the largest single output kept in the graded notebook and the feedback page
MAX_OUTPUT_BYTES = 5 * 2**20


def _hidden_errors(nb, watch) -> list:
    """Cells whose error the kernel reported but whose traceback was suppressed (the outputs show none)."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or watch.replies.get(index) != "error":
            continue
        if not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            where = grade_id(cell) or f"cell {index + 1}"
            cell.outputs.append(error_output("HiddenError", "this cell raised an error whose traceback was suppressed"))
            found.append(f"{where}: an error was raised but its traceback was suppressed")
    return found


def _scripted(nb) -> list:
    """A finding when the notebook holds markup that would act in a browser (removed from every page it is shown
    in: see :mod:`autograder.outputs.safe`)."""
    from ..outputs.safe import scripted_cells

    cells = scripted_cells(nb)
    return [f"markup that would run in the browser of whoever opens the notebook (never shown active): "
            f"{'; '.join(cells[:6])}" + (f" and {len(cells) - 6} more cell(s)" if len(cells) > 6 else "")] if cells \
        else []


def _limit_output_size(nb) -> list:
    """Drop outputs larger than MAX_OUTPUT_BYTES (a 100 MB image would make the feedback unusable)."""
    dropped = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for j, output in enumerate(cell.outputs):
            size = len(json.dumps(output))
            if size > MAX_OUTPUT_BYTES:
                cell.outputs[j] = stream_output(f"[an output of {size / 2**20:.0f} MB was removed: outputs are kept "
                                                f"up to {MAX_OUTPUT_BYTES / 2**20:.0f} MB each]\n")
                dropped.append(grade_id(cell) or f"cell {i + 1}")
    return [f"outputs over {MAX_OUTPUT_BYTES // 2**20} MB removed: {', '.join(dict.fromkeys(dropped))}"] \
        if dropped else []


def _workdir(job: Job) -> Path:
    """The kernel's folder, with the job's files in it (every path the kernel gets is absolute)."""
    if job.workdir:
        workdir = Path(job.workdir).resolve()
    else:                                   # a cluster worker: its own scratch space
        import tempfile

        workdir = Path(tempfile.mkdtemp(prefix="elv-grade-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for name, data in job.files.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_bytes(data)
    return workdir


def _hidden_inputs(a, job: Job, folder: Path) -> tuple[dict, dict]:
    """The hidden inputs of every function the assignment ``a`` checks, made for the job's seed and written
    where the kernel reads them: ``(name -> cases, name -> why they could not be made)``."""
    from ..integrity.specs import make_cases, specs, write_inputs

    names = sorted({n for ns in job.plan.hidden.values() for n in ns})
    cases, problems = {}, {}
    for name in names:
        try:
            cases[name] = make_cases(a, name, job.seed)
            write_inputs(folder, name, cases[name], isolate=specs(a)[name].isolate)
        except Exception as exc:  # a spec that fails is the grader's problem: reported, never a crash
            cases.pop(name, None)
            problems[name] = f"{type(exc).__name__}: {exc}"
    return cases, problems


def work(job: Job) -> Outcome:
    """Execute one sanitised notebook and judge every graded cell; the worker's entry point.

    Raises only for the grader's own failures (the batch reports them as infrastructure errors);
    whatever the student's code does ends as a status and scores.
    """
    import nbformat
    from nbgrader.preprocessors import LimitOutput

    from ..course import get_assignment

    for key, value in job.env.items():
        os.environ[key] = value
    _reset_peak()
    workdir = _workdir(job)
    folder = workdir / ".elv"              # the hidden inputs in, the recorded results out
    p = job.plan
    a = get_assignment(p.assignment) if p.assignment else None     # the id crossed the process boundary
    started = time.perf_counter()
    cases, problems = _hidden_inputs(a, job, folder) if a is not None else ({}, {})
    nb = nbformat.reads(job.notebook, as_version=4)
    watch = CellWatch(folder, p)
    watch.attach(CellJudge(a, p, cases, problems))     # each cell judged as it ends, its records dropped then
    watch.cells_file(nb, p)
    os.environ["ELVKIT_HIDDEN_DIR"] = str(folder)
    start = time.perf_counter()
    judging = start - started
    status, message = execute(nb, workdir, job.cell_timeout, job.notebook_timeout, job.retries,
                              job.sandboxed or bool(job.kernel_user), watch)
    seconds = time.perf_counter() - start - watch.judging          # the kernel's time, without the judging
    judging += watch.judging
    if status != STATUS_GRADED:
        mark_not_run(nb, message)
    nb, _ = LimitOutput().preprocess(nb, {})            # nbgrader's cap on printed lines
    flags = _limit_output_size(nb)
    started = time.perf_counter()
    verdicts = score(nb, p, watch, cases, problems, a)
    judging += time.perf_counter() - started
    scores = {gid: verdicts.scores.get(gid, 0.0) for gid in p.points}      # a cell that is gone scores 0
    max_scores = dict(p.points)
    findings = list(dict.fromkeys(list(job.tamper) + watch.findings + verdicts.findings + _hidden_errors(nb, watch)
                                  + _scripted(nb)))
    slow = [grade_id(c) or f"cell {i}" for i, c in enumerate(nb.cells)
            if any(o.get("ename") == "CellTimeoutError" for o in c.get("outputs", []))]
    if slow:
        flags.append(f"cells stopped after {job.cell_timeout} s: {', '.join(slow)}")
    if findings:
        flags.append(f"{TAMPERING} (for review; every score was decided by the grader, not in the kernel): "
                     + "; ".join(findings))
    os.environ.pop("ELVKIT_HIDDEN_DIR", None)
    shutil.rmtree(workdir, ignore_errors=True)
    outcome = Outcome(status=status, message=message, scores=scores, max_scores=max_scores,
                      notebook=nbformat.writes(nb), seconds=seconds, judging=judging, flags=flags,
                      peak_mb=_peak_mb())
    if job.page is not None:    # the feedback page is rendered here, in parallel, not by the grader's one writer
        outcome.page_flags = job.page.flags + flags
        outcome.page, note = feedback_page(nb, job.page, scores, max_scores, status, message, outcome.page_flags,
                                           copy=False)
        if note:
            flags.append(note)
            outcome.page_flags.append(note)
    return outcome


def _reset_peak() -> None:
    """Start this process's peak-memory mark afresh (Linux: the kernel's VmHWM), so that each job's peak is its own."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _peak_mb() -> float | None:
    """This process's peak resident memory since :func:`_reset_peak`, in MB (None off Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def worker_init(gpus=None) -> None:
    """Workers die with the grader: a killed grader leaves no worker (and so no kernel) behind.

    With ``gpus`` (a queue of device indices), each worker takes one GPU for itself and its kernels.
    """
    if gpus is not None:
        try:
            os.environ["CUDA_VISIBLE_DEVICES"] = str(gpus.get(timeout=5))
        except Exception:      # more workers than GPUs: this one shares
            pass
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
        except OSError:
            pass


def warm_up(p=None) -> None:
    """Load what a worker needs while the gradebook is being prepared: the executor and the feedback page's
    exporter, and for the plan ``p`` the replay's imports, the reference and the hidden-input generators (each
    made once, so that no submission pays for them). Never raises for a failing spec."""
    import nbclient  # noqa: F401
    import nbformat  # noqa: F401
    from nbgrader.preprocessors import Execute  # noqa: F401

    from ..outputs.feedback import exporter

    exporter()
    if p is None:
        return
    from ..course import get_assignment
    from ..integrity import reference
    from ..integrity.replay import Replayer
    from ..integrity.specs import make_cases

    a = get_assignment(p.assignment)
    if p.visible:
        Replayer.for_imports(p.imports)
    reference.load(a)
    for name in sorted({n for names in p.hidden.values() for n in names}):
        try:
            make_cases(a, name, 0)       # loads textures, imports torch: once per worker
        except Exception:  # a failing spec is reported with the submission that needs it
            pass


def feedback_page(executed, page: Page, scores: dict, max_scores: dict, status: str, message: str,
                  flags: list, copy: bool = True) -> tuple[str, str | None]:
    """The feedback page (HTML) of the executed notebook and, when nbconvert could not render it, the flag
    that says so (the page is then reduced to the scores). ``copy=False``: ``executed`` may be changed, its
    caller is done with it."""
    from ..outputs.feedback import render_feedback

    try:
        return render_feedback(executed, notebook=page.notebook, scores=scores, max_scores=max_scores,
                               status=status, message=message, flags=flags, questions=page.questions,
                               title=page.title, copy_notebook=copy), None
    except Exception as exc:  # an output nbconvert cannot render must not cost the batch
        import html

        total = sum(v for v in scores.values() if v is not None)
        rows = "".join(f"<tr><td>{html.escape(g)}</td><td>{scores.get(g)} / {p:g}</td></tr>"
                       for g, p in max_scores.items())
        return (f"<html><body><h1>{html.escape(page.title)}</h1><p>Score {total:g} / "
                f"{sum(max_scores.values()):g}, status {html.escape(status)}</p><table>{rows}</table></body></html>",
                f"feedback page reduced to the scores: {type(exc).__name__}: {exc}")
