"""Test material of the grader that ships with it (never visible to a student's kernel)."""
