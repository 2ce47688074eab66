"""Disparity smoothness without the edge weight.

Question: q7
Penalises every disparity change equally, so depth edges are smoothed over as much as
texture: the image's gradient never enters.
"""


def disparity_smoothness(disparity, image, edge_weight=10.0):
    ddx = (disparity[:, 1:] - disparity[:, :-1]).abs()
    ddy = (disparity[1:] - disparity[:-1]).abs()
    return ddx.mean() + ddy.mean()
