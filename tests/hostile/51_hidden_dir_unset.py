"""Placeholder functions; the first solution cell removes ``ELVKIT_HIDDEN_DIR`` from the kernel's environment,
so that ``check`` no longer records but takes the branch an instructor uses by hand (judging at once against
the reference, which the sandbox does not hold): no record reaches the grader, the hidden and end-to-end tests
score nothing, and the missing records are flagged; the placeholder's twin scores no more."""

EXPECT = {"status": "graded", "score": 0, "flagged": True, "twin": "zeros"}


def build(kit):
    kit.write(kit.zeros({"q1-depth": """
import os
import numpy as np

os.environ.pop("ELVKIT_HIDDEN_DIR", None)

def disparity_to_depth(disparity, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(disparity))

def depth_to_disparity(depth, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(depth))
"""}))
