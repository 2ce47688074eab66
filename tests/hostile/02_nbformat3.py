"""The reference saved by an old Jupyter as nbformat 3: it is upgraded and graded as usual."""

import nbformat

EXPECT = {"status": "graded", "score": 100, "flagged": False}


def build(kit):
    old = nbformat.convert(kit.copy(), 3)
    kit.folder.mkdir(parents=True)
    (kit.folder / "stereo.ipynb").write_text(nbformat.writes(old, version=3))
