"""What a student could put in a notebook to act in the browser of whoever opens it: markup in markdown cells
(written answers and cells the student added), HTML, Markdown, SVG, LaTeX and picture outputs, output and cell
metadata, attachments and notebook metadata.

Every payload that runs calls ``elvHit(n)``, which a test page defines (or, when it is not defined, sets
``document.title``) and, in formgrader's signed-in origin, tries to start a kernel with the page's XSRF cookie:
:func:`poison` plants them all, and a test loads the page in Chromium and checks that none of them ran.
"""

from __future__ import annotations

import base64
import copy

#: what each payload runs: mark the page, then try to act as the TA (start a kernel)
ACT = ("(function(n){try{document.title='ELV-XSS-'+n;window.__elvxss=(window.__elvxss||[]).concat([n]);"
       "var x=(document.cookie.match(/_xsrf=([^;]*)/)||[])[1]||'';"
       "fetch('/api/kernels',{method:'POST',headers:{'X-XSRFToken':x},body:'{}'});}catch(e){}})")


def _js(n: int) -> str:
    return f"{ACT}({n})"


def markup_payloads() -> list[str]:
    """HTML/Markdown payloads, each one acting when it runs (numbered so a test can say which one ran)."""
    p = []
    p.append(f"<script>{_js(1)}</script>")
    p.append(f'<img src=x onerror="{_js(2)}">')
    p.append(f"<svg/onload={_js(3).replace(' ', '')}>")                          # no space before the handler
    p.append(f"<img/src/onerror={_js(4).replace(' ', '')}>")
    p.append(f'<a href="jav&#x61;script:{_js(5)}">entity-encoded scheme</a>')
    p.append(f'<a href="&#106;&#97;vascript:{_js(6)}">decimal entities</a>')
    p.append(f'<a href="  JaVaScRiPt:{_js(7)}">mixed case</a>')
    p.append(f"[a markdown link](javascript:{_js(8).replace(' ', '')})")
    p.append(f'<iframe srcdoc="<script>parent.{_js(9)}</script>"></iframe>')
    p.append(f'<details open ontoggle="{_js(10)}"><summary>x</summary></details>')
    p.append(f'<math><mtext><table><mglyph><style><img src=x onerror="{_js(11)}"></style></mglyph></table></mtext></math>')
    p.append(f'<form action="javascript:{_js(12)}"><button>submit</button></form>')
    p.append(f'<object data="data:text/html;base64,{base64.b64encode(f"<script>{_js(13)}</script>".encode()).decode()}"></object>')
    p.append(f'<a href="data:text/html;base64,{base64.b64encode(f"<script>{_js(14)}</script>".encode()).decode()}">data link</a>')
    p.append(f'<input autofocus onfocus="{_js(15)}">')
    p.append(f'<video><source onerror="{_js(16)}"></video>')
    p.append(f'<svg><a xlink:href="javascript:{_js(17)}"><text y="20">svg link</text></a></svg>')
    p.append('<meta http-equiv="refresh" content="0; url=javascript:alert(18)">')
    p.append('<base href="javascript:alert(19)//">')
    p.append(f'<noscript><p title="</noscript><img src=x onerror={_js(20).replace(" ", "")}>"></noscript>')
    p.append(f'<style>@import "javascript:alert(21)";</style><div style="background:url(javascript:alert(21))">s</div>')
    p.append(f'<img src="x` `<script>{_js(22)}</script>"` `>')
    p.append(f'<div id="notebook-container" name="submission_id">DOM clobbering</div>')
    p.append(f'<a href="#" onclick="{_js(23)}" class="btn btn-success full-credit">Full credit</a>')
    return p


def _svg_figure(n: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" onload="{_js(n)}" width="40" height="40">'
            f'<script>{_js(n)}</script><circle cx="20" cy="20" r="10"/></svg>')


