"""Synthetic students: the reference solution, the blank release and the mistakes corpus.

A *mistake* is a file ``solutions/<assignment>/mistakes/<name>.py`` holding a
realistic wrong version of one or more graded functions. Its docstring's first
line names the mistake and a ``Question: qN`` line names the question that must
lose points; a ``Message: ...`` line holds words its question's feedback must
show (the message that names the mistake), and an ``Also loses: qM (why)`` line
a later question that may lose points too (an end-to-end check that runs the
whole pipeline): any other question that loses points is a cascade. The file is a fragment of a notebook cell: it uses the notebook's
imports (``np``, ``torch``, ``elvkit``) and the student's other functions.

A submission is built the way a student makes one: start from the released
notebook and fill each solution cell with the reference's code; for a mistake,
the functions it defines replace the reference's ones in their cells.
"""

from __future__ import annotations

import ast
import copy
import re
import symtable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .assignments import Assignment
from .notebooks import SOLUTION, grade_meta, marked_lines, read_source, write_notebook

__all__ = ["Mistake", "mistakes", "reference_submission", "blank_submission", "mistake_submission",
           "without_demonstrations", "build_class", "corpus_report", "corpus_table"]

@dataclass(frozen=True)
class Mistake:
    """One file of the mistakes corpus: its name, title, question, description and the functions it replaces."""

    name: str
    title: str
    question: str
    description: str
    functions: tuple
    path: Path
    message: str = ""          # words the feedback of its question must show ("" when none is promised)
    also: tuple = ()           # other questions it may lose points in (end-to-end checks), by design

    @property
    def student(self) -> str:
        """Its student name in the demo class (``mistake-<name>``)."""
        return f"mistake-{self.name.replace('_', '-')}"


def mistakes(a: Assignment) -> list[Mistake]:
    """The mistakes corpus of ``a``, sorted by name."""
    found = []
    for path in sorted(a.mistakes_dir.glob("*.py")):
        if path.name.startswith("_"):
            continue
        source = path.read_text()
        tree = ast.parse(source)
        doc = ast.get_docstring(tree) or ""
        lines = doc.splitlines()
        match = re.search(r"^Question:\s*(\S+)\s*$", doc, re.MULTILINE)
        if not lines or not match:
            raise ValueError(f"{path}: the docstring must start with a title and hold a 'Question: qN' line")
        functions = tuple(n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)))
        if not functions:
            raise ValueError(f"{path}: defines no function")
        question = match.group(1)
        if question not in a.questions:
            raise ValueError(f"{path}: question {question!r} is not one of {', '.join(a.questions)}")
        message = re.search(r"^Message:\s*(.+?)\s*$", doc, re.MULTILINE)
        also = tuple(q for line in re.findall(r"^Also loses:(.*)$", doc, re.MULTILINE)
                     for q in re.findall(r"\bq\d+\b", line))
        fields = ("Question:", "Message:", "Also loses:")
        description = " ".join(l.strip() for l in lines[1:] if l.strip() and not l.startswith(fields))
        found.append(Mistake(path.stem, lines[0].rstrip("."), question, description, functions, path,
                             message.group(1) if message else "", also))
    return found


def _feedback_by_question(notebook: Path) -> dict:
    """question -> the text the grader and the tests showed in that question's graded cells (errors, verdicts)."""
    nb = nbformat.read(notebook, as_version=4)
    out: dict = {}
    for cell in nb.cells:
        gid = grade_meta(cell).get("grade_id") or ""
        if "-" not in gid or not grade_meta(cell).get("grade"):
            continue
        texts = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                texts.append(f"{o.get('ename', '')}: {o.get('evalue', '')}")
            elif o.get("output_type") == "stream":
                texts.append(str(o.get("text", "")))
        out.setdefault(gid.split("-", 1)[0], []).append("\n".join(texts))
    return {q: "\n".join(t) for q, t in out.items()}


