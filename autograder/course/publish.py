"""``elv publish OUT``: the students' own distribution of the course, with nothing of the instructor's side.

The instructor's repository holds every reference solution, hidden-test spec and mistake; students must
never clone it. ``elv publish OUT`` writes a self-contained tree to push to a public repository or to zip
for a learning-management system::

    OUT/
        README.md           for students: set-up in two commands, the workflow, how to submit
        pyproject.toml      the elvkit library, with a ``student`` extra (JupyterLab, ipykernel, ipywidgets)
        environment.yml     the same packages for conda
        elvkit/             the library the notebooks import, with ``releases/<id>.json``: what each released
                            notebook looks like, for ``elv validate`` (see :mod:`elvkit.validate`)
        assignments/<id>/   the released notebooks (and their student files)
        data/registry.toml  where the real data sets are downloaded from, with their sha256

``elv publish OUT --check`` says what a new publish would change in an existing tree, file by file.
Before anything is written, :func:`leaks` looks for every graded function's reference body in the tree
(as a normalised syntax tree, so that renaming a function or its variables hides nothing) and for every
line of every hidden test.
"""

from __future__ import annotations

import ast
import difflib
import json
import shutil
import tomllib
from pathlib import Path

from .assignments import Assignment, assignments, root
from .notebooks import SOLUTION, grade_meta, hidden_region, marked_lines, read_source
from .release import manifest

__all__ = ["build", "publish", "check", "leaks", "secrets", "STUDENT_EXTRA"]

#: what students install beside the library: Jupyter to open the notebooks
STUDENT_EXTRA = ["jupyterlab>=4.0", "ipykernel>=6.29", "ipywidgets>=8.0", "nbclient>=0.10", "nbformat>=5.9"]
_CONDA_NAMES = {"torch": "pytorch"}
#: what a tree's own users add and a publish keeps: the repository, and a virtual environment made in it
_THEIRS = (".git", ".venv")
#: the picture of a notebook in JupyterLab that the student README shows (taken by the browser test)
SCREENSHOT = "docs/student-notebook.png"
#: syntax-tree nodes below which a function body is too small to be told from common code
_MIN_NODES = 12

_README = """# {course}: the student distribution

Your copy of the course: the assignment notebooks and `elvkit`, the library they import. It holds no
solution; your work is graded on your own notebook.

## Set-up: two commands

```bash
pip install -e '.[student]'      # or: conda env create -f environment.yml && conda activate elvkit
jupyter lab assignments/
```

Python 3.11 or newer. The first command installs elvkit with JupyterLab, ipykernel and ipywidgets
(PyTorch comes from PyPI; for a GPU build, install PyTorch first as its site says). The second
opens the course in your browser.

## The assignments

{assignments}

## Working on a notebook

Fill in every cell marked `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line) and run
the visible test cell under it: a failure says what came, what was expected, and the likely mistake.
{screenshot}
Answer each **written question** in the text cell under it that says `YOUR ANSWER HERE`: a few
sentences about the figure or table above it. TAs grade them after the deadline; a blank one scores 0.
Do not edit the test cells or the cells marked read-only, and keep every cell in place: the grader
restores them from the original. Restart the kernel and run all cells before you submit.

When your notebook is graded, hidden tests also compare each function with the reference on new
random inputs, and the last part checks your whole method on data made for your grading only. Under
the grader, notebooks run in a small "smoke" budget (`elvkit.smoke()` is true), so keep the heavy
demos behind it as the notebook does.

## Before you submit: `elv validate`

```bash
elv validate assignments/01_stereo/stereo.ipynb
```

checks your notebook the way the grader will see it: every solution and test cell there with its
metadata, the test cells unchanged, every visible test passing in a fresh kernel, and the whole run
within the grader's time limits (in the smoke budget). It ends with "Ready to submit." or with the
lines marked FAIL to fix; `--json` prints the same as JSON. The hidden tests are listed, not run:
they run when your notebook is graded. The written answers are listed too, with those still blank.

## Submitting

Submit the notebook file itself (for example `assignments/01_stereo/stereo.ipynb`), as your course
asks. Everything runs offline: the data ship with elvkit or are generated; the larger real data sets
are downloaded once, checked against `data/registry.toml`, when a notebook asks for them.

## DINO's published ViTs (optional)

The self-supervised and Normalized Cuts notebooks show what DINO's own ViT-S/16 and ViT-S/8 see on
photographs when the weights are on your machine; otherwise the course's small ViT stands in, and the
notebooks say so. To get them (about 165 MB):

```bash
python -m elvkit.data download dino
```

A checkpoint is a pickle, so elvkit reads it only when `data/registry.toml` holds its sha256. When your
course's copy holds none yet, `python -m elvkit.data hash` prints the lines to add there (your instructor
publishes them once for everyone).
"""


