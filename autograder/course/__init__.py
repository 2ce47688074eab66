"""The course: its assignments (one folder each under ``solutions/``), their notebooks, the student
release, the demo class and the scaffold of a new assignment. Nothing here runs a student's code."""

from .assignments import Assignment, assignments, get_assignment, kernel_files, rescan, root

__all__ = ["Assignment", "assignments", "get_assignment", "kernel_files", "rescan", "root"]
