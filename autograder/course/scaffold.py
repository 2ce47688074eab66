"""``elv new``: a new assignment folder that passes ``elv release --check`` at once.

``elv new 03_ncuts --title "Assignment 3: Normalized Cuts"`` writes::

    solutions/03_ncuts/
        ncuts.nb.py          the percent script: the header, an introduction, one example question
        spec.py              the hidden tests' inputs and tolerances (empty: ``SPECS = {}``)
        mistakes/README.md   how to write a mistake
        mistakes/adds_the_factor.py   the example question's one mistake

and then builds its release (``assignments/03_ncuts/``), so that the course's tests, the demo class
and the bench pick it up without any list to edit.
"""

from __future__ import annotations

import re
from pathlib import Path

from .assignments import Assignment, get_assignment, rescan, root

__all__ = ["new_assignment", "write_mistakes_readme"]

_ID = re.compile(r"^[0-9]{2}_[a-z][a-z0-9_]*$")

_SCRIPT = '''# ---
# jupyter:
#   elvkit:
#     title: "{title}"
#     questions:
#       q1: An example question
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # {title}
#
# Say here what the assignment teaches, in the notation of the lecture slides, and where it departs
# from them.
#
# **How this notebook works.** Fill in every cell that says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). After each function a cell of *visible tests* tells you
# what came, what was expected and the likely mistake. Restart the kernel and run all cells before
# you submit.

# %% nbgrader={{"grade_id": "imports", "locked": true}}
import numpy as np

import elvkit
from elvkit.testing import assert_close

elvkit.seed_everything(0)
SMOKE = elvkit.smoke()       # True under the autograder: smaller demos, same tests

# %% [markdown]
# ## Question 1 — an example
#
# Write `scale(x, factor)`, which multiplies every value of the array `x` by `factor`.

# %% nbgrader={{"grade_id": "q1-scale", "solution": true}}
def scale(x, factor):
    """``x`` times ``factor``, elementwise."""
    ### BEGIN SOLUTION
    return np.asarray(x) * factor
    ### END SOLUTION

# %% nbgrader={{"grade_id": "q1-scale-visible", "grade": true, "points": 1}}
assert_close(scale(np.array([1.0, 2.0]), 3.0), np.array([3.0, 6.0]), name="scale([1, 2], 3)")
print("q1 visible tests passed")
'''

_SPEC = '''"""Hidden tests of {id}: inputs and tolerances, one ``Spec`` per function that a hidden test cell checks.

A hidden test cell of the script calls ``check("{id}", "<function>", <function>)`` inside
``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``; its spec here makes the inputs from a generator
seeded per student and says how the result is compared with the reference (the script's own solution)::

    def _scale_cases(rng):
        return [Case((rng.normal(size=(4, 5)), 2.0), label="a 4x5 array times 2")]

    SPECS = {{"scale": Spec(_scale_cases, rtol=1e-6, atol=1e-9, hint="multiply, do not add")}}
"""

from autograder.integrity.specs import Case, Spec  # noqa: F401

SPECS: dict = {{}}
'''

_MISTAKES_README = '''# Mistakes of {id}

One file per realistic wrong implementation: a mistake students really make. `elv demo` grades each
as a student, and the test suite proves that every one loses points in its question.

A file is a fragment of a notebook cell, not an importable module: it may use the notebook's imports
and the student's other functions. It defines one or more graded functions under their reference
names, which replace the reference's functions in their solution cells. Its docstring starts with a
one-line title and holds a `Question: qN` line:

```python
"""Adds the factor instead of multiplying by it.

Question: q1
"""


def scale(x, factor):
    return np.asarray(x) + factor
```

Every question with hidden tests needs at least one mistake here (the test suite checks it). A question
left without one is named on a line of its own, with the reason: `Not covered: q7 (why)`.
'''

_MISTAKE = '''"""Adds the factor instead of multiplying by it.

Question: q1
"""


def scale(x, factor):
    return np.asarray(x) + factor
'''


_LECTURE = '''"""Lecture demos of {title}: `elv lecture {notebook}` serves them, `elv slides {notebook}` exports them. A topic
has 3 to 5 demos that follow the slides; each computes with the reference solution (never a copy of it)."""

import numpy as np

from autograder.integrity.reference import load
from autograder.lecture import Demo, Slider

TITLE = "{title}"
ALIASES = ()
INTRO = """
Say here, in the lecture's notation, what the demos of this topic show.
"""

ref = load("{id}")


def _scale_draw(fig, _state, factor):
    x = np.linspace(0, 4 * np.pi, 200)
    ax = fig.subplots()
    ax.plot(x, np.sin(x), color="grey", label="x")
    ax.plot(x, ref.scale(np.sin(x), factor), color="tab:blue", label=f"scale(x, {{factor:g}})")
    ax.set_ylim(-3.2, 3.2)
    ax.legend(loc="upper right")
    return f"Every value of x multiplied by {{factor:g}}: the peaks reach {{abs(factor):g}}."


DEMOS = [
    Demo("An example demo", "One idea, one control, one picture.",
         {{"factor": Slider("factor", -3.0, 3.0, 0.5, 2.0)}}, _scale_draw, size=(8.0, 3.0)),
]
'''


def write_mistakes_readme(folder: Path, assignment_id: str) -> Path:
    """Write the mistakes README of ``assignment_id`` into ``folder``; returns its path."""
    path = Path(folder) / "README.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_MISTAKES_README.format(id=assignment_id), encoding="utf-8")
    return path


def new_assignment(assignment_id: str, title: str, *, release: bool = True) -> Assignment:
    """Create ``solutions/<assignment_id>/`` with a script (the header and one example question), an empty
    spec and a mistakes folder (README and the example's one mistake), then build its release unless
    ``release`` is False. Returns the new :class:`Assignment`.

    Raises
    ------
    ValueError
        For an id that is not two digits, an underscore and a lower-case name (``03_ncuts``), an empty
        title, or an id or notebook name the course has already.
    """
    if not isinstance(assignment_id, str) or not _ID.match(assignment_id):
        raise ValueError(f"the assignment id must be two digits, an underscore and a lower-case name, "
                         f"e.g. 03_ncuts; got {assignment_id!r}.")
    if not title or not title.strip() or '"' in title or "\n" in title:
        raise ValueError(f"--title must be one line of text without double quotes; got {title!r}.")
    notebook = assignment_id.split("_", 1)[1]
    folder = root() / "solutions" / assignment_id
    if folder.exists():
        raise ValueError(f"solutions/{assignment_id}/ exists already: choose another id.")
    rescan()
    for clash in (assignment_id, notebook):
        try:
            other = get_assignment(clash)
        except KeyError:
            continue
        raise ValueError(f"the course has {other.id} ({other.notebook}.ipynb) already: choose another id.")
    (folder / "mistakes").mkdir(parents=True)
    (folder / f"{notebook}.nb.py").write_text(_SCRIPT.format(title=title.strip()), encoding="utf-8")
    (folder / "spec.py").write_text(_SPEC.format(id=assignment_id), encoding="utf-8")
    write_mistakes_readme(folder / "mistakes", assignment_id)
    (folder / "mistakes" / "adds_the_factor.py").write_text(_MISTAKE, encoding="utf-8")
    (folder / "lecture.py").write_text(_LECTURE.format(title=title.strip(), notebook=notebook, id=assignment_id),
                                       encoding="utf-8")
    rescan()
    a = get_assignment(assignment_id)
    if release:
        from .release import release as build

        build([a.id], log=lambda *_: None)
    return a
