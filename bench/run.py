"""``make bench``: the targets of the assignments and of the grader, measured side by side with
their anchors (OpenCV's StereoSGBM and flow methods, plain notebook execution, nbgrader's own CLI)
in one run.

The course is discovered, never listed: each assignment's own part is ``solutions/<id>/bench.py``
(a ``run(bench, a, args)`` that adds rows with :func:`row`), and every assignment's notebook is
executed and graded here.

Prints one table per part and writes ``bench-results/bench.json`` and ``bench-results/bench.md``.
Timings are medians of repeated runs after a warm-up; CPU time is the process's CPU time
(``time.process_time``), with torch and OpenCV on one thread each so that the two SGM
implementations are compared core for core (OpenCV's SGBM mode runs on one thread anyway).
Flow accuracies are averages of the average endpoint error (AEE) over the pairs of each set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))          # the hostile corpus

ROWS: list[dict] = []


def reference(a):
    """The reference module of an assignment (its solution's functions)."""
    from autograder.integrity.reference import load

    return load(a)


def row(part, metric, ours, anchor, target, ok, unit=""):
    # ``ok`` may be a NumPy bool (a comparison of NumPy numbers): the summary counts ``ok is False``
    ROWS.append({"part": part, "metric": metric, "elvkit": ours, "anchor": anchor, "target": target,
                 "ok": None if ok is None else bool(ok), "unit": unit})


def fmt(v, unit):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if unit == "%":
        return f"{100 * v:.1f} %"
    if unit == "s":
        return f"{v:.3f} s" if v < 10 else f"{v:.1f} s"
    if unit == "x":
        return f"{v:.1f}x"
    return f"{v:.3g}"


def timed(fn, repeats):
    fn()                                          # warm-up: allocator, caches, lazy imports
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return out, statistics.median(cpu), statistics.median(wall)


# ----------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------
def _gpu_name():
    """The CUDA device's name, or None without one."""
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else None


def _execute(nb_path: Path, workdir: Path, env: dict) -> float:
    """Plain execution with nbclient (kernel start included); returns wall seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(workdir)}}).execute()
        return time.perf_counter() - start
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def bench_notebook_and_grading(a, n_mistakes: int, anchor: bool = True) -> None:
    from autograder.course import kernel_files
    from autograder.course.classroom import build_class, mistakes
    from autograder.course.notebooks import read_source, write_notebook
    from autograder.grading import GradeOptions, grade

    nb_name = f"{a.notebook}.ipynb"
    work = Path(tempfile.mkdtemp(prefix="elv-bench-"))
    try:
        (work / "run").mkdir()
        for rel, data in kernel_files(a).items():           # what a graded kernel finds beside the notebook
            (work / "run" / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / "run" / rel).write_bytes(data)
        env = {"ELVKIT_SMOKE": "1", "NBGRADER_EXECUTION": "autograde", "OMP_NUM_THREADS": "2"}

        # the solution notebook end to end, smoke mode
        write_notebook(read_source(a.source), work / "solution.ipynb")
        t_solution = _execute(work / "solution.ipynb", work / "run", env)
        limits = _limits(a)
        row(f"notebook: {a.id}", "solution notebook end to end, smoke mode, kernel start included", t_solution,
            None, f"<= {limits['notebook_s']} s", t_solution <= limits["notebook_s"], "s")
        gpu = _gpu_name()
        if gpu and "gpu_full_s" in limits:       # the full-size notebook, where a GPU makes it a matter of minutes
            t_full = _execute(work / "solution.ipynb", work / "run", {"ELVKIT_SMOKE": "0", "OMP_NUM_THREADS": "2"})
            row(f"notebook: {a.id}", f"solution notebook end to end, full size, on {gpu}", t_full, None,
                f"<= {limits['gpu_full_s']} s", t_full <= limits["gpu_full_s"], "s")

        # a small class graded by `elv grade --jobs 1`
        cls = work / "class"
        build_class(a, cls)
        keep = {"reference", "blank"} | {m.student for m in mistakes(a)[:n_mistakes]}
        for folder in cls.iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder)
        n = len(keep)
        start = time.perf_counter()
        results = grade(a, cls, work / "results", GradeOptions(jobs=1, progress=False))
        t_grade = time.perf_counter() - start
        assert all(r.status == "graded" for r in results), [(r.student, r.status, r.message) for r in results]

        # the same notebooks (tests restored, as graded) executed plainly
        t_exec = {r.student: _execute(work / "results" / "autograded" / r.student / nb_name,
                                      work / "run", env) for r in results}
        t_ref_graded = next(r.seconds for r in results if r.student == "reference")
        part = f"grading: {a.id}"
        row(part, "one submission (reference) graded: kernel and cells in the worker", t_ref_graded,
            t_exec["reference"], f"<= {limits['graded_s']} s", t_ref_graded <= limits["graded_s"], "s")
        per_sub = t_grade / n
        row(part, f"elv grade --jobs 1, {n} submissions: wall per submission", per_sub,
            statistics.fmean(t_exec.values()), f"<= {limits['graded_s']} s", per_sub <= limits["graded_s"], "s")
        # the part of the overhead that judges: hidden inputs made, hidden checks compared with the reference,
        # visible tests re-run on the recorded calls, end-to-end results scored against ground truth
        judging = statistics.fmean(r.judging for r in results)
        row(part, "judging every test in the grader's process, per submission (part of the overhead below)",
            judging, None, "<= 1.5 s", judging <= 1.5, "s")
        overhead = (t_grade - sum(t_exec.values())) / n
        if not anchor:
            row(part, "overhead per submission beyond executing the notebook", overhead, None, "<= 1.5 s",
                overhead <= 1.5, "s")
            return

        # the anchor: nbgrader's own CLI on the same submissions, in a fresh course
        course = work / "nbgrader-course"
        (course / "source" / a.id).mkdir(parents=True)
        write_notebook(read_source(a.source), course / "source" / a.id / nb_name)
        (course / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.root = {str(course)!r}\n"
            "c.ExecutePreprocessor.timeout = 300\n"
            "c.Execute.timeout = 300\n")
        nbgrader = [sys.executable, "-m", "nbgrader"]
        bin_env = dict(os.environ, **env, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        subprocess.run(nbgrader + ["generate_assignment", a.id, "--force"], cwd=course, env=bin_env,
                       check=True, capture_output=True)
        for r in results:
            dest = course / "submitted" / r.student / a.id
            dest.mkdir(parents=True)
            shutil.copy(cls / r.student / nb_name, dest / nb_name)
        start = time.perf_counter()
        for r in results:
            subprocess.run(nbgrader + ["autograde", a.id, "--student", r.student, "--force"], cwd=course,
                           env=bin_env, check=True, capture_output=True)
        t_nbg = time.perf_counter() - start
        overhead_nbg = (t_nbg - sum(t_exec.values())) / n
        row(part, "overhead per submission beyond executing the notebook (anchor: nbgrader "
            "autograde CLI, one process per student)", overhead, overhead_nbg, "<= 1.5 s", overhead <= 1.5, "s")
        row(part, "nbgrader autograde CLI, wall per submission", t_nbg / n, None, "", None, "s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
def _scale_class(a, folder: Path, n: int, hostile: bool, results: Path | None = None) -> dict:
    """``n`` submissions cycling through the reference, the blank release and every mistake (each copy
    made distinct), and with ``hostile`` one in ten taken from the hostile corpus
    (``tests/hostile/``: malformed files, crashes, endless loops, floods, tampering...).
    Returns student -> kind."""
    import json as _json
    import socket

    import nbformat

    from autograder.course.classroom import blank_submission, mistake_submission, mistakes, reference_submission
    from autograder.course.notebooks import write_notebook
    from hostile import Kit, cases

    good = [("reference", reference_submission(a)), ("blank", blank_submission(a))]
    good += [(f"mistake {m.name}", mistake_submission(a, m)) for m in mistakes(a)]
    corpus = list(cases().items()) if hostile else []
    with socket.socket() as s:          # a port nothing listens on: the network case has nowhere to go
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kinds = {}
    for i in range(n):
        student = f"s{i:03d}"
        if corpus and i % 10 == 9:                      # one in ten is hostile or broken
            name, case = corpus[(i // 10) % len(corpus)]
            case.build(Kit(ref=good[0][1], release=good[1][1], folder=folder / student, submissions=folder,
                           results=results or folder, solution=a.source, port=port))
            kind = f"hostile {name}"
        else:
            kind, nb = good[i % len(good)]
            nb = nbformat.from_dict(_json.loads(_json.dumps(nb)))
            nb.cells[0].source += f"\n\n<!-- {student} -->"       # a distinct file per student
            write_notebook(nb, folder / student / f"{a.notebook}.ipynb")
        kinds[student] = kind
    return kinds


def _peak_rss_mb() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


def bench_scale(n_throughput: int, class_size: int, cell_timeout: int) -> None:
    """Throughput with 1 and 2 workers, and a generated class of ``class_size`` (one in ten from the hostile
    corpus), on the hostile corpus's assignment."""
    if not (n_throughput or class_size):
        return
    from autograder.course import get_assignment
    from autograder.grading import GradeOptions, grade
    from hostile import ASSIGNMENT

    a = get_assignment(ASSIGNMENT)
    work = Path(tempfile.mkdtemp(prefix="elv-scale-"))
    try:
        if n_throughput:
            _scale_class(a, work / "t", n_throughput, hostile=False)
            times = {}
            for jobs in (1, 2):
                start = time.perf_counter()
                results = grade(a, work / "t", work / f"t-out-{jobs}", GradeOptions(jobs=jobs, progress=False))
                times[jobs] = time.perf_counter() - start
                assert len(results) == n_throughput
            part = f"grading: scale ({n_throughput} submissions of {a.id})"
            row(part, "elv grade --jobs 1, wall", times[1], None, "", None, "s")
            row(part, "elv grade --jobs 2, wall", times[2], None, "", None, "s")
            row(part, "throughput with 2 workers / 1 worker", times[1] / times[2], 1.0, ">= 1.8x",
                times[1] / times[2] >= 1.8, "x")
        if class_size:
            kinds = _scale_class(a, work / "c", class_size, hostile=True, results=work / "c-out")
            jobs = os.cpu_count() or 1
            start = time.perf_counter()
            results = grade(a, work / "c", work / "c-out",
                            GradeOptions(jobs=jobs, progress=True, cell_timeout=cell_timeout))
            wall = time.perf_counter() - start
            part = f"grading: a class of {class_size} ({a.id}, one in ten from the hostile corpus)"
            statuses = {}
            for r in results:
                statuses[r.status] = statuses.get(r.status, 0) + 1
            row(part, "statuses", ", ".join(f"{v} {k}" for k, v in sorted(statuses.items())), None, "", None)
            row(part, f"wall time, --jobs {jobs} on this machine", wall, None, "", None, "s")
            row(part, "wall time per submission", wall / class_size, None, "", None, "s")
            row(part, "peak memory of one process (grader, worker or kernel)", f"{_peak_rss_mb():.0f} MB", None,
                "", None)
            per_core = wall * jobs / class_size
            row(part, "core-seconds per submission (wall x jobs / submissions)", per_core, None, "", None, "s")
            for workers in (1, 50, 200):
                minutes = 500 * 6 * per_core / workers / 60
                row(part, f"projection: 500 students x 6 assignments on {workers} single-core worker(s)",
                    f"{minutes:.0f} min" if minutes < 600 else f"{minutes / 60:.1f} h", None, "", None)
            assert all(r.student in kinds for r in results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
def bench_lecture(topics, changes: int = 4) -> None:
    """The lecture demos as an instructor meets them: for each demo, the time from a control's change to the new
    picture (the widget's own path: the value set, the picture redrawn; median over ``changes`` changes of every
    control, after its first picture), and each topic's app start with ``elv lecture`` (process start to the
    page served with every demo drawn), with an empty cache and again with the cache the first start filled."""
    import urllib.request

    from autograder import lecture

    cache = Path(tempfile.mkdtemp(prefix="elv-bench-lecture-"))
    os.environ["ELVKIT_LECTURE_CACHE"] = str(cache)
    try:
        for topic in topics:
            part = f"lecture: {topic.name}"
            for demo in lecture.load_demos(topic).DEMOS:
                w0 = time.perf_counter()
                box = demo.widget()                    # setup and the first picture
                first = time.perf_counter() - w0
                times = []
                for name, control in demo.controls.items():
                    values = control.values()
                    at = values.index(control.value)
                    other = values[at + 1] if at + 1 < len(values) else values[at - 1]
                    for k in range(changes):
                        before = box.image.value
                        t0 = time.perf_counter()
                        box.controls[name].value = other if k % 2 == 0 else control.value
                        times.append(time.perf_counter() - t0)
                        if box.image.value == before:
                            print(f"  {demo.title}: {name} -> {box.controls[name].value} left the picture unchanged")
                median = statistics.median(times)
                row(part, f"{demo.title}: control -> picture (median of {len(times)}; slowest {max(times):.2f} s)",
                    median, None, "<= 0.5 s", median <= 0.5, "s")
                row(part, f"{demo.title}: setup and first picture", first, None, "", None, "s")
            app_cache = cache / f"app-{topic.name}"          # the in-process runs above filled `cache`
            for label in ("app start, empty cache", "app start, cache filled"):
                port = lecture.free_port(0)
                w0 = time.perf_counter()
                printed = cache / f"lecture-{port}.log"
                with open(printed, "w") as log:
                    server = subprocess.Popen([sys.executable, "-m", "autograder.cli", "lecture", topic.name,
                                               "--no-browser", "--port", str(port)], stdout=log,
                                              stderr=subprocess.DEVNULL, env=dict(os.environ, ELVKIT_SMOKE="0",
                                                                                   ELVKIT_LECTURE_CACHE=str(app_cache)))
                try:
                    elapsed = None
                    while time.perf_counter() - w0 < 900 and server.poll() is None:
                        address = lecture.printed_url(printed.read_text())       # the page needs the token
                        try:
                            if address is None:
                                raise OSError("no address printed yet")
                            with urllib.request.urlopen(f"{address[0]}?token={address[1]}", timeout=900) as reply:
                                page = reply.read().decode("utf-8", "replace")
                            elapsed = time.perf_counter() - w0
                            break
                        except OSError:
                            time.sleep(0.2)
                    ok = elapsed is not None and "Traceback" not in page
                finally:
                    server.terminate()
                    server.wait(timeout=30)
                row(part, f"{label} (elv lecture {topic.name}, every demo drawn)", elapsed, None,
                    "", None if ok else False, "s")
            print(f"lecture: {topic.name} measured", flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        os.environ.pop("ELVKIT_LECTURE_CACHE", None)


def report(out: Path) -> str:
    lines = [f"# elvkit bench — {time.strftime('%Y-%m-%d %H:%M')}", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}.",
             "Stereo and flow timings: median of repeated runs after a warm-up, torch and OpenCV on one thread "
             "each. Flow AEE: mean over the pairs of a set. "
             "Grading: `elv grade --jobs 1`; the overhead is its wall time minus plain nbclient executions "
             "of the same notebooks (kernel start included), per submission.", ""]
    part = None
    for r in ROWS:
        if r["part"] != part:
            part = r["part"]
            lines += ["", f"## {part}", "", "| metric | elvkit | anchor | target | met |", "|---|---|---|---|---|"]
        met = "" if r["ok"] is None else ("yes" if r["ok"] else "**no**")
        lines.append(f"| {r['metric']} | {fmt(r['elvkit'], r['unit'])} | {fmt(r['anchor'], r['unit'])} | "
                     f"{r['target']} | {met} |")
    text = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.md").write_text(text)
    (out / "bench.json").write_text(json.dumps(ROWS, indent=2, default=float))
    return text


def _bench_module(a):
    """``solutions/<id>/bench.py`` as a module, None when the assignment has no bench of its own."""
    import importlib.util

    path = a.solution_dir / "bench.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"elv_bench_{a.id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _library_bench(a):
    """The ``run`` of ``solutions/<id>/bench.py``, None when the assignment has no bench of its own."""
    module = _bench_module(a)
    return None if module is None else module.run


def _limits(a) -> dict:
    """The notebook's and a graded submission's time limits in seconds: 60 and 30 unless the assignment's
    bench.py sets ``LIMITS = {"notebook_s": ..., "graded_s": ...}`` (a notebook that trains asks for more);
    ``"gpu_full_s"`` there also times the full-size notebook on a GPU, when there is one."""
    module = _bench_module(a)
    return {"notebook_s": 60, "graded_s": 30, **(getattr(module, "LIMITS", None) or {})}


def main() -> int:
    from autograder.course import assignments, get_assignment

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scenes", type=int, default=3)
    parser.add_argument("--mistakes", type=int, default=4, help="mistakes in the graded class")
    parser.add_argument("--flow-pairs", type=int, default=3, help="generated pairs per flow set")
    parser.add_argument("--flow-steps", type=int, default=400, help="steps of the unsupervised optimisation")
    parser.add_argument("--only", help="one assignment (its id or notebook name): its own bench, its lecture demos "
                        "and its grading; 'library': every assignment's own bench; 'grading': only the grading parts; "
                        "'lecture': only the lecture demos")
    parser.add_argument("--skip-grading", action="store_true")
    parser.add_argument("--no-anchor", action="store_true",
                        help="grade without running nbgrader's own CLI beside elv (the overhead's anchor)")
    parser.add_argument("--throughput", type=int, default=40,
                        help="submissions graded with 1 and then 2 workers (0: skip)")
    parser.add_argument("--class-size", type=int, default=0,
                        help="also grade a generated class of this many (e.g. 200), one in ten broken")
    parser.add_argument("--cell-timeout", type=int, default=30, help="cell limit for the large class")
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    args = parser.parse_args()
    anchors = ("Anchors: OpenCV StereoSGBM (block 5, P1 = 8*25, P2 = 32*25, uniqueness 10, speckle filter) "
               "for stereo; OpenCV Farneback (its documented example settings), pyramidal LK (21x21 window, "
               "5 levels, every pixel) and DIS (medium preset) for flow; plain nbclient execution and "
               "nbgrader's CLI for grading.")
    print(anchors, flush=True)
    course = assignments()
    chosen = course if args.only in (None, "library", "grading", "lecture") else [get_assignment(args.only)]
    if args.only not in ("library", "grading"):
        from autograder.lecture import topics

        bench_lecture([t for t in topics() if t.assignment in chosen])
    if args.only == "lecture":
        chosen = []
    if args.only != "grading":
        for a in chosen:
            run = _library_bench(a)
            if run is not None:
                run(sys.modules[__name__], a, args)
    if not args.skip_grading and args.only != "library":
        for a in chosen:      # nbgrader's CLI as the anchor once, on the course's first assignment
            bench_notebook_and_grading(a, args.mistakes, anchor=a is course[0] and not args.no_anchor)
        if args.only in (None, "grading"):
            bench_scale(args.throughput, args.class_size, args.cell_timeout)
    text = report(Path(args.out))
    print(text)
    failed = [r for r in ROWS if r["ok"] is False]
    print(f"{len(failed)} target(s) missed." if failed else "All targets met.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