def output_payloads() -> list[dict]:
    """Outputs a student's code can produce (display_data and execute_result bundles with their metadata)."""
    html = "".join(markup_payloads())
    return [
        {"output_type": "display_data", "data": {"text/html": html, "text/plain": "html"}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/markdown": html}, "metadata": {}},
        {"output_type": "display_data", "data": {"image/svg+xml": _svg_figure(30)}, "metadata": {}},
        {"output_type": "display_data", "data": {"application/javascript": _js(31)}, "metadata": {}},
        {"output_type": "display_data", "data": {"text/latex": f"$x$<img src=x onerror=\"{_js(32)}\">"},
         "metadata": {}},
        # a picture whose "base64" breaks out of the src attribute, and metadata that breaks out of width
        {"output_type": "display_data", "data": {"image/png": f'x" onerror="{_js(33)}'}, "metadata": {}},
        {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="},
         "metadata": {"image/png": {"width": f'1 onerror="{_js(34)}"'}}},
        # isolated output: nbconvert frames it with the raw HTML
        {"output_type": "display_data", "data": {"text/html": f"<script>{_js(35)}</script>"},
         "metadata": {"isolated": True}},
        {"output_type": "display_data", "data": {"application/vnd.jupyter.widget-view+json":
                                                 {"model_id": f'"><script>{_js(36)}</script>'}}, "metadata": {}},
        {"output_type": "execute_result", "execution_count": f'1"><script>{_js(37)}</script>',
         "data": {"text/plain": "ok"}, "metadata": {}},
        {"output_type": "stream", "name": f'stdout"><script>{_js(38)}</script>', "text": "<script>not run</script>"},
        {"output_type": "error", "ename": f"<script>{_js(39)}</script>", "evalue": f"<img src=x onerror={_js(39)}>",
         "traceback": [f"<script>{_js(39)}</script>"]},
    ]


def poison(nb, written_id: str | None):
    """A copy of ``nb`` with every payload planted: a markdown cell the student added, the written answer
    ``written_id``'s text, outputs on a code cell the student added, cell tags and ids that break out of
    attributes, an attachment whose data is a script, a raw HTML cell and the notebook's title."""
    import nbformat

    nb = copy.deepcopy(nb)
    markup = "\n\n".join(markup_payloads())
    added = nbformat.v4.new_markdown_cell(f"My notes.\n\n{markup}\n\n![pasted](attachment:x.png)")
    added["attachments"] = {"x.png": {"image/png": f'x" onerror="{_js(40)}'},
                            f'y"><script>{_js(41)}</script>': {"text/html": f"<script>{_js(41)}</script>"}}
    added.metadata["tags"] = [f'x" onmouseover="{_js(42)}']
    code = nbformat.v4.new_code_cell("print('the student plots')")
    code.outputs = [nbformat.from_dict(o) for o in output_payloads()]
    code.execution_count = 3
    code.metadata["tags"] = [f'"><script>{_js(43)}</script>']
    raw = nbformat.v4.new_raw_cell(f"<script>{_js(44)}</script>", metadata={"format": "text/html",
                                                                           "raw_mimetype": "text/html"})
    nb.cells[2:2] = [added, code, raw]
    nb.cells[1]["id"] = f'x"><script>{_js(45)}</script>'
    if written_id is not None:
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == written_id)
        cell.source = "My written answer, with the reasons.\n\n" + markup
    nb.metadata["title"] = f"</title><script>{_js(46)}</script>"
    return nb


#: elements that run, load or frame something, or hold markup a browser parses again
ACTIVE_TAGS = {"script", "iframe", "object", "embed", "frame", "frameset", "base", "meta", "form", "svg", "math",
               "style", "input", "button", "video", "audio", "source", "link", "template", "noscript", "textarea"}


def active_markup(page: str, *, allowed_scripts: tuple = ()) -> list[str]:
    """What in ``page`` (as a browser's parser reads it: entities decoded, text kept apart from tags) could act:
    elements of :data:`ACTIVE_TAGS` after the head, event-handler attributes, and URLs with a scheme that runs. A
    script whose ``src`` or text contains one of ``allowed_scripts`` (the page's own MathJax) is not counted."""
    from html.parser import HTMLParser

    found = []

    class Reader(HTMLParser):
        in_body = False
        script = None                       # (src, text) of the script being read

        def handle_starttag(self, tag, attrs):
            attrs = {k: v or "" for k, v in attrs}
            if tag == "body":
                self.in_body = True
            if tag == "script":
                self.script = (attrs.get("src", ""), [])
            elif tag in ACTIVE_TAGS and self.in_body:
                found.append(f"<{tag}>")
            for name, value in attrs.items():
                if name.startswith("on"):
                    found.append(f"<{tag} {name}>")
                url = "".join(value.split()).lower()
                if name in ("href", "src", "action", "xlink:href", "formaction", "data") and \
                        url.startswith(("javascript:", "vbscript:", "data:text", "data:application")):
                    found.append(f"<{tag} {name}={value[:40]}>")

        handle_startendtag = handle_starttag

        def handle_data(self, data):
            if self.script is not None:
                self.script[1].append(data)

        def handle_endtag(self, tag):
            if tag == "script" and self.script is not None:
                src, text = self.script[0], "".join(self.script[1])
                if not any(a in src or a in text for a in allowed_scripts):
                    found.append(f"<script src={src[:60]!r}>{text[:60]}")
                self.script = None

    Reader(convert_charrefs=True).feed(page)
    return found
