"""The grader's pieces that need no kernel: finding submissions, scoring cells, hiding hidden tests,
reports."""

import pytest
from nbformat import v4

from autograder.course.notebooks import without_hidden_region
from autograder.outputs.feedback import render_feedback, strip_hidden_tests
from autograder.grading import SubmissionResult, find_submissions
from autograder.outputs.report import gradebook_table, neutralise, summary_data, summary_text


def test_find_submissions_accepts_the_usual_layouts(tmp_path):
    (tmp_path / "alice.ipynb").write_text("{}")
    (tmp_path / "bob" / "01_stereo").mkdir(parents=True)
    (tmp_path / "bob" / "01_stereo" / "stereo.ipynb").write_text("{}")
    (tmp_path / "Chloé Dupont").mkdir()
    (tmp_path / "Chloé Dupont" / "stereo.ipynb").write_text("{}")
    (tmp_path / "dan").mkdir()
    (tmp_path / "dan" / "Untitled.ipynb").write_text("{}")
    (tmp_path / "eve").mkdir()
    (tmp_path / "eve" / "a.ipynb").write_text("{}")
    (tmp_path / "eve" / "b.ipynb").write_text("{}")
    (tmp_path / "fay").mkdir()
    (tmp_path / "fay" / "STEREO.IPYNB").write_text("{}")
    (tmp_path / "gus").mkdir()
    (tmp_path / "gus" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "gus" / ".ipynb_checkpoints" / "stereo-checkpoint.ipynb").write_text("{}")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / "notes.txt").write_text("not a submission")
    found = {f.student: f for f in find_submissions(tmp_path, "stereo", "01_stereo") if not f.ignored}
    assert set(found) == {"alice", "bob", "Chloe_Dupont", "dan", "eve", "fay", "gus"}
    assert found["bob"].path.name == "stereo.ipynb"
    assert "submitted as 'Chloé Dupont'" in found["Chloe_Dupont"].note
    assert "Untitled.ipynb" in found["dan"].note and found["dan"].path is not None
    assert found["eve"].path is None and "2 notebooks" in found["eve"].note
    assert found["fay"].path.name == "STEREO.IPYNB"
    assert found["gus"].path is None and "checkpoint" in found["gus"].note


