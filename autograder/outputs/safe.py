"""A graded notebook made safe to show in a browser: nothing the student wrote or printed can act in a page a
person opens (a feedback page, the TA's signed-in formgrader page).

An allowlist, not a blocklist. What the page shows is rebuilt from the notebook's data, keeping only what is
known to be inert:

* **Markdown** (every markdown cell, the release's and any the student added, written answers included) is
  rendered by nbconvert's own renderer and the HTML it makes goes through an allowlist sanitiser
  (:func:`clean_html`: `nh3 <https://nh3.readthedocs.io>`_, the Python binding of the maintained Rust sanitiser
  ammonia): formatting, lists, tables, code and images stay; scripts, event handlers, frames, forms, styles and
  ``id``/``name`` attributes go. Entities are decoded by the HTML parser before URLs are judged, and a URL is
  kept only when it is ``http(s):``, ``mailto:``, a ``#fragment`` or, for an image, a ``data:image/...`` URL.
  Both pages render markdown with :func:`markdown2html` (the feedback page's exporter, and formgrader through
  its configuration).
* **Outputs** are rebuilt by :func:`safe_outputs`: plain text and tracebacks (escaped by the template), HTML
  through the sanitiser, Markdown and LaTeX as sanitised HTML, PNG/JPEG/GIF pictures whose data is base64 and
  nothing else, SVG as a picture (``<img>``: an SVG shown as an image runs nothing); JavaScript, widgets, PDFs and
  any other type are dropped, and so is every output's metadata but a picture's numeric width and height
  (``isolated`` would frame the output).
* **Cells and notebook**: cell metadata other than nbgrader's (which the grader restored from the release), valid
  tags and the grader's own marks is dropped, attachments keep validated pictures only, ids that are not plain
  are replaced, raw cells show as text, and the notebook's metadata is reduced to what the template needs.

The pages also carry a Content-Security-Policy (:data:`FEEDBACK_CSP`, and formgrader's, in
:mod:`autograder.outputs.formgrade`), so that markup the sanitiser let through still could not run.
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import re
import uuid

__all__ = ["clean_html", "markdown2html", "safe_notebook", "safe_outputs", "clean_traceback", "FEEDBACK_CSP", "with_csp",
           "acting_markup", "scripted_cells"]

#: the feedback page's policy: no script but MathJax from its CDN (which typesets the page's equations; it needs
#: eval for its configuration block), pictures from the page itself, no connection, no frame, no form
FEEDBACK_CSP = ("default-src 'none'; script-src https://cdnjs.cloudflare.com/ajax/libs/mathjax/ 'unsafe-eval'; "
                "style-src 'unsafe-inline' https://cdnjs.cloudflare.com/ajax/libs/mathjax/; "
                "font-src data: https://cdnjs.cloudflare.com/ajax/libs/mathjax/; img-src data:; "
                "base-uri 'none'; form-action 'none'")

_TAGS = {"a", "abbr", "b", "bdi", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup", "dd",
         "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
         "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
         "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
         "var", "wbr"}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
               "td": {"align", "colspan", "rowspan"}, "th": {"align", "colspan", "rowspan", "scope"},
               "ol": {"start"}, "*": {"class"}}
#: the classes a student's markup may keep: a highlighted code block's (Pygments' token classes), a code
#: block's language and a table's (pandas); no other, so that nothing can look like, or be bound to, the page's
#: own controls (formgrader's "full-credit" button)
_CLASS = re.compile(r"^(language-[A-Za-z0-9_+-]{1,30}|dataframe|highlight)$")


_SIZE = re.compile(r"^[0-9]{1,5}%?$")
_IMAGE_URL = re.compile(r"^data:image/(png|jpeg|gif|svg\+xml);base64,[A-Za-z0-9+/=\s]+$")
_LINK = re.compile(r"^(https?://|mailto:|#)", re.I)
_PICTURES = ("image/png", "image/jpeg", "image/gif")
_PLAIN = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")


@functools.lru_cache(maxsize=1)
def _token_classes() -> frozenset:
    """Pygments' token classes (``k``, ``nb``, ``s1`` ...): what a highlighted code block's spans carry."""
    from pygments.token import STANDARD_TYPES

    return frozenset(c for c in STANDARD_TYPES.values() if c)


def _attribute(tag: str, name: str, value: str):
    """nh3's per-attribute check (after it decoded entities): URLs by kind, sizes as numbers, classes as words."""
    if name == "href":
        return value if _LINK.match(value.strip()) and not value.strip().startswith("//") else None
    if name == "src":
        return value if _IMAGE_URL.match(value.strip()) else None
    if name in ("width", "height", "colspan", "rowspan", "start"):
        return value if _SIZE.match(value.strip()) else None
    if name == "class":
        kept = " ".join(c for c in value.split() if _CLASS.match(c) or c in _token_classes())
        return kept or None
    return value


