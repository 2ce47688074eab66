"""Placeholder functions; while the hidden test of `depth_to_disparity` runs, it overwrites the record of
`disparity_to_depth` with sparse matrices whose records are well formed but whose shape is 1 x 2^31 - 1 and
8 x 10^6 x 10^6, with no entries: a grader that made them dense would ask for exabytes. The grader keeps them
sparse and judges them as a wrong shape: the batch goes on, the submission scores 0 like its all-zeros version.
Not flagged: a well-formed record written from the student's own process cannot be told from the recorder's
(nothing in that process is secret); what protects the grade is that the grader only rebuilds plain values."""

EXPECT = {"status": "graded", "score": 0, "flagged": False}


def build(kit):
    kit.write(kit.zeros({"q1-depth": """
import json, os
import numpy as np

def disparity_to_depth(disparity, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(disparity))

def depth_to_disparity(depth, baseline, focal, doffs=0.0):
    folder = os.environ.get("ELVKIT_" + "HIDDEN_DIR")
    if folder:
        wide = {"$sparse": ["a0", "a1", "a2"], "shape": [1, 2**31 - 1], "format": "csr_matrix"}
        tall = {"$sparse": ["a0", "a1", "a3"], "shape": [8_000_000, 1_000_000], "format": "csr_array"}
        cases = [{"returned": wide}, {"returned": tall}] * 3
        with open(os.path.join(folder, "out", "disparity_to_depth.json"), "w") as fh:
            json.dump({"cases": cases}, fh)
        np.savez(os.path.join(folder, "out", "disparity_to_depth.npz"), a0=np.zeros(0), a1=np.zeros(0, np.int32),
                 a2=np.zeros(2, np.int64), a3=np.zeros(8_000_001, np.int32))
    return np.zeros(np.shape(depth))
"""}))

