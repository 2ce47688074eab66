"""End-to-end checks against the corpus, seed by seed: does every mistake that should pass an end-to-end check pass
it, and every one that should fail fail it, on every secret seed?

    python bench/e2e_margins.py 05_slot_attention --seeds 10

An end-to-end check runs the student's whole pipeline on data drawn from the student's secret seed and judges the
result against a threshold. A threshold at the edge of some mistake's result makes that mistake's score depend on
the seed. For each of the reference and the corpus's mistakes, this runs each end-to-end hidden cell of the
assignment on seeds 1..N (the hidden cell as the kernel runs it, judged in this process as the grader judges it)
and prints how many seeds passed. A mistake is expected to fail the check when its file says ``Also loses:`` the
check's question, to pass it otherwise; a mistake of the check's own question may do either, but the same on
every seed; the reference passes. ``--json FILE`` writes the table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _run(a, cell, mistake, seed: int, folder: Path) -> bool:
    """One end-to-end hidden cell on one seed, with the reference or a mistake in place: passed?"""
    from autograder.course.notebooks import grade_id
    from autograder.integrity import reference
    from autograder.integrity.specs import checked_names, judge, make_cases, specs, write_inputs
    from autograder.kernel_side.records import HIDDEN_DIR_VARIABLE, read_record

    ns = vars(reference.fresh(a))
    if mistake is not None:
        exec(compile(mistake.path.read_text(), str(mistake.path), "exec"), ns)
    os.environ[HIDDEN_DIR_VARIABLE] = str(folder)
    names = checked_names(cell.source, a.id)
    for name in names:
        write_inputs(folder, name, make_cases(a, name, seed), isolate=specs(a)[name].isolate)
    exec(compile(cell.source, grade_id(cell), "exec"), ns)
    verdicts = [judge(a, name, make_cases(a, name, seed), *read_record(folder / "out" / name)) for name in names]
    return all(v is None or getattr(v, "passed", False) for v in verdicts)


def margins(assignment_id: str, seeds: int) -> list[dict]:
    from tqdm.auto import tqdm

    from autograder.course import get_assignment
    from autograder.course.classroom import mistakes
    from autograder.course.notebooks import grade_id, read_source
    from autograder.integrity.specs import checked_names

    a = get_assignment(assignment_id)
    cells = [c for c in read_source(a.source).cells
             if any(n.startswith("e2e_") for n in checked_names(c.source, a.id))]
    if not cells:
        raise SystemExit(f"{a.id} has no end-to-end checks")
    subjects = [("reference", None)] + [(m.name, m) for m in mistakes(a)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, tqdm(total=len(cells) * len(subjects) * seeds, desc=a.id) as bar:
        for cell in cells:
            question = grade_id(cell).split("-", 1)[0]
            for name, m in subjects:
                passed = 0
                for seed in range(1, seeds + 1):
                    folder = Path(tmp) / f"{name}-{seed}"
                    folder.mkdir()
                    passed += _run(a, cell, m, seed, folder)
                    bar.update()
                if m is not None and m.question == question:     # its own question: either verdict, on every seed
                    expect, steady = "the same on every seed", passed in (0, seeds)
                else:
                    expect = "fail" if m is not None and question in m.also else "pass"
                    steady = passed == (seeds if expect == "pass" else 0)
                rows.append({"check": grade_id(cell), "subject": name, "passed": passed, "seeds": seeds,
                             "expected": expect, "steady": steady})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("assignment")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    rows = margins(args.assignment, args.seeds)
    for r in rows:
        flag = "" if r["steady"] else "   <- depends on the seed" if 0 < r["passed"] < r["seeds"] else \
            f"   <- expected to {r['expected']}"
        print(f"{r['check']:22s} {r['subject']:38s} passed {r['passed']:2d} of {r['seeds']} "
              f"(expected: {r['expected']}){flag}")
    unsteady = sum(not r["steady"] for r in rows)
    print(f"\n{unsteady} of {len(rows)} subjects do not get the expected verdict on every seed.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