def test_every_entry_of_the_submissions_folder_is_accounted_for(tmp_path):
    """Hidden names, upper-case extensions and names a spreadsheet would run are graded under safe ids;
    everything else is listed with the reason it is not a submission."""
    for name in (".sneaky.ipynb", "LOUD.IPYNB", "=HYPERLINK(1).ipynb", "-rm.ipynb", "+x.ipynb", "@y.ipynb",
                 "._mac.ipynb", "notes.txt", ".DS_Store"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "__MACOSX").mkdir()
    found = find_submissions(tmp_path, "stereo", "01_stereo")
    assert len(found) == len(list(tmp_path.iterdir()))
    graded = {f.original: f for f in found if not f.ignored}
    assert set(graded) == {".sneaky", "LOUD", "=HYPERLINK(1)", "-rm", "+x", "@y"}
    assert graded[".sneaky"].student == "sneaky" and "hidden name" in graded[".sneaky"].note
    assert all(not f.student.startswith(("=", "+", "-", "@", ".")) for f in graded.values())
    ignored = {f.original: f.note for f in found if f.ignored}
    assert set(ignored) == {"._mac.ipynb", "notes.txt", ".DS_Store", "__MACOSX"} and all(ignored.values())


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    assert neutralise("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert [neutralise(v) for v in ("+1+1", "-cmd", "@SUM(A1)", "\tx")] == ["'+1+1", "'-cmd", "'@SUM(A1)", "'\tx"]
    assert [neutralise(v) for v in ("-3.5", "12", "alice", "", None)] == ["-3.5", "12", "alice", "", ""]


def _grade_cell(outputs, executed=True, points=3):
    cell = v4.new_code_cell("check()", metadata={"nbgrader": {"grade": True, "grade_id": "q1-x", "points": points,
                                                             "solution": False, "locked": True}})
    cell.outputs = outputs
    cell.execution_count = 1 if executed else None
    return cell


def test_hidden_region_and_its_traceback_are_removed():
    source = "# visible comment\n### BEGIN HIDDEN TESTS\nsecret_check(x)\n### END HIDDEN TESTS"
    assert without_hidden_region(source) == "# visible comment"
    nb = v4.new_notebook()
    cell = _grade_cell([v4.new_output("error", ename="HiddenTestFailure", evalue="`f` differs",
                                      traceback=["Cell In[3], line 3", "----> 3 secret_check(x)"])])
    cell.source = source
    nb.cells = [cell]
    strip_hidden_tests(nb)
    assert "secret_check" not in nb.cells[0].source
    assert nb.cells[0].outputs[0].traceback == ["HiddenTestFailure: `f` differs"]
    page = render_feedback(nb, notebook="stereo", scores={"q1-x": 0.0}, max_scores={"q1-x": 3.0},
                           questions={"q1": "Triangulation"}, title="A1")
    assert "secret_check" not in page and "q1: Triangulation" in page and "0 / 3" in page


def test_reports(stereo):
    ok = SubmissionResult("ann", "graded", scores={"q1-a": 2.0, "q2-b": 3.0}, max_scores={"q1-a": 2.0, "q2-b": 5.0})
    bad = SubmissionResult("ben", "timeout", message="ran longer than 600 s", scores={"q1-a": 2.0, "q2-b": 0.0},
                           max_scores={"q1-a": 2.0, "q2-b": 5.0}, flags=["edited read-only cells (restored): q2-b"])
    data = summary_data(stereo, [ok, bad])
    assert data["questions"]["q1"]["pass_rate"] == 1.0 and data["questions"]["q2"]["pass_rate"] == 0.0
    assert data["questions"]["q2"]["mean_share"] == pytest.approx(0.3)
    assert [f["student"] for f in data["flagged"]] == ["ben"]
    text = summary_text(stereo, [ok, bad])
    assert "ran longer than 600 s" in text and "1 graded, 1 timeout" in text
    table = gradebook_table(stereo, [ok, bad])
    assert table.splitlines()[2].split()[:2] == ["ann", "graded"]


def test_kernel_limits_turn_a_huge_allocation_into_a_memory_error(tmp_path):
    """A kernel started under the grader's limits: a 30 GB array fails in the cell; torch still works."""
    import subprocess
    import sys

    from autograder.isolation.limits import wrap

    code = ("import numpy as np\n"
            "try:\n    np.ones(30 * 10**9, dtype=np.uint8)\n    print('allocated')\n"
            "except MemoryError:\n    print('MemoryError')\n"
            "import torch\nprint(float(torch.ones(300, 300).sum()))\n"
            "open('big.bin', 'wb').write(b'x' * (3 * 1024 * 1024))\n")
    argv = wrap([sys.executable, "-c", code], memory_mb=2048, file_mb=1, cpu_seconds=60)
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "MemoryError" in done.stdout and "90000.0" in done.stdout
    assert done.returncode != 0 and (tmp_path / "big.bin").stat().st_size <= 1024 * 1024, \
        "a file beyond --file-mb is cut off and the writer stopped"


def test_kernels_see_a_scrubbed_environment(tmp_path):
    import os
    import subprocess
    import sys

    from autograder.isolation.limits import wrap

    env = dict(os.environ, GITHUB_TOKEN="secret", DATABASE_URL="postgresql://ta:pw@db/grades",
               ELVKIT_SMOKE="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    code = "import os; print(sorted(k for k in ('GITHUB_TOKEN', 'DATABASE_URL', 'ELVKIT_SMOKE', 'OMP_NUM_THREADS', " \
           "'PATH') if k in os.environ), os.environ['MPLBACKEND'])"
    done = subprocess.run(wrap([sys.executable, "-c", code]), capture_output=True, text=True, env=env, timeout=60)
    # a server's MPLBACKEND=Agg would keep the figures out of the notebook and its feedback page
    assert done.stdout.strip() == "['ELVKIT_SMOKE', 'OMP_NUM_THREADS', 'PATH'] module://matplotlib_inline.backend_inline"


def test_a_notebook_past_its_time_limit_is_stopped_and_its_cells_keep_their_replies(tmp_path):
    """The watchdog of a whole notebook: each cell within its own limit, the notebook not."""
    import nbformat

    from autograder.grading import STATUS_TIMEOUT
    from autograder.grading.execute import execute as _execute
    from autograder.integrity.judge import CellWatch, Plan

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("import time\ntime.sleep(6)"),
                                         nbformat.v4.new_code_cell("time.sleep(6)"),
                                         nbformat.v4.new_code_cell("y = 2")])
    watch = CellWatch(tmp_path / ".elv", Plan("none", {}, {}, [], ""))
    # the limit leaves a loaded machine 10 s to start the kernel and run the first cell
    status, message = _execute(nb, tmp_path, cell_timeout=30, notebook_timeout=10, retries=0, watch=watch)
    assert status == STATUS_TIMEOUT and "10 s" in message
    assert watch.replies[0] == "ok" and 3 not in watch.replies