def clean_html(markup: str) -> str:
    """``markup`` with only inert HTML left (see the module's docstring)."""
    import nh3

    return nh3.clean(markup, tags=_TAGS, attributes=_ATTRIBUTES, attribute_filter=_attribute,
                     clean_content_tags={"script", "style", "template", "noscript", "xmp", "iframe", "noembed",
                                         "noframes", "plaintext", "object", "embed", "math", "svg"},
                     url_schemes={"http", "https", "mailto", "data"}, link_rel="noopener noreferrer nofollow",
                     strip_comments=True)


@functools.lru_cache(maxsize=1)
def _renderer_class():
    from nbconvert.filters.markdown_mistune import IPythonRenderer

    class Renderer(IPythonRenderer):
        """nbconvert's markdown renderer, for which an attachment the cell does not hold (or that was not a
        picture) is a missing picture, not an error that would cost the whole page."""

        def _embed_image_or_attachment(self, src: str) -> str:
            if src.startswith("attachment:") and src[len("attachment:"):] not in self.attachments:
                return ""
            return super()._embed_image_or_attachment(src)

    return Renderer


def _render_markdown(source: str, attachments=None) -> str:
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    renderer = _renderer_class()(escape=False, attachments=_safe_attachments(attachments), embed_images=False,
                                 path="", anchor_link_text="", exclude_anchor_links=True)
    return MarkdownWithMath(renderer=renderer).render(source if isinstance(source, str) else "")


try:                                 # a Jinja filter that sees the cell (for its attachments)
    from jinja2 import pass_context as _pass_context
except ImportError:  # pragma: no cover - Jinja2 < 3
    from jinja2 import contextfilter as _pass_context


@_pass_context
def markdown2html(context, source) -> str:
    """nbconvert's ``markdown2html`` filter, its HTML through :func:`clean_html`: how the feedback page and
    formgrader render every markdown cell (registered by name in their exporters)."""
    cell = context.get("cell", {}) if context is not None else {}
    return clean_html(_render_markdown(source, cell.get("attachments") if hasattr(cell, "get") else None))


def _base64(data) -> str | None:
    """``data`` as one line of base64 when it is base64 (whitespace aside), else None."""
    if isinstance(data, list):
        data = "".join(x for x in data if isinstance(x, str))
    if not isinstance(data, str):
        return None
    compact = re.sub(r"\s+", "", data)
    if not compact or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", compact):
        return None
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return compact


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(x for x in value if isinstance(x, str))
    return value if isinstance(value, str) else ""


def _safe_attachments(attachments) -> dict:
    """Attachments (pictures pasted into a markdown cell) whose name is plain and whose data is a picture."""
    safe = {}
    if not isinstance(attachments, dict):
        return safe
    for name, bundle in attachments.items():
        if not (isinstance(name, str) and re.fullmatch(r"[\w. -]{1,100}", name) and isinstance(bundle, dict)):
            continue
        kept = {m: d for m in _PICTURES if m in bundle and (d := _base64(bundle[m])) is not None}
        if kept:
            safe[name] = kept
    return safe


def _picture_size(meta) -> dict:
    return {k: int(v) for k, v in (meta or {}).items() if k in ("width", "height") and isinstance(v, (int, float))
            and not isinstance(v, bool) and 0 < v < 100_000} if isinstance(meta, dict) else {}


