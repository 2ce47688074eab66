"""Left-right consistency loss read at the wrong place.

Question: q7
Compares the left disparity with the right disparity at the same column x instead of
where the left pixel lands, x - d_left.
"""


def lr_consistency_loss(disp_left, disp_right):
    return (disp_left - disp_right).abs().mean()
