"""Per-student feedback pages: nbgrader's feedback template, hidden tests left out.

The page shows every cell with its score. Hidden test cells keep their
visible part and their outcome -- pass, or the failure's message, which is
written to teach -- but neither their source nor a traceback line from them.
A summary cell on top gives the status, the score per question and any flags.
"""

from __future__ import annotations

import copy
import functools
import html
import os
import re
import uuid

from ..course.notebooks import grade_meta, has_hidden_tests, without_hidden_region
from .safe import with_csp

#: how the pages render markdown: nbconvert's renderer, then the allowlist sanitiser (an import path, so that
#: formgrader's configuration can name it too)
MARKDOWN_FILTER = "autograder.outputs.safe.markdown2html"

__all__ = ["refresh_pages", "render_feedback", "make_inert", "strip_hidden_tests", "exporter", "refresh_page", "score_html", "notes_html"]

_SCORE = re.compile(r'<p class="elv-score">.*?</p>', re.S)
_NOTES = re.compile(r'<div class="elv-notes">.*?</div>', re.S)
_HEADLINE = re.compile(r'(<h4>[^<]*\(Score: )[0-9.]+ / [0-9.]+(\)</h4>)')
_TOC_LINK = re.compile(r'<a href="#([A-Za-z0-9_.-]+)">Test cell</a>')


def score_html(total: float, possible: float, status: str, notebook: str, raw: float | None = None,
               penalty: float = 0.0, late_days: int = 0, pending: int = 0) -> str:
    """The page's score line: the final score, and when a late penalty was taken, the tests' score beside it;
    ``pending``: written answers not graded yet (their points are not in the score)."""
    line = f"Score: <b>{total:g} / {possible:g}</b>"
    if penalty:
        line += (f" (the tests gave {raw:g}; late penalty -{penalty:g} for {late_days} day(s) late)")
    if pending:
        line += f" — {pending} written answer(s) still to be graded by a TA, not counted yet"
    return f'<p class="elv-score">{line} · notebook <code>{html.escape(notebook)}.ipynb</code> · ' \
           f'status: <b>{html.escape(status)}</b></p>'


def notes_html(flags) -> str:
    """The grader's notes on a submission (flags), as the page lists them."""
    items = "".join(f"<li>{html.escape(f)}</li>" for f in flags)
    return '<div class="elv-notes">' + (f"<p>Notes from the grader:</p><ul>{items}</ul>" if items else "") + \
        "</div>"


def people_notes(result) -> list:
    """What the page says about the written answers: each score and comment a TA gave, and those still waiting."""
    notes = []
    for gid, (score, comment) in result.manual.items():
        points = result.max_scores.get(gid, 0)
        given = f"{score:g} / {points:g} from a TA" if score is not None else "a TA's comment"
        notes.append(f"{gid}: {given}" + (f" — {comment}" if comment else ""))
    if result.pending:
        notes.append("written answers not graded yet (their points are not in the score): " + ", ".join(result.pending))
    return notes


def refresh_page(page: str, result) -> str:
    """A feedback page with its score line and notes made from the final ``result`` (late penalty, the
    policies' flags of this run and what TAs gave in the gradebook included): every output shows the same
    numbers."""
    page = _SCORE.sub(lambda _: score_html(result.score, result.max_score, result.status, _notebook(page),
                                           result.raw_score, result.penalty, result.late_days, len(result.pending)),
                      page, count=1)
    page = _HEADLINE.sub(lambda m: f"{m.group(1)}{result.score:g} / {result.max_score:g}{m.group(2)}", page, count=1)
    return _NOTES.sub(lambda _: notes_html(list(result.flags) + people_notes(result)), page, count=1)


def _notebook(page: str) -> str:
    m = re.search(r'<p class="elv-score">.*?<code>(.*?)\.ipynb</code>', page, re.S)
    return html.unescape(m.group(1)) if m else "notebook"


def strip_hidden_tests(nb) -> None:
    """Remove hidden test regions and the tracebacks of their failures, in place."""
    from nbformat import NotebookNode

    for cell in nb.cells:
        if not has_hidden_tests(cell.source):
            continue
        cell.source = without_hidden_region(cell.source).rstrip() or "# (hidden tests)"
        outputs = []
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                text = f"{out.ename}: {out.evalue}"
                outputs.append(NotebookNode(output_type="error", ename=out.ename, evalue=out.evalue,
                                            traceback=[text]))
            else:
                outputs.append(out)
        cell.outputs = outputs


