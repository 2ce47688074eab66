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

__all__ = ["Topic", "topics", "find_topic", "load_demos", "build_notebook", "voila_command", "export_slides",
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


def voila_command(target: Path, port: int, open_browser: bool, ip: str = "127.0.0.1") -> list[str]:
    """The Voilà command that serves ``target`` (a notebook, or a folder of them) on ``ip:port``: code hidden,
    the course's template (no request leaves the machine), only the widgets' front-end loaded."""
    return [sys.executable, "-m", "voila", str(target), f"--port={port}", f"--Voila.ip={ip}",
            f"--template={VOILA_TEMPLATE}", "--strip_sources=True", "--theme=light",
            *(f"--VoilaConfiguration.extension_allowlist={name}" for name in WIDGET_EXTENSIONS),
            "--VoilaConfiguration.show_tracebacks=True",
            # Voila's page shuts its kernel down when it closes, by a POST without the xsrf token, which the server
            # refuses (voila-dashboards/voila#1458): every page left would keep its kernel, and the console shows the
            # 403. The server listens on this machine only, and that request is the one it serves without a form.
            "--Voila.tornado_settings", "disable_check_xsrf=True",
            *([] if open_browser else ["--no-browser"])]


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