def corpus_report(a: Assignment, results_dir: Path) -> list[dict]:
    """For each mistake of the corpus graded in ``results_dir`` (an ``elv demo`` class): the points it lost in each
    question against the reference, the questions beyond its own (and its ``Also loses``) that lost points (cascades),
    and whether its question's feedback shows its ``Message``. Mistakes not in the results are left out."""
    import csv

    rows = {r["student"]: r for r in csv.DictReader(open(results_dir / "grades.csv", newline="", encoding="utf-8"))}
    ref = rows.get("reference")
    if ref is None:
        raise ValueError(f"{results_dir}/grades.csv has no row for the reference: grade an `elv demo` class")
    questions = [q for q in a.questions if q in ref and ref[q] not in ("", None)]
    report = []
    for m in mistakes(a):
        row = rows.get(m.student)
        if row is None or row.get("status") != "graded":
            continue
        lost = {q: round(float(ref[q]) - float(row[q] or 0), 6) for q in questions}
        lost = {q: v for q, v in lost.items() if v > 1e-9}
        page = results_dir / "autograded" / m.student / f"{a.notebook}.ipynb"
        feedback = _feedback_by_question(page) if page.is_file() else {}
        own = feedback.get(m.question, "")
        report.append({"mistake": m.name, "question": m.question, "lost": lost,
                       "cascades": sorted(q for q in lost if q != m.question and q not in m.also),
                       "message": m.message, "named": bool(m.message) and m.message.lower() in own.lower(),
                       "said": _first_verdict(own)})
    return report