def test_statistics_are_over_submitted_work_and_every_late_student_is_named(stereo):
    full = {"q1-a": 2.0, "q2-b": 5.0}
    ann = SubmissionResult("ann", "graded", scores=dict(full), max_scores=full, late_days=2, penalty=1.4)
    bea = SubmissionResult("bea", "graded", scores={"q1-a": 0.0, "q2-b": 0.0}, max_scores=full, late_days=1)
    cal = SubmissionResult("cal", "missing", message="on the roster, no submission", scores={"q1-a": 0.0, "q2-b": 0.0},
                           max_scores=full)
    data = summary_data(stereo, [ann, bea, cal])
    assert data["submissions"] == 2 and data["absent"] == ["cal"] and "missing" not in data["statuses"]
    assert data["score"]["mean"] == pytest.approx((7.0 - 1.4 + 0.0) / 2)           # cal is not a zero in the mean
    assert data["questions"]["q1"]["pass_rate"] == 0.5
    assert [f["student"] for f in data["flagged"]] == []                            # listed once, as absent
    text = summary_text(stereo, [ann, bea, cal])
    assert text.count("cal") == 1 and "Late (2): ann 2 day(s), -1.4, bea 1 day(s), -0" in text


def test_a_feedback_page_is_refreshed_from_the_final_result():
    import nbformat

    from autograder.outputs.feedback import refresh_page

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
        "grade": True, "grade_id": "q1-a", "points": 2, "solution": False, "locked": True}})])
    page = render_feedback(nb, notebook="stereo", scores={"q1-a": 2.0}, max_scores={"q1-a": 2.0},
                           questions={"q1": "T"}, title="A1", flags=["late by 1 day(s): -10 %"])
    assert "Score: <b>2 / 2</b>" in page and "late by 1 day(s)" in page
    rerun = SubmissionResult("ann", "graded", scores={"q1-a": 2.0}, max_scores={"q1-a": 2.0}, penalty=0.6,
                             late_days=3, flags=["late by 3 day(s): -30 %"])     # a new late policy
    fresh = refresh_page(page, rerun)
    assert "Score: <b>1.4 / 2</b> (the tests gave 2; late penalty -0.6 for 3 day(s) late)" in fresh
    assert "late by 3 day(s)" in fresh and "late by 1 day(s)" not in fresh
    assert "stereo (Score: 1.4 / 2)</h4>" in fresh                        # nbgrader's own headline too
    assert '<a href="#q1-a">q1-a</a>' in page and ">Test cell<" not in page


def _inert(markup: str) -> list:
    from xss_payloads import active_markup

    return active_markup(markup, allowed_scripts=("MathJax", "mathjax"))


@pytest.mark.parametrize("index", range(24))
def test_the_sanitiser_keeps_nothing_that_acts(index):
    """Each payload class alone (tests/xss_payloads.py): nothing that could act is left, from raw HTML and from
    Markdown rendered as the pages render it."""
    from autograder.outputs.safe import clean_html, markdown2html
    from xss_payloads import markup_payloads

    payload = markup_payloads()[index]
    assert _inert(clean_html(payload)) == [], clean_html(payload)
    assert _inert(markdown2html(None, payload)) == [], markdown2html(None, payload)


