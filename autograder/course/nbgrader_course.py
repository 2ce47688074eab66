"""nbgrader's course folder: the one place its configuration is made and an assignment is registered.

Both the release (a temporary course whose ``release/`` folder is the student release) and the
grader (the course under ``RESULTS/nbgrader`` whose gradebook holds the scores) use it.
"""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = ["COURSE_ID", "config", "generate_assignment"]

#: nbgrader's course id in every gradebook the toolkit writes
COURSE_ID = "elv"


def config(root: Path, db_url: str, assignment_id: str):
    """nbgrader's configuration (a traitlets ``Config``) of the course folder ``root`` with the gradebook at
    ``db_url`` (an SQLAlchemy URL), for the assignment ``assignment_id``."""
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.db_url = db_url
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.assignment_id = assignment_id
    return c


def generate_assignment(root: Path, db_url: str, assignment_id: str) -> Path:
    """Run nbgrader's ``generate_assignment`` in this process on ``root/source/<assignment_id>/``: the
    assignment and its grade cells go into the gradebook, the student version into
    ``root/release/<assignment_id>/``, which is returned. nbgrader's errors propagate."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    from .alembic_head import install

    install()
    c = config(root, db_url, assignment_id)
    c.GenerateAssignment.force = True
    converter = GenerateAssignment(coursedir=CourseDirectory(config=c), config=c)
    converter.log.setLevel(logging.WARNING)
    converter.start()
    return Path(root) / "release" / assignment_id
