"""What a grading run leaves behind: grades.csv, the summary (text and JSON), the terminal table."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from .course import Assignment

__all__ = ["write_outputs", "summary_text", "question_scores", "per_question"]


def per_question(scores: dict, max_scores: dict, questions: dict) -> dict:
    """Question id -> (score, points), grade cells grouped by the prefix of their grade_id."""
    out: dict[str, list[float]] = {q: [0.0, 0.0] for q in questions}
    for gid, pts in max_scores.items():
        prefix = gid.split("-", 1)[0]
        q = prefix if prefix in questions else "other"
        out.setdefault(q, [0.0, 0.0])
        out[q][0] += scores.get(gid) or 0.0
        out[q][1] += pts
    return {q: tuple(v) for q, v in out.items() if v[1] > 0}


def question_scores(a: Assignment, result) -> dict:
    """Question id -> (score, points) for one submission."""
    return per_question(result.scores, result.max_scores, a.questions)


def _rows(a: Assignment, results):
    for r in results:
        qs = question_scores(a, r)
        row = {"student": r.student, "status": r.status, "score": f"{r.score:g}", "max_score": f"{r.max_score:g}",
               "percent": f"{100 * r.score / r.max_score:.1f}" if r.max_score else "0.0"}
        for q in a.questions:
            row[q] = f"{qs.get(q, (0.0, 0.0))[0]:g}"
        row.update({"flags": "; ".join(r.flags), "message": r.message, "file": r.source_file,
                    "sha256": r.sha256, "seconds": f"{r.seconds:.1f}", "feedback": r.feedback})
        yield row


def summary_data(a: Assignment, results) -> dict:
    n = len(results)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    scores = [r.score for r in results]
    max_score = max((r.max_score for r in results), default=0.0)
    per_q = {}
    by_student = [question_scores(a, r) for r in results]
    for q, title in a.questions.items():
        got = [scores.get(q, (0.0, 0.0)) for scores in by_student]
        pts = max((g[1] for g in got), default=0.0)
        if not n or not pts:
            continue
        per_q[q] = {"title": title, "points": pts,
                    "pass_rate": sum(1 for g in got if g[1] and g[0] >= g[1] - 1e-9) / n,
                    "mean_share": sum(g[0] for g in got) / (pts * n)}
    per_cell = {}
    for gid in (results[0].max_scores if results else {}):
        per_cell[gid] = sum(1 for r in results if (r.scores.get(gid) or 0) >= r.max_scores.get(gid, 0) - 1e-9
                            and r.max_scores.get(gid, 0) > 0) / n
    flagged = [{"student": r.student, "status": r.status,
                "reason": "; ".join(x for x in [r.message] + r.flags if x)}
               for r in results if r.status != "graded" or r.flags]
    return {"assignment": a.id, "title": a.title, "submissions": n, "statuses": statuses,
            "max_score": max_score,
            "score": {"mean": statistics.fmean(scores) if scores else 0.0,
                      "median": statistics.median(scores) if scores else 0.0,
                      "min": min(scores, default=0.0), "max": max(scores, default=0.0)},
            "questions": per_q, "test_cells": per_cell, "flagged": flagged}


def summary_text(a: Assignment, results) -> str:
    d = summary_data(a, results)
    lines = [f"Grading {a.id} — {a.title}",
             f"{d['submissions']} submission(s): " + ", ".join(f"{v} {k}" for k, v in sorted(d["statuses"].items()))]
    if results:
        s = d["score"]
        lines.append(f"Scores out of {d['max_score']:g}: mean {s['mean']:.1f}, median {s['median']:g}, "
                     f"min {s['min']:g}, max {s['max']:g}")
    lines += ["", "Per question (pass: every test of the question passed; mean: share of its points)"]
    for q, info in d["questions"].items():
        lines.append(f"  {q:4s} {info['title'][:40]:40s} {info['points']:>5g} pts   "
                     f"pass {info['pass_rate']:6.1%}   mean {info['mean_share']:6.1%}")
    lines += ["", "Per test cell (share of submissions passing)"]
    for gid, rate in d["test_cells"].items():
        lines.append(f"  {gid:32s} {rate:6.1%}")
    lines += ["", f"Flagged submissions ({len(d['flagged'])})"]
    for f in d["flagged"] or [{"student": "none", "status": "", "reason": ""}]:
        lines.append(f"  {f['student']:20s} {f['status']:20s} {f['reason']}")
    return "\n".join(lines) + "\n"


def gradebook_table(a: Assignment, results) -> str:
    """One line per student: status, score per question, total."""
    qs = list(a.questions)
    width = max([len("student"), len("(points)")] + [len(r.student) for r in results])
    head = f"{'student':{width}s} {'status':20s} " + " ".join(f"{q:>5s}" for q in qs) + f" {'total':>7s}"
    lines = [head, "-" * len(head)]
    for r in results:
        per = question_scores(a, r)
        cells = " ".join(f"{per.get(q, (0.0, 0.0))[0]:5g}" for q in qs)
        lines.append(f"{r.student:{width}s} {r.status:20s} {cells} {r.score:7g}")
    first = question_scores(a, results[0]) if results else {}
    maxes = " ".join(f"{first.get(q, (0, 0))[1]:5g}" for q in qs)
    lines.append(f"{'(points)':{width}s} {'':20s} {maxes} {(results[0].max_score if results else 0):7g}")
    return "\n".join(lines)


def write_outputs(a: Assignment, results, out: Path) -> None:
    rows = list(_rows(a, results))
    fields = ["student", "status", "score", "max_score", "percent", *a.questions, "flags", "message", "file",
              "sha256", "seconds", "feedback"]
    tmp = out / "grades.csv.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(out / "grades.csv")
    (out / "summary.txt").write_text(summary_text(a, results), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary_data(a, results), indent=2), encoding="utf-8")
