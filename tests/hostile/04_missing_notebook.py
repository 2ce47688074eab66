"""The student's folder holds no notebook at all."""

EXPECT = {"status": "missing", "score": 0, "flagged": False}


def build(kit):
    kit.folder.mkdir(parents=True)
    (kit.folder / "answers.txt").write_text("I did it on paper")
