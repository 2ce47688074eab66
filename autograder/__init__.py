"""The instructors' and TAs' side of the course toolkit.

Building releases from the solution scripts (``elv release``), grading batches
of submissions (``elv grade``), and the demo class (``elv demo``). Students
never need this package; nothing in it is released to them.
"""

import os as _os
import shutil as _shutil
import sys as _sys

# nbgrader runs the `alembic` command when it creates a gradebook. When this
# environment's Python is called by its full path, its scripts folder may not be
# on PATH: put it there so that the tools installed beside nbgrader are found.
if _shutil.which("alembic") is None:
    _os.environ["PATH"] = _os.path.dirname(_sys.executable) + _os.pathsep + _os.environ.get("PATH", "")
