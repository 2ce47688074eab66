"""Lecture demos: for each assignment, a handful of interactive demos that follow the lecture's slides.

An assignment's demos live beside it, in ``solutions/<id>/lecture.py``: a module with ``TITLE``, ``INTRO``,
``ALIASES`` (other names of the topic, such as ``"flow"``) and ``DEMOS``, a list of
:class:`~autograder.lecture.demo.Demo`. The demos compute with the assignment's reference solution
(:func:`autograder.integrity.reference.load`), so there is one source of truth and nothing of them reaches
``assignments/``.

``elv lecture [TOPIC]`` turns the modules into notebooks (one Markdown slide and one widget per demo) and
serves them with Voilà, code hidden; ``elv slides TOPIC`` runs the same notebook with every demo drawn at
its default values and exports it as one self-contained reveal.js file.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import types
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..course import Assignment, assignments
from .demo import STATIC_ENV, Choice, Demo, Slider

__all__ = ["Topic", "topics", "find_topic", "load_demos", "build_notebook", "voila_command", "voila_config",
           "lecture_url", "printed_url", "export_slides",
           "Demo", "Slider", "Choice"]

HERE = Path(__file__).resolve().parent
SHARE = HERE / "share"                   # the Voilà and nbconvert templates (on JUPYTER_PATH for both)
VOILA_TEMPLATE = "elv"
# the only front-end extensions the demos load: ipywidgets' manager (Voila injects its own for ipywidgets 8) and
# ipyevents (clicks on a picture); the others a course environment holds (nbgrader's, jupytext's) are JupyterLab's
# and fail outside it
WIDGET_EXTENSIONS = ("@voila-dashboards/widgets-manager8", "@jupyter-widgets/jupyterlab-manager", "ipyevents")


@dataclass(frozen=True)
class Topic:
    """The lecture demos of one assignment."""

    assignment: Assignment
    module_path: Path

    @property
    def name(self) -> str:
        """The topic's short name: the assignment's notebook name (``stereo``, ``optical_flow``)."""
        return self.assignment.notebook

    @property
    def aliases(self) -> tuple:
        """Other names of the topic (``flow``, ``ssl``), from its module's ``ALIASES``."""
        return tuple(getattr(load_demos(self), "ALIASES", ()))

    @property
    def title(self) -> str:
        """The title of the topic's demos (its module's ``TITLE``), the assignment's by default."""
        return getattr(load_demos(self), "TITLE", self.assignment.title)


def topics() -> list[Topic]:
    """Every assignment that has lecture demos (``solutions/<id>/lecture.py``), in the course's order."""
    return [Topic(a, a.solution_dir / "lecture.py") for a in assignments() if (a.solution_dir / "lecture.py").is_file()]


def find_topic(name: str) -> Topic:
    """The topic called ``name``: an assignment id (``02_optical_flow``), its notebook name
    (``optical_flow``), one of its aliases (``flow``), or a part of one of these that names a single topic.

    Raises
    ------
    KeyError
        With the topics there are, when ``name`` names none or several.
    """
    found = topics()
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    exact = [t for t in found if key in (t.assignment.id, t.name, *t.aliases)]
    if len(exact) == 1:
        return exact[0]
    partial = [t for t in found if any(key in n for n in (t.assignment.id, t.name, *t.aliases))]
    if len(partial) == 1:
        return partial[0]
    listing = ", ".join(f"{t.name} ({t.assignment.id}{''.join(', ' + a for a in t.aliases)})" for t in found) or "none"
    what = "names several topics" if partial else "is not a topic"
    raise KeyError(f"{name!r} {what}; the course's lecture topics are: {listing}.")


@lru_cache(maxsize=None)
def _load(path: str, mtime_ns: int) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"elv_lecture_{Path(path).parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    demos = getattr(module, "DEMOS", None)
    if not isinstance(demos, list) or not demos or not all(isinstance(d, Demo) for d in demos):
        raise TypeError(f"{path} must define DEMOS, a non-empty list of autograder.lecture.Demo.")
    return module


def load_demos(topic: Topic | str) -> types.ModuleType:
    """The topic's lecture module (its ``DEMOS``), loaded once per version of the file."""
    t = topic if isinstance(topic, Topic) else find_topic(topic)
    return _load(str(t.module_path), t.module_path.stat().st_mtime_ns)


def build_notebook(topic: Topic, folder: Path) -> Path:
    """Write the topic's demo notebook, ``<folder>/<name>.ipynb``: a title slide, then for each demo a
    Markdown slide with its idea and a hidden code cell that shows it."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    module = load_demos(topic)
    title = getattr(module, "TITLE", topic.assignment.title)
    cells = [new_markdown_cell(f"# {title}\n\n{getattr(module, 'INTRO', '').strip()}",
                               metadata={"slideshow": {"slide_type": "slide"}}),
             new_code_cell(f"from autograder.lecture import load_demos\ndemos = load_demos({topic.assignment.id!r}).DEMOS",
                           metadata={"slideshow": {"slide_type": "skip"}})]
    for i, demo in enumerate(module.DEMOS):
        cells.append(new_markdown_cell(f"## {demo.title}\n\n{demo.text.strip()}",
                                       metadata={"slideshow": {"slide_type": "slide"}}))
        cells.append(new_code_cell(f"demos[{i}].show()", metadata={"slideshow": {"slide_type": "-"}}))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}, "title": title})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{topic.name}.ipynb"
    nbformat.write(nb, path)
    return path


def jupyter_env(env: dict | None = None) -> dict:
    """The environment of Voilà and nbconvert: the course's templates on ``JUPYTER_PATH``, the course's root
    for the kernels (which import its reference solutions)."""
    from ..course import root

    env = dict(os.environ if env is None else env)
    env["JUPYTER_PATH"] = os.pathsep.join([str(SHARE)] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    env.setdefault("ELVKIT_COURSE_ROOT", str(root()))
    return env


def free_port(preferred: int = 8866) -> int:
    """``preferred`` when nothing listens there, otherwise a free port the system picks (``0``: the system's
    choice at once)."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port")