def _safe_bundle(data: dict, metadata) -> tuple[dict, dict]:
    """One output's MIME bundle and metadata, rebuilt from what is inert (see the module's docstring)."""
    out, meta = {}, {}
    if not isinstance(data, dict):
        return {"text/plain": "(an output the grader could not read)"}, {}
    for mime in _PICTURES:
        if mime in data and (picture := _base64(data[mime])) is not None:
            out[mime] = picture
            size = _picture_size(metadata.get(mime) if isinstance(metadata, dict) else None)
            if size:
                meta[mime] = size
    markup = []
    if "text/html" in data:
        markup.append(clean_html(_text(data["text/html"])))
    elif "text/markdown" in data:
        markup.append(clean_html(_render_markdown(_text(data["text/markdown"]))))
    elif "text/latex" in data:
        markup.append(f'<div class="output_latex">{html.escape(_text(data["text/latex"]))}</div>')
    if "image/svg+xml" in data and not any(m in out for m in _PICTURES):
        svg = _text(data["image/svg+xml"]).encode("utf-8")
        markup.append('<img alt="an SVG figure" src="data:image/svg+xml;base64,'
                      f'{base64.b64encode(svg).decode("ascii")}">')
    if markup and not any(m in out for m in _PICTURES):
        out["text/html"] = "".join(markup)
    if "text/plain" in data:
        out["text/plain"] = _text(data["text/plain"])
    if not out:
        out["text/plain"] = "(an output of a kind this page does not show: " + \
            ", ".join(sorted(str(k)[:60] for k in data)[:5]) + ")"
    return out, meta


#: an absolute path into an installed package or the toolkit: shown from the package on (no machine's folders)
_INSTALLED = re.compile(r"(?:/[^\s:'\"]*?)?/(?:site-packages|dist-packages)/|(?:/[^\s:'\"]*?)?/(?=elvkit/|autograder/)")


def _short_paths(text: str) -> str:
    """``text`` without the grading machine's folders: the course's root and the installed packages' parents."""
    from ..course import root

    return _INSTALLED.sub("", text.replace(f"{root()}/", ""))


def clean_traceback(trace) -> list:
    """A traceback as the student should read it: the grader's own frames (the recorder that wraps a test's calls)
    left out, and paths into installed packages shown from the package on, without the grading machine's
    folders. Frames of the student's cells and of the libraries the student called stay."""
    if not isinstance(trace, list):
        return []
    kept = []
    for frame in (t for t in trace if isinstance(t, str)):
        plain = re.sub(r"\x1b\[[0-9;]*m", "", frame)
        if re.search(r"[/\\]autograder[/\\]", plain):
            continue
        kept.append(_short_paths(frame))
    return kept