def _pyproject() -> tuple[dict, str]:
    """The instructor's project table, and the students' pyproject.toml made from it."""
    project = tomllib.loads((root() / "pyproject.toml").read_text())["project"]
    deps = "\n".join(f'    "{d}",' for d in project["dependencies"])
    extra = "\n".join(f'    "{d}",' for d in STUDENT_EXTRA)
    text = f'''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{project['name']}"
version = "{project['version']}"
description = "The Embodied Learning and Vision course: the library the assignment notebooks import"
readme = "README.md"
requires-python = "{project['requires-python']}"
license = {{ text = "{project['license']['text']}" }}
dependencies = [
{deps}
]

[project.optional-dependencies]
# Jupyter, to open and run the notebooks (and to validate them: `elv validate NOTEBOOK`)
student = [
{extra}
]

[project.scripts]
elv = "elvkit.validate:main"

[tool.setuptools.packages.find]
include = ["elvkit*"]

[tool.setuptools.package-data]
elvkit = ["releases/*.json", "models/weights/*.pt", "models/weights/*.json"]
'''
    return project, text


def _environment(project: dict) -> str:
    """The students' environment.yml: the same packages as their pyproject.toml, for conda."""
    lines = ["# Conda environment for the course's students; pyproject.toml asks for the same packages.",
             "#   conda env create -f environment.yml && conda activate elvkit", "name: elvkit",
             "channels:", "  - conda-forge", "dependencies:", f"  - python{project['requires-python']}"]
    pip = []
    for dep in list(project["dependencies"]) + STUDENT_EXTRA:
        name = dep.split(">")[0].split("=")[0].split("<")[0].strip()
        if name.startswith("opencv"):
            pip.append(dep)                      # the headless OpenCV build is on PyPI only
        else:
            lines.append(f"  - {_CONDA_NAMES.get(name, name)}{dep[len(name):]}")
    lines += ["  - pip", "  - pip:"] + [f"      - {d}" for d in pip] + ["      - --editable ."]
    return "\n".join(lines) + "\n"


def _files(base: Path, *, skip=("__pycache__", ".ipynb_checkpoints")) -> list[Path]:
    """The files under ``base``, sorted, caches left out."""
    return sorted(p for p in base.rglob("*") if p.is_file() and not set(p.relative_to(base).parts) & set(skip))