def _first_verdict(text: str) -> str:
    """The first line of a question's feedback that says what is wrong (for a table)."""
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Hidden tests: passed", "All visible tests passed", "`")) \
                and "recorded; the grader judges" not in line:
            return line[:160]
    return ""


def corpus_table(a: Assignment, results_dir: Path) -> str:
    """:func:`corpus_report` as a text table, with the share of mistakes whose message names them and the count of
    cascades."""
    report = corpus_report(a, results_dir)
    if not report:
        return f"{a.id}: no mistake of the corpus in {results_dir}"
    lines = [f"Mistakes of {a.id}: points lost by question; cascades (a later question losing points too); whether "
             "the feedback names the mistake", ""]
    for r in report:
        lost = ", ".join(f"{q} -{v:g}" for q, v in r["lost"].items()) or "nothing"
        flag = "named" if r["named"] else ("NOT NAMED" if r["message"] else "no message promised")
        cascade = f"; CASCADE into {', '.join(r['cascades'])}" if r["cascades"] else ""
        lines.append(f"  {r['mistake']:38s} {r['question']:4s} lost {lost}{cascade}; {flag}")
    named = sum(r["named"] for r in report)
    cascades = sum(bool(r["cascades"]) for r in report)
    lines += ["", f"{named} of {len(report)} messages name the mistake ({100 * named / len(report):.0f} %); "
                  f"{cascades} mistake(s) cascade into another question."]
    return "\n".join(lines)


def _solution_cells(a: Assignment, code_only: bool = False) -> dict:
    """grade_id -> solution source without the BEGIN/END SOLUTION markers (the code cells' only, or the written
    answers' model answers too)."""
    out = {}
    for cell in read_source(a.source).cells:
        meta = grade_meta(cell)
        if meta.get("solution") and (cell.cell_type == "code" or not code_only):
            text = "\n".join(line for line, _ in marked_lines(cell.source, SOLUTION))
            if cell.cell_type != "code":        # a written answer: the model answer, as a student would write it
                text = text.split("**Rubric.**", 1)[0].replace("**Model answer.**", "", 1).strip()
            out[meta["grade_id"]] = text
    return out


def _replace_functions(source: str, replacement: str) -> tuple[str, set]:
    """Replace the top-level functions and classes of ``source`` that ``replacement`` defines."""
    new = ast.parse(replacement)
    defs = {n.name: n for n in new.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    rep_lines = replacement.splitlines()
    tree = ast.parse(source)
    lines = source.splitlines()
    replaced = set()
    for node in sorted((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in defs),
                       key=lambda n: n.lineno, reverse=True):
        d = defs[node.name]
        start = (d.decorator_list[0].lineno if d.decorator_list else d.lineno) - 1
        body = rep_lines[start: d.end_lineno]
        first = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
        lines[first: node.end_lineno] = body
        replaced.add(node.name)
    return "\n".join(lines), replaced


def _filled(a: Assignment, sources: dict) -> nbformat.NotebookNode:
    """The release with the solution cells named in ``sources`` (grade_id -> code) filled in."""
    if not a.release_notebook.is_file():
        raise FileNotFoundError(f"{a.release_notebook} is missing: run `elv release {a.id}` first")
    nb = nbformat.read(a.release_notebook, as_version=4)
    for cell in nb.cells:
        meta = grade_meta(cell)
        if meta.get("solution") and meta.get("grade_id") in sources:
            cell.source = sources[meta["grade_id"]]
    return nb


def blank_submission(a: Assignment) -> nbformat.NotebookNode:
    """The release as a student downloads it, submitted unchanged."""
    return nbformat.read(a.release_notebook, as_version=4)


def reference_submission(a: Assignment) -> nbformat.NotebookNode:
    """The release with every solution cell filled with the reference's code."""
    return _filled(a, _solution_cells(a))


def mistake_submission(a: Assignment, mistake: Mistake) -> nbformat.NotebookNode:
    """The reference submission with the mistake's functions swapped in."""
    sources = _solution_cells(a)
    replacement = mistake.path.read_text()
    missing = set(mistake.functions)
    code = _solution_cells(a, code_only=True)
    for gid, src in code.items():
        new, replaced = _replace_functions(src, replacement)
        if replaced:
            sources[gid] = new
            missing -= replaced
    if missing:
        raise ValueError(f"{mistake.path}: no solution cell defines {', '.join(sorted(missing))}")
    return _filled(a, sources)


def _names(source: str) -> tuple[set, set]:
    """The names a cell binds at top level and the global names it reads, also inside the functions it defines
    (a cell that does not compile binds nothing and reads every word it holds)."""
    try:
        top = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        return set(), set(re.findall(r"[A-Za-z_]\w*", source))
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    read = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    stack = list(top.get_children())
    while stack:
        table = stack.pop()
        read |= {s.get_name() for s in table.get_symbols() if s.is_referenced() and s.is_global()}
        stack.extend(table.get_children())
    return bound, read


def without_demonstrations(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of the submission without the code cells that only demonstrate: every cell of nbgrader's (solution,
    test, read-only) is kept, and an ungraded code cell only when a kept cell after it reads a name it binds.

    A student may delete such cells; the grader restores only nbgrader's cells. The demo class's mistakes are
    graded this way (``build_class(..., lean=True)``): a mistake lives in a graded function, and the figures and
    tables between the questions only cost time."""
    nb = copy.deepcopy(nb)
    keep = [c.cell_type != "code" or bool(grade_meta(c)) for c in nb.cells]
    needed: set = set()
    for i in range(len(nb.cells) - 1, -1, -1):
        cell = nb.cells[i]
        if cell.cell_type != "code":
            continue
        bound, read = _names(cell.source)
        read -= bound                       # a name a cell binds is taken as bound before it is read
        if not keep[i] and bound & needed:
            keep[i] = True
        if keep[i]:
            needed = (needed - bound) | read
    nb.cells = [c for c, k in zip(nb.cells, keep) if k]
    return nb


def build_class(a: Assignment, folder: Path, lean: bool = False) -> dict:
    """Write a demo class to ``folder``: one sub-folder per student. Returns student -> description.

    With ``lean``, the mistakes' submissions leave out the demonstration cells (:func:`without_demonstrations`);
    the reference and the blank release are always whole."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    roster = {"reference": "the reference solution", "blank": "the release, unchanged"}
    write_notebook(reference_submission(a), folder / "reference" / f"{a.notebook}.ipynb")
    write_notebook(copy.deepcopy(blank_submission(a)), folder / "blank" / f"{a.notebook}.ipynb")
    for m in mistakes(a):
        nb = mistake_submission(a, m)
        write_notebook(without_demonstrations(nb) if lean else nb, folder / m.student / f"{a.notebook}.ipynb")
        roster[m.student] = f"{m.title} ({m.question})"
    return roster