def safe_outputs(outputs) -> list:
    """A code cell's outputs, rebuilt from what is inert (see the module's docstring)."""
    from nbformat import NotebookNode

    safe = []
    for output in outputs if isinstance(outputs, list) else []:
        kind = output.get("output_type") if isinstance(output, dict) else None
        if kind == "stream":
            name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
            safe.append(NotebookNode(output_type="stream", name=name, text=_text(output.get("text"))))
        elif kind == "error":
            trace = output.get("traceback")
            safe.append(NotebookNode(output_type="error", ename=_text(output.get("ename"))[:200],
                                     evalue=_short_paths(_text(output.get("evalue"))),
                                     traceback=clean_traceback(trace)))
        elif kind in ("display_data", "execute_result"):
            data, meta = _safe_bundle(output.get("data"), output.get("metadata"))
            node = NotebookNode(output_type=kind, data=NotebookNode(data), metadata=NotebookNode(meta))
            if kind == "execute_result":
                count = output.get("execution_count")
                node["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
            safe.append(node)
    return safe


def safe_notebook(nb, *, keep=("nbgrader",)) -> None:
    """Make the graded notebook ``nb`` safe to render, in place (see the module's docstring); ``keep``: the cell
    metadata keys kept besides valid tags (the grader's own, set after the notebook ran)."""
    from nbformat import NotebookNode

    lang = nb.metadata.get("language_info", {}) if isinstance(nb.get("metadata"), dict) else {}
    lexer = lang.get("pygments_lexer") if isinstance(lang, dict) else None
    nb.metadata = NotebookNode(language_info=NotebookNode(
        name="python", pygments_lexer=lexer if isinstance(lexer, str) and _PLAIN.match(lexer) else "ipython3"))
    seen = set()
    for cell in nb.cells:
        cid = cell.get("id")
        if not (isinstance(cid, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cid)) or cid in seen:
            cell["id"] = uuid.uuid4().hex[:12]
        seen.add(cell["id"])
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        kept = NotebookNode({k: meta[k] for k in keep if k in meta})
        tags = meta.get("tags")
        if isinstance(tags, list):
            kept["tags"] = [t for t in tags if isinstance(t, str) and re.fullmatch(r"[\w-]{1,64}", t)]
        cell.metadata = kept
        if cell.get("cell_type") == "raw" or cell.get("cell_type") not in ("code", "markdown"):
            cell.cell_type = "markdown"
            cell.source = f"<pre>{html.escape(_text(cell.get('source')))}</pre>"
            for key in ("outputs", "execution_count"):
                cell.pop(key, None)
        if cell.cell_type == "markdown":
            attachments = _safe_attachments(cell.get("attachments"))
            cell.pop("attachments", None)
            if attachments:
                cell["attachments"] = NotebookNode(attachments)
        else:
            cell.pop("attachments", None)
            count = cell.get("execution_count")
            cell["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
            cell.outputs = safe_outputs(cell.get("outputs"))
        cell.source = _text(cell.get("source"))


def with_csp(page: str, policy: str = FEEDBACK_CSP) -> str:
    """An HTML page with ``policy`` as its first ``<head>`` element (a ``<meta http-equiv>``: a page opened from
    disk or an LMS has no headers of its own)."""
    tag = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">'
    return re.sub(r"<head>", lambda m: m.group(0) + "\n" + tag, page, count=1, flags=re.I)


#: elements that run, load or frame something, or submit: markup a notebook of the course never needs
_ACTING_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "base", "form", "applet"}


def acting_markup(markup: str) -> list[str]:
    """What in ``markup`` would act in a browser, read as a browser's parser reads it (entities decoded, text
    apart from tags): scripts, frames, forms, a ``<meta http-equiv>``, event-handler attributes, and URLs whose
    scheme runs (``javascript:``, ``vbscript:``, ``data:text/html``). Empty for inert markup."""
    from html.parser import HTMLParser

    found = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag in _ACTING_TAGS or (tag == "meta" and any(k == "http-equiv" for k, _ in attrs)):
                found.append(f"<{tag}>")
            for name, value in attrs:
                if name.startswith("on"):
                    found.append(f"<{tag} {name}>")
                elif name in ("href", "src", "action", "formaction", "xlink:href", "data", "srcdoc") and value:
                    url = "".join(value.split()).lower()
                    if name == "srcdoc" or url.startswith(("javascript:", "vbscript:", "data:text/html")):
                        found.append(f"<{tag} {name}>")

        handle_startendtag = handle_starttag

    try:
        Reader(convert_charrefs=True).feed(markup)
    except Exception:  # noqa: BLE001 - unparsable markup is shown as sanitised anyway; say it is odd
        found.append("markup the HTML parser could not read")
    return found


def scripted_cells(nb) -> list[str]:
    """The cells of an executed notebook whose markdown or outputs hold markup that would act in a browser (see
    :func:`acting_markup`), or a JavaScript output: ``["cell 12 (<img onerror>)", ...]``. The pages never run it
    (they are rebuilt from inert parts); a submission that holds it is shown to a person."""
    where = []
    for index, cell in enumerate(nb.cells):
        found = []
        if cell.get("cell_type") == "markdown":
            found += acting_markup(_render_markdown(_text(cell.get("source"))))
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data") if isinstance(output, dict) else None
            if not isinstance(data, dict):
                continue
            if "application/javascript" in data:
                found.insert(0, "a JavaScript output")
            for mime in ("text/html", "image/svg+xml"):
                if mime in data:
                    found += acting_markup(_text(data[mime]))
            if "text/markdown" in data:
                found += acting_markup(_render_markdown(_text(data["text/markdown"])))
        if found:
            where.append(f"cell {index + 1} ({', '.join(dict.fromkeys(found))[:120]})")
    return where
