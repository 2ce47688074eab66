"""Soft-arg-max normalised over the wrong axis.

Question: q5
Takes the softmax over the image rows (dim 0) instead of over the offsets of each pixel.
"""


def soft_argmax_flow(corr, radius, temperature=1.0):
    p = torch.softmax(corr / temperature, dim=0)
    return p @ _offsets(radius, corr.device, corr.dtype)
