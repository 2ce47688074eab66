"""Bytes that are not UTF-8 in the notebook file."""

EXPECT = {"status": "malformed", "score": 0, "flagged": False}


def build(kit):
    kit.folder.mkdir(parents=True)
    (kit.folder / "stereo.ipynb").write_bytes(b'{"cells": [], "metadata": {"note": "\xff\xfe caf\xe9"}}')
