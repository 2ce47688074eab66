"""``elv validate NOTEBOOK`` on the instructor's side: :mod:`elvkit.validate`'s checks, with the manifest built
from the committed release and the notebook run by the grader's own worker (in its sandbox, with the
grader's kernel), so that a TA who validates a student's notebook runs nothing of it outside the sandbox.

The student distribution's ``elv validate`` is :func:`elvkit.validate.main`: the same checks and report,
against the manifests shipped in ``elvkit``, run in the student's own Jupyter kernel.
"""

from __future__ import annotations

from pathlib import Path

from elvkit.validate import Validation, find_manifest, validate as check

from ..course import assignments, get_assignment, kernel_files

__all__ = ["validate"]


def _sandboxed(a):
    """A runner for :func:`elvkit.validate.validate`: the notebook run by the grader's worker, every autograded
    cell judged by the kernel's reply (on a student's notebook, where the grader's inputs are absent)."""
    def run(nb, files, cell_timeout, notebook_timeout):
        import tempfile

        import nbformat

        from ..integrity.judge import validation_plan
        from .types import Job
        from .worker import work

        release = nbformat.read(a.release_notebook, as_version=4)
        with tempfile.TemporaryDirectory(prefix="elv-validate-") as tmp:
            done = work(Job(notebook=nbformat.writes(nb), plan=validation_plan(release),
                            files={**kernel_files(a), **files},
                            env={"ELVKIT_SMOKE": "1", "NBGRADER_EXECUTION": "autograde"},
                            cell_timeout=cell_timeout, notebook_timeout=notebook_timeout, retries=1,
                            workdir=str(Path(tmp) / "run")))
        return nbformat.reads(done.notebook, as_version=4), done.status, done.message, done.seconds
    return run


def validate(path: Path, assignment_id: str | None = None, *, cell_timeout: int | None = None,
             notebook_timeout: int | None = None) -> Validation:
    """Check a student's notebook at ``path`` against the committed release of ``assignment_id`` (guessed from
    the file's name when None), run in the grader's sandbox; see :func:`elvkit.validate.validate`, which
    also says what it raises."""
    from ..course.release import manifest

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    known = {a.id: manifest(a) for a in assignments()}
    m = find_manifest(path, assignment_id, known)
    a = get_assignment(m["assignment"])
    return check(path, m, cell_timeout=cell_timeout, notebook_timeout=notebook_timeout, run=_sandboxed(a),
                 known=known)
