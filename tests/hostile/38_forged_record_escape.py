"""Placeholder functions; while the hidden test of `depth_to_disparity` runs, it overwrites the record of
`disparity_to_depth` with a forged one whose values name a function that writes files
(`elvkit.data.formats:write_flo`), aimed at the grader's results folder and its temporary folder. The
grader rebuilds only plain values: the record is refused, nothing is written; flagged."""

import tempfile
from pathlib import Path

EXPECT = {"status": "graded", "score": 0, "flagged": True, "twin": "zeros"}


def _targets(kit):
    return [kit.results / "escaped-from-the-sandbox.flo", Path(tempfile.gettempdir()) / "elv-escaped-38.flo"]


def build(kit):
    targets = [str(t) for t in _targets(kit)]
    kit.write(kit.zeros({"q1-depth": f"""
import json, os
import numpy as np

def disparity_to_depth(disparity, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(disparity))

def depth_to_disparity(depth, baseline, focal, doffs=0.0):
    folder = os.environ.get("ELVKIT_" + "HIDDEN_DIR")
    if folder:
        flow = {{"$array": "a0"}}
        cases = [{{"returned": {{"$dataclass": "elvkit.data.formats:write_flo",
                                "fields": {{"path": path, "flow": flow}}}}}} for path in {targets!r}]
        cases += [{{"returned": {{"$dataclass": "elvkit.data.formats:write_flo", "fields": {{"path": {targets[0]!r}}}}}}}] * 2
        with open(os.path.join(folder, "out", "disparity_to_depth.json"), "w") as fh:
            json.dump({{"cases": cases}}, fh)
        np.savez(os.path.join(folder, "out", "disparity_to_depth.npz"), a0=np.zeros((4, 5, 2), np.float32))
    return np.zeros(np.shape(depth))
"""}))


def verify(kit, row, out):
    assert "cannot have written" in row["flags"]
    for target in _targets(kit):
        assert not target.exists(), f"the grader wrote {target}"