#: what every page of the lecture server may load: its own scripts, styles, images and fonts, and the kernels'
#: websockets on the same origin; nothing from elsewhere, and no page may frame it
LECTURE_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; "
               "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
#: the most demo pages (kernels) the lecture server keeps at once, and how long a kernel no page is connected to
#: lives on
MAX_KERNELS = 8
CULL_IDLE_SECONDS = 300


def voila_config(folder: Path, token: str, *, max_kernels: int = MAX_KERNELS) -> Path:
    """Write ``<folder>/voila.json``, which Voilà reads from its working folder: a token every request must
    carry (the URL's ``?token=``, then a cookie), the Host header checked (only this machine's names: a page of
    another site that rebinds its name to 127.0.0.1 gets 403), XSRF checks on, a Content-Security-Policy, and
    at most ``max_kernels`` kernels, idle ones culled (:class:`~autograder.lecture.kernels.CappedKernelManager`).
    The token is in this file (readable by its owner only), never on a command line other accounts can read."""
    import json

    config = {
        "Voila": {"token": token, "identity_provider_class": "autograder.lecture.kernels.LectureIdentityProvider",
                  "tornado_settings": {"allow_remote_access": False, "local_hostnames": ["localhost"],
                                       "headers": {"Content-Security-Policy": LECTURE_CSP,
                                                   "X-Content-Type-Options": "nosniff",
                                                   "Referrer-Policy": "no-referrer"}}},
        "VoilaConfiguration": {"multi_kernel_manager_class": "autograder.lecture.kernels.CappedKernelManager"},
        "CappedKernelManager": {"max_kernels": int(max_kernels), "cull_idle_timeout": CULL_IDLE_SECONDS,
                                "cull_interval": 30, "cull_connected": False},
    }
    path = Path(folder) / "voila.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(config, fh)
    return path


def voila_command(target: Path, port: int, ip: str = "127.0.0.1") -> list[str]:
    """The Voilà command that serves ``target`` (a notebook, or a folder of them) on ``ip:port``: code hidden,
    the course's template (no request leaves the machine), only the widgets' front-end loaded. Run it in the
    folder of :func:`voila_config` (its token, Host check and kernel cap); it opens no browser (Voilà's own
    would open the page without the token: :func:`lecture_url` is the address to open)."""
    return [sys.executable, "-m", "voila", str(target), f"--port={port}", f"--Voila.ip={ip}",
            f"--template={VOILA_TEMPLATE}", "--strip_sources=True", "--theme=light",
            *(f"--VoilaConfiguration.extension_allowlist={name}" for name in WIDGET_EXTENSIONS),
            "--VoilaConfiguration.show_tracebacks=True", "--no-browser"]


def lecture_url(port: int, token: str, page: str = "") -> str:
    """The address of a lecture page with the server's token (the first request logs the browser in)."""
    return f"http://127.0.0.1:{port}/{page}?token={token}"


def printed_url(text: str) -> tuple[str, str] | None:
    """``(the server's base address, its token)`` from what ``elv lecture`` printed, or None before it has."""
    import re

    found = re.search(r"(http://127\.0\.0\.1:\d+/)\?token=([\w-]+)", text)
    return (found.group(1), found.group(2)) if found else None


def export_slides(topic: Topic, out: Path, *, timeout: int = 600) -> Path:
    """Run the topic's notebook with every demo drawn at its default values and write it as a reveal.js deck,
    one self-contained HTML file (reveal.js and the pictures inline; nothing fetched when it opens)."""
    import tempfile

    import nbformat
    from nbclient import NotebookClient
    from nbconvert import SlidesExporter

    with tempfile.TemporaryDirectory(prefix="elv-slides-") as tmp:
        path = build_notebook(topic, Path(tmp))
        nb = nbformat.read(path, as_version=4)
        saved = {k: os.environ.get(k) for k in (STATIC_ENV, "JUPYTER_PATH", "ELVKIT_COURSE_ROOT")}
        os.environ.update({k: v for k, v in jupyter_env().items() if k in saved})
        os.environ[STATIC_ENV] = "1"
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    exporter = SlidesExporter(template_name="elv_reveal", extra_template_basedirs=[str(SHARE / "nbconvert" / "templates")],
                              exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"elv_reveal": _reveal_assets()})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(body, encoding="utf-8")
    return out


def _reveal_assets() -> dict:
    """reveal.js 4.6 (MIT licence, shipped in ``share/reveal``), inlined into the deck."""
    folder = SHARE / "reveal"
    return {"js": (folder / "reveal.js").read_text(encoding="utf-8"),
            "css": (folder / "reveal.css").read_text(encoding="utf-8"),
            "theme": (folder / "white.css").read_text(encoding="utf-8")}