def test_the_sanitiser_keeps_what_a_written_answer_and_a_figure_need():
    from autograder.outputs.safe import clean_html, markdown2html

    md = ("**Bold**, *italic*, `code`, $x^2 < y$ and a [link](https://example.org) and [a section](#part-2).\n\n"
          "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint(1)\n```\n\n![fig](data:image/png;base64,iVBORw0KGgo=)")
    out = markdown2html(None, md)
    for kept in ("<strong>Bold</strong>", "<em>italic</em>", "<code>code</code>", "$x^2 &lt; y$",
                 'href="https://example.org"', 'href="#part-2"', "<table>", "<td>2</td>", '<span class="nb">print</span>',
                 'src="data:image/png;base64,iVBORw0KGgo="'):
        assert kept in out, (kept, out)
    assert clean_html('<table class="dataframe btn full-credit"><tr><td>1</td></tr></table>') == \
        '<table class="dataframe"><tbody><tr><td>1</td></tr></tbody></table>'
    assert "src" not in clean_html('<img src="//tracker.example/x.png">')


def test_a_poisoned_notebook_renders_inert_with_its_text_and_pictures():
    """Every payload planted at once (cells, outputs, metadata, attachments, raw cell, title): the feedback page
    keeps the text and the valid pictures, shows nothing that acts, and carries its Content-Security-Policy."""
    import html
    import re

    import nbformat
    from autograder.outputs.safe import FEEDBACK_CSP
    from xss_payloads import poison

    nb = v4.new_notebook(cells=[v4.new_markdown_cell("# Title"), v4.new_code_cell("x = 1"),
                                v4.new_markdown_cell("YOUR ANSWER HERE",
                                                     metadata={"nbgrader": {"grade_id": "written-a", "solution": True,
                                                                            "grade": True, "points": 2}})])
    figure = v4.new_code_cell("plot()")
    figure.outputs = [nbformat.from_dict({"output_type": "display_data", "metadata": {"image/png": {"width": 300}},
                                          "data": {"image/png": "iVBORw0KGgo=\n", "text/plain": "<Figure>"}})]
    nb.cells.append(figure)
    bad = poison(nb, "written-a")
    page = render_feedback(bad, notebook="stereo", scores={"written-a": None}, max_scores={"written-a": 2.0},
                           title="<script>alert(1)</script>")
    assert _inert(page) == []
    assert "My written answer, with the reasons." in page and "My notes." in page
    assert 'src="data:image/png;base64,iVBORw0KGgo=" width="300"' in page or \
        re.search(r'src="data:image/png;base64,iVBORw0KGgo="[^>]*width=300', page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page                      # the title, escaped
    assert html.escape(FEEDBACK_CSP) in page


def test_feedback_tracebacks_start_at_the_students_code_and_name_no_folder_of_the_grader():
    """The recorder's frames are left out; paths into the toolkit, the course and installed packages lose the
    grading machine's folders."""
    import nbformat

    from autograder.course import root
    from autograder.outputs.safe import safe_outputs

    error = nbformat.from_dict({"output_type": "error", "ename": "ValueError",
                                "evalue": f"the data registry {root()}/data/registry.toml is missing",
                                "traceback": ["Cell In[3], line 2\n----> 2 f(x)",
                                              f"File \x1b[0;32m{root()}/autograder/kernel_side/capture.py:12\x1b[0m",
                                              f"File {root()}/elvkit/_checks.py:40, in check_array(x)",
                                              "File /opt/py/lib/python3.11/site-packages/torch/nn/functional.py:10"]})
    [out] = safe_outputs([error])
    text = "\n".join(out.traceback) + out.evalue
    assert "capture.py" not in text and str(root()) not in text and "/opt/py" not in text
    assert "File elvkit/_checks.py:40" in text and "File torch/nn/functional.py:10" in text and "Cell In[3]" in text
    assert out.evalue == "the data registry data/registry.toml is missing"
