"""A valid notebook with no cells at all: refused with a message that says what to hand in."""

import nbformat

EXPECT = {"status": "malformed", "score": 0, "flagged": False}


def build(kit):
    kit.write(nbformat.v4.new_notebook())
