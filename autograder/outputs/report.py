"""What a grading run leaves behind: grades.csv, the summary (text, JSON, and an HTML report with a
score histogram), the terminal table."""

from __future__ import annotations

import csv
import json
import re
import statistics
from pathlib import Path

from ..course import Assignment

__all__ = ["write_outputs", "summary_text", "question_scores", "per_question", "histogram_png", "report_html"]


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
    """Question id -> (score, points) for one submission (written answers once a person has graded them)."""
    return per_question(result.final_scores, result.max_scores, a.questions)


def written_cells(a: Assignment) -> dict:
    """grade_id -> points of the assignment's written answers (graded by people)."""
    from ..course.notebooks import manual_cells, read_source

    return dict(manual_cells(read_source(a.source)))


#: how a TA grades the written answers (said wherever some are still waiting)
FORMGRADE_HINT = "grade them with `elv formgrade RESULTS`, then run the same `elv grade` command again"


_IGNORED = "ignored"


def _graded(results) -> list:
    """The submissions (every student's row), without the folder entries that were not submissions."""
    return [r for r in results if r.status != _IGNORED]


#: what a spreadsheet reads as the start of a formula in a cell
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise(value) -> str:
    """A CSV cell that no spreadsheet will run: text starting like a formula gets a leading apostrophe
    (OWASP's advice for CSV injection); numbers are left as they are."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA) and not _NUMBER.match(text):
        return "'" + text
    return text


def _rows(a: Assignment, results):
    written = written_cells(a)
    for r in results:
        if r.status == _IGNORED:
            yield {"student": r.student, "status": r.status, "message": r.message, "file": r.source_file}
            continue
        qs = question_scores(a, r)
        final = r.final_scores
        row = {"student": r.student, "lms_id": r.lms_id, "name": r.name, "email": r.email, "status": r.status,
               "score": f"{r.score:g}", "max_score": f"{r.max_score:g}",
               "percent": f"{100 * r.score / r.max_score:.1f}" if r.max_score else "0.0",
               "raw_score": f"{r.raw_score:g}", "late_penalty": f"{r.penalty:g}", "late_days": str(r.late_days),
               "submitted": r.submitted,
               "autograded": f"{sum(v or 0.0 for g, v in final.items() if g not in written):g}",
               "written_pending": " ".join(r.pending)}
        for q in a.questions:
            row[q] = f"{qs.get(q, (0.0, 0.0))[0]:g}"
        row.update({"flags": "; ".join(r.flags), "message": r.message, "file": r.source_file,
                    "sha256": r.sha256, "seconds": f"{r.seconds:.1f}", "feedback": r.feedback})
        yield row


def summary_data(a: Assignment, results) -> dict:
    """The summary of a batch as data (``summary.json``): statuses, score statistics, per-question pass rates,
    flagged and failed submissions, and the entries that were not submissions."""
    ignored = [{"entry": r.source_file, "reason": r.message} for r in results if r.status == _IGNORED]
    everyone = _graded(results)
    # statistics are over submitted work: a roster student who handed in nothing is counted apart
    absent = [r.student for r in everyone if r.status == "missing" and not r.source_file]
    results = [r for r in everyone if r.student not in absent]
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
    written = written_cells(a)
    for gid in (results[0].max_scores if results else {}):
        if gid in written:
            continue
        per_cell[gid] = sum(1 for r in results if (r.final_scores.get(gid) or 0) >= r.max_scores.get(gid, 0) - 1e-9
                            and r.max_scores.get(gid, 0) > 0) / n
    awaiting = [{"student": r.student, "answers": r.pending} for r in results if r.pending]
    flagged = [{"student": r.student, "status": r.status,
                "reason": "; ".join(x for x in [r.message] + r.flags if x)}
               for r in results if r.status != "graded" or r.flags]
    late = [{"student": r.student, "days": r.late_days, "penalty": r.penalty} for r in results if r.late_days]
    return {"assignment": a.id, "title": a.title, "submissions": n, "statuses": statuses, "absent": absent,
            "late": late,
            "max_score": max_score,
            "score": {"mean": statistics.fmean(scores) if scores else 0.0,
                      "median": statistics.median(scores) if scores else 0.0,
                      "min": min(scores, default=0.0), "max": max(scores, default=0.0)},
            "questions": per_q, "test_cells": per_cell, "flagged": flagged, "ignored": ignored,
            "written_points": sum(written.values()), "awaiting_manual_grading": awaiting}


def summary_text(a: Assignment, results, data: dict | None = None) -> str:
    """The summary a TA reads (``summary.txt`` and the terminal), from ``data`` when it was made already."""
    d = data or summary_data(a, results)
    lines = [f"Grading {a.id} — {a.title}",
             f"{d['submissions']} submission(s): " + ", ".join(f"{v} {k}" for k, v in sorted(d["statuses"].items()))]
    if d["absent"]:
        lines.append(f"On the roster without a submission ({len(d['absent'])}, left out of the statistics): "
                     + ", ".join(d["absent"]))
    if d["submissions"]:
        s = d["score"]
        lines.append(f"Final scores out of {d['max_score']:g} (late penalties taken off): mean {s['mean']:.1f}, "
                     f"median {s['median']:g}, min {s['min']:g}, max {s['max']:g}")
    if d.get("awaiting_manual_grading"):
        waiting = d["awaiting_manual_grading"]
        lines.append(f"Written answers waiting for a TA: {sum(len(w['answers']) for w in waiting)} answer(s) of "
                     f"{len(waiting)} submission(s), not counted in the scores yet ({FORMGRADE_HINT}).")
    if d["late"]:
        lines.append(f"Late ({len(d['late'])}): " + ", ".join(f"{x['student']} {x['days']} day(s), -{x['penalty']:g}"
                                                            for x in d["late"]))
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
    if d.get("ignored"):
        lines += ["", f"Entries of the submissions folder that are not submissions ({len(d['ignored'])})"]
        lines += [f"  {Path(i['entry']).name:30s} {i['reason']}" for i in d["ignored"]]
    return "\n".join(lines) + "\n"


def gradebook_table(a: Assignment, results) -> str:
    """One line per student: status, score per question, and the total (with the tests' raw total and the
    late penalty beside it when there is a late policy at work), so that every line adds up."""
    results = _graded(results)
    qs = list(a.questions)
    late = any(r.penalty or r.late_days for r in results)
    width = max([len("student"), len("(points)")] + [len(r.student) for r in results])
    wide = {q: max(5, len(q)) for q in qs}
    head = f"{'student':{width}s} {'status':20s} " + " ".join(f"{q:>{wide[q]}s}" for q in qs)
    head += f" {'raw':>7s} {'late':>6s} {'final':>7s}" if late else f" {'total':>7s}"
    lines = [head, "-" * len(head)]
    for r in results:
        per = question_scores(a, r)
        cells = " ".join((f"{per.get(q, (0.0, 0.0))[0]:g}" + ("*" if q == "written" and r.pending else ""))
                         .rjust(wide[q]) for q in qs)
        tail = f" {r.raw_score:7g} {-r.penalty:6g} {r.score:7g}" if late else f" {r.score:7g}"
        lines.append(f"{r.student:{width}s} {r.status:20s} {cells}{tail}")
    first = question_scores(a, results[0]) if results else {}
    maxes = " ".join(f"{first.get(q, (0, 0))[1]:g}".rjust(wide[q]) for q in qs)
    top = results[0].max_score if results else 0
    lines.append(f"{'(points)':{width}s} {'':20s} {maxes}" + (f" {top:7g} {'':6s} {top:7g}" if late else f" {top:7g}"))
    if any(r.pending for r in results):
        lines.append(f"* written answers still waiting for a TA, not counted yet: {FORMGRADE_HINT}.")
    return "\n".join(lines)


def write_outputs(a: Assignment, results, out: Path, notes=()) -> None:
    """grades.csv, summary.txt/json, histogram.png and report.html; ``notes`` (how the run was
    isolated, for example) head the summary and the report."""
    rows = list(_rows(a, results))
    fields = ["student", "lms_id", "name", "email", "status", "score", "max_score", "percent", *a.questions, "raw_score",
              "late_penalty", "late_days", "submitted", "autograded", "written_pending", "flags", "message",
              "file", "sha256", "seconds", "feedback"]
    tmp = out / "grades.csv.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows({k: neutralise(v) for k, v in row.items()} for row in rows)
    tmp.replace(out / "grades.csv")
    notes = list(notes)
    data = summary_data(a, results)
    head = "".join(f"Note: {n}\n" for n in notes)
    (out / "summary.txt").write_text(head + summary_text(a, results, data), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps({**data, "notes": notes}, indent=2), encoding="utf-8")
    png = histogram_png(a, results, data)
    (out / "histogram.png").write_bytes(png)
    (out / "report.html").write_text(report_html(a, results, png, notes, data), encoding="utf-8")


def histogram_png(a: Assignment, results, data: dict | None = None) -> bytes:
    """The score histogram and the per-question pass rates, side by side, as PNG bytes."""
    import io

    from matplotlib.figure import Figure      # no pyplot: safe beside other threads, no display
    from matplotlib.ticker import MaxNLocator

    import textwrap

    d = data or summary_data(a, results)
    results = [r for r in _graded(results) if r.student not in d["absent"]]     # submitted work only
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax, bx = fig.subplots(1, 2, width_ratios=(3, 2))
    max_score = d["max_score"] or 1.0
    graded = [r.score for r in results if r.status == "graded"]
    other = [r.score for r in results if r.status != "graded"]
    bins = [max_score * i / 20 for i in range(21)]
    ax.hist([graded, other], bins=bins, stacked=True, color=["#4c8bbf", "#d9822b"],
            label=["ran to the end", "no notebook, malformed, timeout or crash"])
    ax.axvline(d["score"]["mean"], color="k", ls="--", lw=1, label=f"mean {d['score']['mean']:.1f}")
    ax.set_xlabel(f"score (out of {max_score:g})")
    ax.set_ylabel("submissions")
    ax.set_title(f"{a.id}: {len(results)} submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    qs = list(d["questions"])
    rates = [d["questions"][q]["pass_rate"] for q in qs]
    means = [d["questions"][q]["mean_share"] for q in qs]
    ys = range(len(qs))
    bx.barh([y + 0.2 for y in ys], rates, height=0.4, color="#4c8bbf", label="every test passed")
    bx.barh([y - 0.2 for y in ys], means, height=0.4, color="#9dc3e6", label="mean share of points")
    bx.set_yticks(list(ys), [textwrap.fill(f"{q} {d['questions'][q]['title']}", 26) for q in qs], fontsize=8)
    bx.invert_yaxis()
    bx.set_xlim(0, 1)
    bx.set_xlabel("fraction of submissions / of points")
    bx.set_title("per question")
    bx.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def report_html(a: Assignment, results, png: bytes | None = None, notes=(), data: dict | None = None) -> str:
    """A self-contained page: the histogram, per-question pass rates, and every flagged submission."""
    import base64
    import html

    d = data or summary_data(a, results)
    esc = html.escape
    png = png if png is not None else histogram_png(a, results, d)
    s = d["score"]
    rows_q = "".join(f"<tr><td>{esc(q)}</td><td>{esc(i['title'])}</td><td>{i['points']:g}</td>"
                     f"<td>{i['pass_rate']:.1%}</td><td>{i['mean_share']:.1%}</td></tr>"
                     for q, i in d["questions"].items())
    rows_f = "".join(f"<tr><td>{esc(f['student'])}</td><td>{esc(f['status'])}</td><td>{esc(f['reason'])}</td></tr>"
                     for f in d["flagged"]) or "<tr><td colspan=3>none</td></tr>"
    statuses = ", ".join(f"{v} {esc(k)}" for k, v in sorted(d["statuses"].items()))
    rows_i = "".join(f"<tr><td>{esc(Path(i['entry']).name)}</td><td>{esc(i['reason'])}</td></tr>" for i in d["ignored"])
    if rows_i:
        rows_i = (f"<h2>Entries of the submissions folder that are not submissions ({len(d['ignored'])})</h2>"
                  f"<table><tr><th>entry</th><th>why it was not graded</th></tr>{rows_i}</table>")
    late = d["late"]
    late_line = (f"<p>{len(late)} late submission(s): " + ", ".join(
        f"{esc(x['student'])} ({x['days']} day(s) late, -{x['penalty']:g} points)" for x in late) + ".</p>"
                 if late else "")
    if d["absent"]:
        late_line += (f"<p>On the roster without a submission ({len(d['absent'])}, left out of the statistics): "
                      f"{esc(', '.join(d['absent']))}.</p>")
    if d.get("awaiting_manual_grading"):
        waiting = d["awaiting_manual_grading"]
        late_line += (f"<p><b>Written answers waiting for a TA</b>: {sum(len(w['answers']) for w in waiting)} answer(s) "
                      f"of {len(waiting)} submission(s), not counted in the scores yet ({esc(FORMGRADE_HINT)}).</p>")
    late_line += "".join(f"<p><em>Note: {esc(n)}</em></p>" for n in notes)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>{esc(a.id)} grading report</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}</style></head><body>
<h1>{esc(a.title)} — grading report</h1>
<p>{d['submissions']} submission(s): {statuses}. Final scores out of {d['max_score']:g}: mean {s['mean']:.1f},
median {s['median']:g}, min {s['min']:g}, max {s['max']:g}.</p>{late_line}
<img alt="score histogram and per-question pass rates" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Per question</h2>
<table><tr><th>question</th><th>title</th><th>points</th><th>every test passed</th><th>mean share</th></tr>
{rows_q}</table>
<h2>Flagged or failed submissions ({len(d['flagged'])})</h2>
<table><tr><th>student</th><th>status</th><th>reason</th></tr>{rows_f}</table>{rows_i}
</body></html>
"""
