"""The strongest attack on a visible test: a placeholder `winner_take_all`, the test helpers changed in
place so that the kernel's test passes, the recorder's writing switched off, and a forged record of the
test's calls holding the right answers. A record claims what a function returned on public inputs: it earns
what a function returning those answers would (its twin, `hardcoded_visible`), never more; flagged."""

EXPECT = {"status": "graded", "score": 2, "flagged": True, "twin": "hardcoded_visible"}


def build(kit):
    kit.write(kit.zeros({"q3-wta": """
import json, os, sys
import numpy as np

_t = sys.modules["elvkit.testing"]
for _name in ("assert_close", "assert_shape"):
    getattr(_t, _name).__code__ = (lambda *a, **k: None).__code__
_recorder = sys.modules["autograder.kernel_side.capture"]._CellRecorder
_recorder._write = lambda self: None
_calls = []

def winner_take_all(cost):
    c = np.asarray(cost)
    answer = np.array([[1, 2]]) if c.shape == (3, 1, 2) else np.zeros(c.shape[1:], dtype=np.int64)
    _calls.append((c, answer))
    folder = os.environ.get("ELVKIT_HIDDEN_DIR")
    if folder and len(_calls) == 2:
        arrays, calls = {}, []
        for arg, result in _calls:
            arrays[f"a{len(arrays)}"] = arg
            arrays[f"a{len(arrays)}"] = result
            calls.append({"name": "winner_take_all", "args": [{"$array": f"a{len(arrays) - 2}"}], "kwargs": {},
                          "returned": {"$array": f"a{len(arrays) - 1}"}})
        base = os.path.join(folder, "out", "cells", "q3-wta-visible")
        np.savez(base + ".npz", **arrays)
        with open(base + ".json", "w") as fh:
            json.dump({"cell": "q3-wta-visible", "calls": calls}, fh)
    return np.zeros(c.shape[1:], dtype=np.int64)

def refine_subpixel(cost, disparity):
    return np.zeros(np.shape(disparity), dtype=np.float32)
"""}))
