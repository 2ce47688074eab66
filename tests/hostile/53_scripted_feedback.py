"""Code that prints HTML with scripts into its own outputs (a `<script>`, an image's `onerror`, a JavaScript output,
an SVG with `onload`, a `javascript:` link) and a written answer with a `<script>` in its Markdown, hoping to run
in the browser of whoever opens the feedback page (to repaint the score a TA sees). Graded as the reference; the
feedback page, and the TAs' copy that formgrader shows in their signed-in browser, keep the text and run none of it."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}

MARK = "ELV_SCRIPTED_FEEDBACK"


def build(kit):
    nb = kit.appended(f"""
from IPython.display import HTML, SVG, Javascript, display
display(HTML('<b>scores</b><script>document.title = "{MARK}";</script><img src=x onerror="alert(\\'{MARK}\\')">'
             '<a href="javascript:alert(\\'{MARK}\\')">link</a>'))
display(Javascript('document.title = "{MARK}"'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\\'{MARK}\\')"><circle r="3"/></svg>'))
print("{MARK} as text is fine")
""")
    nb = kit.with_cell("written-penalties", f"My answer. <script>document.title = '{MARK}'</script> "
                       f"<img src=x onerror=\"alert('{MARK}')\">", nb)
    kit.write(nb)


def verify(kit, row, out):
    import re

    import nbformat

    from autograder.outputs.formgrade import prepare

    _, root, _ = prepare(out)
    copy = nbformat.read(next(root.glob(f"autograded/{row['student']}/*/stereo.ipynb")), as_version=4)
    for cell in copy.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert "application/javascript" not in data
            assert all(MARK not in str(data.get(m, "")) for m in ("text/html", "image/svg+xml")), data
    answer = next(c for c in copy.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "written-penalties")
    assert "<script>" not in answer.source and "&lt;script&gt;" in answer.source

    page = (out / row["feedback"]).read_text(encoding="utf-8")
    assert f"{MARK} as text is fine" in page, "the printed text stays"
    for script in re.findall(r"<script\b[^>]*>(.*?)</script>", page, flags=re.S | re.I):
        assert MARK not in script, f"a script of the student's is in the page: {script[:200]}"
    assert not re.search(r"""\son\w+\s*=\s*["']?[^"'>]*""" + MARK, page), "an event handler of the student's"
    assert not re.search(r"javascript:[^\"'>]*" + MARK, page), "a javascript: link of the student's"