def _summary_html(title, notebook, status, message, scores, max_scores, questions, flags) -> str:
    total = sum(s for s in scores.values() if s is not None)
    possible = sum(max_scores.values())
    lines = [f"<h1>Feedback — {html.escape(title)}</h1>", score_html(total, possible, status, notebook)]
    if message:
        lines += [f"<blockquote>{html.escape(message)}</blockquote>"]
    lines += [notes_html(flags)]
    from .report import per_question

    per_q = per_question(scores, max_scores, questions)
    cell = 'style="border:1px solid #ccc;padding:4px 12px;text-align:left"'
    rows = "".join(f"<tr><td {cell}>{q}: {html.escape(str(questions.get(q, q)))}</td>"
                   f"<td {cell}>{got:g} / {pts:g}</td></tr>" for q, (got, pts) in per_q.items())
    lines += [f'<table style="border-collapse:collapse"><tr><th {cell}>question</th><th {cell}>score</th></tr>'
              f"{rows}</table>"]
    lines += ["<p>Each test cell below shows its score. Hidden tests compare your functions with the "
              "reference on new inputs: their code is not shown, only whether they passed and, if not, why.</p>"]
    return '<div class="elv-summary">' + "\n".join(lines) + "</div>"


_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)", re.I)
_FOCUSABLE = re.compile(r'(<div\b[^>]*\bclass="[^"]*\b(?:jp-Cell-inputWrapper|jp-OutputArea-output)\b[^"]*")(?![^>]*\btabindex=)')


def _exporter_class():
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class FeedbackExporter(HTMLExporter):
        """nbconvert's HTML exporter without its last pass through BeautifulSoup's pure-Python parser (about 2 s
        for a feedback page with figures, which the parser reads character by character) that only adds alt
        text to images and makes cells focusable: the same two changes are made here on the rendered text."""

        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code",
                                 self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata,
                                                                           parent=self, resources=resources))
            body, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            body = _IMG_WITHOUT_ALT.sub('<img alt="a figure of the notebook"', body)
            return _FOCUSABLE.sub(r'\1 tabindex="0"', body), resources

    return FeedbackExporter


@functools.lru_cache(maxsize=None)
def exporter():
    """nbconvert's HTML exporter with nbgrader's feedback template, made once per process (its templates are
    compiled on first use)."""
    import nbgrader
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from traitlets.config import Config

    base = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.filters = {"markdown2html": MARKDOWN_FILTER}     # every markdown cell sanitised
    config.HTMLExporter.extra_template_basedirs = [os.path.join(base, "templates")]
    config.HTMLExporter.extra_template_paths = [os.path.join(base, "static", "node_modules", "bootstrap",
                                                             "dist", "css")]
    html_exporter = _exporter_class()(config=config)
    html_exporter.register_preprocessor(CSSHTMLHeaderPreprocessor(), enabled=True)
    return html_exporter


def make_inert(nb, keep=("nbgrader",)) -> None:
    """Make a graded notebook safe to show in a browser (a feedback page, the TAs' copy in formgrader), in place:
    see :mod:`autograder.outputs.safe` (an allowlist of what is shown; every markdown cell is also sanitised when
    the page renders it). ``keep``: cell metadata kept besides tags."""
    from .safe import safe_notebook

    safe_notebook(nb, keep=keep)


def render_feedback(nb, *, notebook: str, scores: dict, max_scores: dict, status: str = "graded",
                    message: str = "", flags=(), questions=None, title: str = "", copy_notebook: bool = True) -> str:
    """The feedback page of one executed notebook, as HTML (``copy_notebook=False``: ``nb`` is changed in place,
    for a caller that is done with it)."""
    import nbformat

    if copy_notebook:
        nb = copy.deepcopy(nb)
    strip_hidden_tests(nb)
    make_inert(nb)
    for cell in nb.cells:
        meta = grade_meta(cell)
        if meta.get("grade"):
            meta["score"] = scores.get(meta["grade_id"])
            meta["points"] = max_scores.get(meta["grade_id"], meta.get("points", 0))
        if meta.get("solution") or meta.get("task"):
            meta.setdefault("comment", None)
    # the summary is the grader's own markup (escaped where it quotes anything): it takes the place of a marker
    # after the page is rendered, so it is not sanitised with the notebook's markdown
    marker = f"ELVSUMMARY{uuid.uuid4().hex}"
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(marker))
    summary = _summary_html(title or notebook, notebook, status, message, scores, max_scores, questions or {},
                            list(flags))

    total = sum(s for s in scores.values() if s is not None)
    body, _ = exporter().from_notebook_node(nb, resources={"nbgrader": {
        "notebook": notebook, "score": total, "max_score": sum(max_scores.values()), "late_penalty": 0}})
    body = body.replace(f"<p>{marker}</p>", summary, 1)
    body = with_csp(body)
    return _TOC_LINK.sub(r'<a href="#\1">\1</a>', body)         # each test by its id, not 26 times "Test cell"


def refresh_pages(out, results) -> None:
    """Every feedback page's score line and notes from the final results (late penalties and this run's
    policy flags), also for the pages kept from an earlier run."""
    for r in results:
        page = out / r.feedback if r.feedback else None
        if page is not None and page.is_file():
            text = page.read_text(encoding="utf-8")
            fresh = refresh_page(text, r)
            if fresh != text:
                page.write_text(fresh, encoding="utf-8")
