"""The notebook file is cut off in the middle of its JSON."""

EXPECT = {"status": "malformed", "score": 0, "flagged": False}


def build(kit):
    kit.folder.mkdir(parents=True)
    (kit.folder / "stereo.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "import nu')
