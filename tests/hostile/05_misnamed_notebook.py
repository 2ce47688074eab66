"""The reference under another name (a browser's download copy): found, graded, noted."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    kit.write(kit.ref, "stereo (2).ipynb")
