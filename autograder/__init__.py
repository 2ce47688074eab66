"""The instructors' and TAs' side of the course toolkit: ``elv``.

Building releases from the solution scripts (``elv release``), grading batches of submissions
(``elv grade``), the demo class (``elv demo``) and new assignments (``elv new``). Grouped by purpose:

* :mod:`autograder.course` -- the assignments (one folder each under ``solutions/``), their notebooks,
  the release, the demo class, the scaffold;
* :mod:`autograder.grading` -- a batch: submissions, gradebook, policies, journal, workers, executors;
* :mod:`autograder.isolation` -- the kernel's sandbox and resource limits;
* :mod:`autograder.integrity` -- every point decided in the grader's process;
* :mod:`autograder.outputs` -- grades.csv, reports, feedback pages, Gradescope;
* :mod:`autograder.kernel_side` -- the only code that runs in a student's kernel (with
  :mod:`autograder.hidden`, the notebooks' ``check``); it imports nothing of the rest.

Students never need this package; nothing in it is released to them.
"""

import os as _os
import shutil as _shutil
import sys as _sys

# jsonschema (under nbformat) checks the "iri" string format with rfc3987-syntax when that is installed (Jupyter's
# event system installs it), and importing it compiles 38 grammars: about 3.5 s in every process that reads a
# notebook. Notebook schemas have no IRI fields, so the grader's processes go without that one checker.
if "rfc3987_syntax" not in _sys.modules:
    _sys.modules["rfc3987_syntax"] = None

# nbgrader runs the `alembic` command when it creates a gradebook. When this
# environment's Python is called by its full path, its scripts folder may not be
# on PATH: put it there so that the tools installed beside nbgrader are found.
if _shutil.which("alembic") is None:
    _os.environ["PATH"] = _os.path.dirname(_sys.executable) + _os.pathsep + _os.environ.get("PATH", "")