def build() -> dict:
    """The student distribution as files: relative path -> bytes (nothing is written).

    Raises
    ------
    RuntimeError
        When a released notebook is missing (run ``elv release``).
    """
    base = root()
    project, pyproject = _pyproject()
    files: dict = {}
    listing = []
    for a in assignments():
        if not a.release_notebook.is_file():
            raise RuntimeError(f"{a.release_notebook.relative_to(base)} is missing: run `elv release` first.")
        for path in _files(a.release_dir):
            files[f"assignments/{a.id}/{path.relative_to(a.release_dir).as_posix()}"] = path.read_bytes()
        listing.append(f"* `assignments/{a.id}/{a.notebook}.ipynb` — {a.title}")
    package = base / "elvkit"
    for path in _files(package):
        files[f"elvkit/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    for a in assignments():
        files[f"elvkit/releases/{a.id}.json"] = (json.dumps(manifest(a), indent=1) + "\n").encode()
    registry = base / "data" / "registry.toml"
    if registry.is_file():
        files["data/registry.toml"] = registry.read_bytes()
    files["pyproject.toml"] = pyproject.encode()
    files["environment.yml"] = _environment(project).encode()
    picture = base / SCREENSHOT
    if picture.is_file():
        files["docs/notebook.png"] = picture.read_bytes()
    files["README.md"] = _README.format(
        course="Embodied Learning and Vision", assignments="\n".join(listing),
        screenshot="\n![The stereo notebook in JupyterLab: the visible test under a function not written yet "
                   "says so](docs/notebook.png)\n" if picture.is_file() else "").encode()
    files[".gitignore"] = b".venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n"
    return dict(sorted(files.items()))


# ----------------------------------------------------------------------------------------------
# leaks: reference bodies as normalised syntax trees, hidden-test lines as text

class _Normalise(ast.NodeTransformer):
    """Names and arguments replaced by their order of first appearance; docstrings dropped."""

    def __init__(self):
        self.names: dict = {}

    def _name(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        return ast.copy_location(ast.Name(id=self._name(node.id), ctx=node.ctx), node)

    def visit_arg(self, node):
        return ast.copy_location(ast.arg(arg=self._name(node.arg)), node)


def _body_key(fn: ast.FunctionDef) -> str | None:
    """A function's body as a normalised syntax tree (None when too small to be told from common code)."""
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body or sum(1 for stmt in body for _ in ast.walk(stmt)) < _MIN_NODES:
        return None
    args = _Normalise()
    module = ast.Module(body=[ast.FunctionDef(name="f", args=fn.args, body=body, decorator_list=[], returns=None)],
                        type_ignores=[])
    return ast.dump(args.visit(module), annotate_fields=False, include_attributes=False)


def _functions(source: str):
    """Every function defined in ``source`` (nested ones included); none when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def secrets(course: list[Assignment] | None = None) -> tuple[dict, set]:
    """What must never be published: (normalised body -> "assignment: function" for every function of every
    solution cell that the release does not give away itself (helpers handed to students are not secret), the
    substantial lines of every hidden test)."""
    import nbformat

    bodies, lines = {}, set()
    for a in course if course is not None else assignments():
        given = {key for cell in nbformat.read(a.release_notebook, as_version=4).cells if cell.cell_type == "code"
                 for fn in _functions(cell.source) if (key := _body_key(fn)) is not None}
        for cell in read_source(a.source).cells:
            meta = grade_meta(cell)
            if cell.cell_type != "code":
                continue
            if meta.get("solution"):
                code = "\n".join(line for line, _ in marked_lines(cell.source, SOLUTION))
                for fn in _functions(code):
                    key = _body_key(fn)
                    if key is not None and key not in given:
                        bodies[key] = f"{a.id}: {fn.name}"
            lines |= {ln.strip() for ln in hidden_region(cell.source).splitlines()
                      if len(ln.strip()) >= 24 and not ln.strip().startswith("#")}
    return bodies, lines


def _sources(rel: str, data: bytes) -> list[str]:
    """The code of a published file: a Python file, or the code cells of a notebook."""
    if rel.endswith(".py"):
        return [data.decode("utf-8", errors="replace")]
    if rel.endswith(".ipynb"):
        try:
            nb = json.loads(data)
        except ValueError:
            return []
        return ["".join(c["source"]) if isinstance(c.get("source"), list) else str(c.get("source", ""))
                for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    return []


def leaks(files: dict, course: list[Assignment] | None = None) -> list[str]:
    """Where the tree ``files`` (relative path -> bytes) holds a reference solution's body (under any name) or
    a line of a hidden test, or anything of the instructor's side; [] when nothing leaks."""
    from .release import leaks as release_leaks

    bodies, lines = secrets(course)
    found = []
    for rel, data in files.items():
        top = rel.split("/", 1)[0]
        if top in ("solutions", "autograder", "tests", "bench") or rel.endswith((".nb.py", "spec.py")):
            found.append(f"{rel}: a file of the instructor's side")
        for source in _sources(rel, data):
            for fn in _functions(source):
                key = _body_key(fn)
                if key in bodies:
                    found.append(f"{rel}: function `{fn.name}` is the reference's {bodies[key]}")
        text = data.decode("utf-8", errors="replace")
        found += [f"{rel}: a line of a hidden test: {line[:60]!r}" for line in sorted(lines) if line in text]
    found += [str(p) for p in release_leaks({k: v for k, v in files.items() if k.startswith("assignments/")}, [],
                                            "published")]
    return found


# ----------------------------------------------------------------------------------------------

def check(out: Path) -> list[str]:
    """What publishing would change in the existing tree ``out``: one entry per file added, removed or
    changed (with a short unified diff for text); [] when it is up to date."""
    out = Path(out)
    built = build()
    have = {}
    if out.is_dir():       # what a student's or a repository's own files add (.git, a venv, caches) is not ours
        for p in _files(out, skip=("__pycache__", ".ipynb_checkpoints") + _THEIRS):
            rel = p.relative_to(out).as_posix()
            if not any(part.endswith(".egg-info") for part in rel.split("/")):
                have[rel] = p.read_bytes()
    changes = []
    for rel in sorted(set(built) | set(have)):
        if rel not in have:
            changes.append(f"added: {rel}")
        elif rel not in built:
            changes.append(f"removed: {rel}")
        elif have[rel] != built[rel]:
            old = have[rel].decode("utf-8", errors="replace").splitlines()
            new = built[rel].decode("utf-8", errors="replace").splitlines()
            diff = [d for d in difflib.unified_diff(old, new, lineterm="", n=0)][2:]
            changes.append(f"changed: {rel}\n" + "\n".join(f"    {d[:160]}" for d in diff[:12]))
    return changes


def publish(out: Path) -> list[Path]:
    """Write the student distribution to ``out`` (emptied first; its ``.git``, ``.venv`` and egg-info kept); returns
    the files written.

    Raises
    ------
    RuntimeError
        When the distribution would leak a solution or a hidden test (nothing is written), or a release is
        missing.
    """
    out = Path(out)
    files = build()
    problems = leaks(files)
    if problems:
        raise RuntimeError("refusing to publish a distribution that leaks:\n" + "\n".join(problems))
    if out.exists():
        for child in out.iterdir():
            if child.name not in _THEIRS and not child.name.endswith(".egg-info"):
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    written = []
    for rel, data in files.items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written
