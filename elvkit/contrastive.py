"""Definitions to check a contrastive loss against, written for clarity rather than speed.

:func:`nt_xent_loop` is the lecture's NT-Xent loss (SimCLR, Chen et al. 2020) transcribed term by term with
Python loops in float64: far too slow to train with, but a direct reading of the slide that a vectorised
implementation must agree with, gradient included.
"""

from __future__ import annotations

__all__ = ["nt_xent_loop"]


def nt_xent_loop(z1, z2, tau):
    """The lecture's NT-Xent of two batches of embeddings, with loops, in float64.

    ``l(i, j) = -log exp(sim(z_i, z_j) / tau) / sum_{k != i} exp(sim(z_i, z_k) / tau)`` over the 2N views
    ``z = [z1; z2]``, where view i's positive is j = i + N (mod 2N) and sim is the cosine similarity; the loss is
    the mean over the 2N anchors.

    Parameters
    ----------
    z1, z2 : torch.Tensor, shape (N, D)
        Row i of each is a view of image i.
    tau : float
        The temperature.
    """
    import torch

    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both have shape (N, D); got {tuple(z1.shape)} and {tuple(z2.shape)}")
    z = torch.cat([z1, z2]).double()
    n2 = len(z)
    total = 0.0
    for i in range(n2):
        j = (i + n2 // 2) % n2
        sim = [z[i] @ z[k] / (z[i].norm() * z[k].norm()) for k in range(n2)]
        denominator = sum(torch.exp(sim[k] / tau) for k in range(n2) if k != i)
        total = total - torch.log(torch.exp(sim[j] / tau) / denominator)
    return total / n2
