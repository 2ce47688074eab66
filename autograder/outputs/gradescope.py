"""Gradescope's autograder format: ``results.json`` per submission, and a package to run there.

``results_json`` turns one graded submission into Gradescope's results
specification: the total score, one entry per test cell with its score, its
points, its output (the teaching message of a failure, never a hidden test's
source) and its visibility (visible tests at once, hidden tests after the
grades are published).

``build_package`` writes the zip a course uploads as a Gradescope
"programming assignment" autograder: ``setup.sh`` installs Python >= 3.11, the
CPU build of PyTorch and this toolkit, creates the account the students' kernels
run as (:data:`KERNEL_USER`) and makes the course's files unreadable to it;
``run_autograder`` grades ``/autograder/submission`` with ``elv grade`` (in
bubblewrap where the container allows it, else as that account, which the grader
first checks cannot read the reference) and copies the student's
``results.json`` to ``/autograder/results/``. The zip holds only what grading
its one assignment needs (:func:`package_files`).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from elvkit.validate import cell_messages

from ..course import Assignment, root
from ..course.notebooks import grade_id, grade_meta, has_hidden_tests, read_source

__all__ = ["results_json", "cell_messages", "build_package", "package_files"]


def results_json(a: Assignment, result, messages: dict | None = None) -> dict:
    """Gradescope's results.json (as a dict) for one graded submission ``result`` of ``a``; ``messages``:
    grade_id -> the failure message to show (see :func:`cell_messages`)."""
    hidden = {grade_id(c) for c in read_source(a.source).cells
              if grade_meta(c).get("grade") and has_hidden_tests(c.source)}
    messages = messages or {}
    tests = []
    within: dict = {}           # question -> how many of its tests came so far: numbers 1.1, 1.2, ..., 2.1
    from .report import written_cells

    final, people, written = result.final_scores, result.manual, written_cells(a)
    for gid, points in result.max_scores.items():
        score = final.get(gid) or 0.0
        q = gid.split("-", 1)[0]
        within[q] = within.get(q, 0) + 1
        number = f"{q[1:] if q[:1] == 'q' and q[1:].isdigit() else q}.{within[q]}"
        test = {"name": f"{q} {a.questions.get(q, '')}: {gid}".strip(), "number": number, "score": score,
                "max_score": points, "visibility": "after_published" if gid in hidden else "visible"}
        if final.get(gid, 0.0) is None:            # a written answer no one has graded yet: no status, no points
            test["output"] = "Graded by a TA; not graded yet, so not counted in the score."
        else:
            passed = score >= points - 1e-9
            output = "" if passed else messages.get(gid, "no points: the cell did not run to the end"
                                                    if result.status == "graded" else result.message)
            if gid in written and gid not in people and not passed:
                output = "No answer was written."
            if gid in people:
                given, comment = people[gid]
                output = (f"Graded by a TA: {score:g} / {points:g}." if given is not None else "") + \
                    (f" Comment: {comment}" if comment else "")
            test.update(status="passed" if passed else "failed", output=output.strip())
        tests.append(test)
    lines = [f"{a.title}: {result.raw_score:g} / {result.max_score:g} points, status {result.status}."]
    if result.pending:
        lines.append(f"{len(result.pending)} written answer(s) still to be graded by a TA: their points are not in "
                     "this score yet.")
    if result.message:
        lines.append(result.message)
    lines += [f"Note: {f}" for f in result.flags if f != result.message]
    if result.penalty:
        lines.append(f"Late penalty: -{result.penalty:g} points; final score {result.score:g}.")
    return {"score": result.score, "execution_time": round(result.seconds, 1), "output": "\n".join(lines),
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def write_results(a: Assignment, result, out: Path, nb=None) -> Path:
    """Write ``out/gradescope/<student>/results.json``; returns its path."""
    target = Path(out) / "gradescope" / result.student / "results.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results_json(a, result, cell_messages(nb) if nb is not None else {}), indent=2),
                      encoding="utf-8")
    return target


#: the account kernels run as where bubblewrap cannot (Gradescope's containers)
KERNEL_USER = "elv-kernel"

_SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (its Ubuntu 22.04 and 24.04 base
# images). It installs Python >= 3.11, the CPU build of PyTorch and the toolkit, and makes the course's files
# unreadable to the account the students' kernels run as.
set -euo pipefail
AG="${{AUTOGRADER_ROOT:-/autograder}}"
cd "$AG"                       # pip needs a working folder that exists, whatever folder this was started from
export DEBIAN_FRONTEND=noninteractive
if [ -z "${{ELV_SKIP_APT:-}}" ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends bubblewrap ca-certificates > /dev/null
fi
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" > /dev/null && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2> /dev/null; then
        PY="$candidate"
        break
    fi
done
if [ -z "$PY" ]; then          # Ubuntu 22.04 ships Python 3.10; its universe has 3.11
    apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv > /dev/null
    PY=python3.11
fi
"$PY" -m venv "$AG/venv"
"$AG/venv/bin/python" -m pip install -q --upgrade pip
# the pinned PyTorch as its CPU build: PyTorch's CPU index (TORCH_INDEX_URL="" takes the default index)
TORCH_PIN="$(grep -E '^torch==' "$AG/source/constraints.txt")"
INDEX="${{TORCH_INDEX_URL-https://download.pytorch.org/whl/cpu}}"
if [ -n "$INDEX" ]; then
    "$AG/venv/bin/python" -m pip install -q --index-url "$INDEX" "$TORCH_PIN"
else
    "$AG/venv/bin/python" -m pip install -q "$TORCH_PIN"
fi
"$AG/venv/bin/python" -m pip install -q -c "$AG/source/constraints.txt" "$AG/source[grader]"
# the students' kernels: an account without a login that cannot read the course (the reference, the specs)
id -u {user} > /dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin {user}
chmod -R go-rwx "$AG/source"
chmod a+rx "$AG"
chmod -R a+rX "$AG/venv"
"""

_RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade it with elv and hand back results.json.
set -uo pipefail
AG="${{AUTOGRADER_ROOT:-/autograder}}"
ELV="${{ELV:-$AG/venv/bin/elv}}"
export ELVKIT_COURSE_ROOT="$AG/source"
rm -rf "$AG/grading"
mkdir -p "$AG/results" "$AG/grading/submissions/student"
chmod 700 "$AG/grading"
cp -r "$AG/submission/." "$AG/grading/submissions/student/"
"$ELV" grade {assignment} "$AG/grading/submissions" --out "$AG/grading/results" --jobs 1 --no-progress --gradescope \\
    --timeout {timeout} --cell-timeout {cell_timeout} --sandbox "${{ELV_SANDBOX:-auto}}" --kernel-user {user}
if [ -f "$AG/grading/results/gradescope/student/results.json" ]; then
    cp "$AG/grading/results/gradescope/student/results.json" "$AG/results/results.json"
else
    echo '{{"score": 0, "output": "The autograder could not grade this submission; please tell the course staff."}}' \\
        > "$AG/results/results.json"
fi
"""

_TOOLKIT = ("elvkit", "autograder", "data/registry.toml", "pyproject.toml", "constraints.txt", "README.md")


def package_files(a: Assignment) -> list[Path]:
    """What grading ``a`` needs, and nothing else: the toolkit, ``a``'s script, spec and student files, and its
    release (no other assignment, no mistakes corpus, no bench, no tests); paths relative to the course."""
    base = root()
    chosen = [base / name for name in _TOOLKIT] + [a.source, a.solution_dir / "spec.py", a.student_files_dir,
                                                   a.release_dir]
    files = []
    for path in chosen:
        for f in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            rel = f.relative_to(base)
            if not any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
                files.append(rel)
    return files


def build_package(a: Assignment, target: Path, *, timeout: int = 600, cell_timeout: int = 120) -> Path:
    """Write Gradescope's autograder zip for ``a`` to ``target``; returns it.

    The zip holds ``setup.sh``, ``run_autograder`` and, under ``source/``, the toolkit and the
    course's solution scripts (Gradescope keeps the autograder out of the students' reach).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    base = root()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        def add(text: str, name: str):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            zf.writestr(info, text)

        add(_SETUP.format(user=KERNEL_USER), "setup.sh")
        add(_RUN.format(assignment=a.id, timeout=timeout, cell_timeout=cell_timeout, user=KERNEL_USER),
            "run_autograder")
        for rel in package_files(a):
            zf.write(base / rel, f"source/{rel.as_posix()}")
    return target
