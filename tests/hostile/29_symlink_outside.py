"""The submission is a symbolic link to a file of the grader's (the solution script): not followed."""

EXPECT = {"status": "malformed", "score": 0, "flagged": False}


def build(kit):
    kit.folder.mkdir(parents=True)
    (kit.folder / "stereo.ipynb").symlink_to(kit.solution)
