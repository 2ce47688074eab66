"""Code that prints markup with scripts into its own outputs -- every payload of tests/xss_payloads.py as HTML,
Markdown and SVG outputs, a JavaScript output, an isolated (framed) output, a "picture" whose data breaks out of its
attribute and picture metadata that does -- a markdown cell the student added with the same payloads and a pasted
attachment whose data is a script, and a written answer holding them, hoping to run in the browser of whoever
opens the feedback page or the TA's copy in formgrader (to repaint the score, or start a kernel as the TA).
Graded as the reference, and flagged for a person; both pages keep the text, show the pictures, and run none of it
(the Chromium test in tests/test_formgrade.py opens such pages)."""

EXPECT = {"status": "graded", "score": 100, "flagged": True, "twin": "reference"}

MARK = "ELV_SCRIPTED_FEEDBACK"


def build(kit):
    import nbformat

    from xss_payloads import _js, markup_payloads

    html = "".join(markup_payloads())
    isolated = {"text/html": f"<script>{_js(35)}</script>"}
    breakout = {"image/png": f'x" onerror="{_js(33)}'}
    width = {"image/png": {"width": f'1 onerror="{_js(34)}"'}}
    nb = kit.appended(f"""
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML({html!r}))
display(Markdown({html!r}))
display(Javascript('document.title = "{MARK}"'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\\'{MARK}\\')"><circle r="3"/></svg>'))
display({isolated!r}, raw=True, metadata={{"isolated": True}})
display({breakout!r}, raw=True)
display({{"image/png": "iVBORw0KGgo="}}, raw=True, metadata={width!r})
print("{MARK} as text is fine")
""")
    added = nbformat.v4.new_markdown_cell(f"Notes of mine. {html}\n\n![pasted](attachment:x.png)")
    added["attachments"] = {"x.png": {"image/png": f'x" onerror="{_js(40)}'}}
    nb.cells.insert(3, added)
    nb = kit.with_cell("written-penalties", f"My answer. <script>document.title = '{MARK}'</script> {html}", nb)
    kit.write(nb)


def verify(kit, row, out):
    import re

    import nbformat

    from autograder.outputs.formgrade import prepare
    from xss_payloads import active_markup

    _, root, _ = prepare(out)
    copy = nbformat.read(next(root.glob(f"autograded/{row['student']}/*/stereo.ipynb")), as_version=4)
    for cell in copy.cells:
        assert set(cell.get("attachments", {})) <= {"x.png"}
        for bundle in cell.get("attachments", {}).values():
            assert all(re.fullmatch(r"[A-Za-z0-9+/=]+", data) for data in bundle.values()), bundle
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert set(data) <= {"text/plain", "text/html", "image/png", "image/jpeg", "image/gif"}, set(data)
            assert "isolated" not in output.get("metadata", {})
            for mime in ("image/png", "image/jpeg", "image/gif"):
                assert mime not in data or re.fullmatch(r"[A-Za-z0-9+/=]+", data[mime])
            assert active_markup(data.get("text/html", "")) == [], data["text/html"][:300]
    assert "markup that would run in the browser" in row["flags"] and "JavaScript output" in row["flags"]
    page = (out / row["feedback"]).read_text(encoding="utf-8")
    assert f"{MARK} as text is fine" in page and "My answer." in page and "Notes of mine." in page
    assert '<meta http-equiv="Content-Security-Policy"' in page
    assert active_markup(page, allowed_scripts=("MathJax", "mathjax")) == []
