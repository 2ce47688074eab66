"""A 100 MB image displayed: the output is dropped (with a note) instead of filling the notebook."""

EXPECT = {"status": "graded", "score": 100, "flagged": False}

HUGE = """
import numpy as np
from IPython.display import Image, display
payload = b"\\x89PNG\\r\\n\\x1a\\n" + np.random.default_rng(0).integers(0, 255, 100 * 2**20, dtype=np.uint8).tobytes()
display(Image(data=payload, format="png"))
"""


def build(kit):
    kit.write(kit.appended(HUGE))


def verify(kit, row, out):
    assert (out / "autograded" / row["student"] / "stereo.ipynb").stat().st_size < 20 * 2**20
