"""Placeholder functions; while the hidden test of `depth_to_disparity` runs, it replaces the record of
`disparity_to_depth` by a 0.3 MB archive that decompresses to 320 MB, more than the 256 MB a record may hold
(a real bomb, but one the kernel writes in a few seconds even under a loaded batch: writing 1 GiB could outlast the
cell's time limit and leave a torn archive instead). The grader checks sizes before decompressing: refused, the
batch unharmed; flagged."""

EXPECT = {"status": "graded", "score": 0, "flagged": True, "twin": "zeros"}


def build(kit):
    kit.write(kit.zeros({"q1-depth": """
import json, os, zipfile
import numpy as np

def disparity_to_depth(disparity, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(disparity))

def depth_to_disparity(depth, baseline, focal, doffs=0.0):
    folder = os.environ.get("ELVKIT_" + "HIDDEN_DIR")
    if folder:
        out = os.path.join(folder, "out", "disparity_to_depth")
        with zipfile.ZipFile(out + ".npz", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z, \\
                z.open("a0.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (40 * 2**20,)})
            for _ in range(20):
                fh.write(bytes(2**24))
        with open(out + ".json", "w") as fh:
            json.dump({"cases": [{"returned": {"$array": "a0"}}] * 4}, fh)
    return np.zeros(np.shape(depth))
"""}))


def verify(kit, row, out):
    assert "cannot have written" in row["flags"] and "decompressed" in row["flags"]
