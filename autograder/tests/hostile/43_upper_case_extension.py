"""The reference saved as `upper_case_extension.IPYNB`: graded, not skipped."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    kit.submissions.mkdir(parents=True, exist_ok=True)
    (kit.submissions / "upper_case_extension.IPYNB").write_text(__import__("nbformat").writes(kit.ref),
                                                                   encoding="utf-8")
