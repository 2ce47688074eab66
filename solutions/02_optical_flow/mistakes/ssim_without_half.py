"""SSIM term without the /2.

Question: q6
Uses alpha (1 - SSIM) + (1 - alpha) |I - I~|: the SSIM term ranges over [0, 2] and outweighs L1.
"""


def photometric_loss(I, I_warped, mask=None, alpha=0.85):
    error = alpha * (1 - ssim(I, I_warped)) + (1 - alpha) * (I - I_warped).abs()
    if mask is None:
        return error.mean()
    m = mask.to(error.dtype)
    return (error * m).sum() / m.sum().clamp_min(1.0)
