"""The reference saved as `upper_case_extension.IPYNB`: graded, not skipped."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    kit.write_entry('upper_case_extension.IPYNB')
