"""Grading a batch of submissions: finding them, the gradebook, the roster and late policy, the journal,
the workers that execute and judge each notebook, and where they run (local processes or Dask).

Nothing in this package runs in a student's kernel: the kernel side is :mod:`autograder.kernel_side`.
"""

from .batch import grade
from .submissions import find_submissions
from .types import (STATUS_GRADED, STATUS_IGNORED, STATUS_INFRA, STATUS_KERNEL_DIED, STATUS_MALFORMED, STATUS_MISSING,
                    STATUS_TIMEOUT, GradeOptions, Job, Outcome, SubmissionResult)

__all__ = ["grade", "find_submissions", "GradeOptions", "SubmissionResult", "Job", "Outcome", "STATUS_GRADED",
           "STATUS_TIMEOUT", "STATUS_KERNEL_DIED", "STATUS_MALFORMED", "STATUS_MISSING", "STATUS_INFRA",
           "STATUS_IGNORED"]
