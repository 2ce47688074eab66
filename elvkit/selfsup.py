"""Self-supervised stereo without a network: a disparity map optimised by gradient descent on the
lecture's losses (Monodepth's appearance, smoothness and left-right terms), coarse to fine.

The losses themselves are the student's (the stereo notebook's Part 7); this module holds only the
loop that combines them, so that the notebook and its grader run the same optimisation.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._checks import check_int, check_number, describe

__all__ = ["optimise_disparity", "flip"]


def flip(t):
    """Mirror a tensor left to right (its last axis). In a mirrored stereo pair the right camera becomes the
    left one, so one function that reconstructs the left view also reconstructs the right view."""
    import torch

    return torch.flip(t, dims=[-1])


def optimise_disparity(left, right, max_disp: int, *, warp: Callable, appearance: Callable, smoothness: Callable,
                       lr_consistency: Callable, steps: int = 400, levels: int = 5, lr: float = 0.5,
                       smooth: float = 0.1, lr_weight: float = 0.1, progress: bool = False):
    """Estimate the left and right disparity maps of a rectified pair by minimising, coarse to fine,

    ``C = C_ap(I_l, warp(I_r, d_l)) + C_ap(I_r, warp'(I_l, d_r)) + smooth (C_ds(d_l, I_l) + C_ds(d_r, I_r))
    + lr_weight (C_lr(d_l, d_r) + C_lr(d_r', d_l'))``,

    where ``warp'`` and the primed maps are the mirrored pair's (the right view is the left view of the pair
    flipped left to right). The maps start at a constant guess, ``max_disp / 4`` at full size, on a pyramid of
    ``levels`` (each level halves the image with ``avg_pool2d`` and the disparities with it); ``steps // levels``
    Adam steps run per level, and the maps stay within ``[0, max_disp]`` (scaled to the level).

    Parameters
    ----------
    left, right : torch.Tensor, shape (H, W)
        Gray images in [0, 1], on the device to work on.
    max_disp : int
        The largest disparity of the pair, in pixels.
    warp, appearance, smoothness, lr_consistency : callables
        ``warp(right, d)`` reconstructs the left view; ``appearance(I, I_rec)``, ``smoothness(d, I)`` and
        ``lr_consistency(d_left, d_right)`` are the three losses, each a scalar tensor.

    Returns
    -------
    disparity : torch.Tensor, shape (H, W)
        The left view's disparity, detached.
    losses : list of float
        The total loss at every step.
    """
    import torch
    import torch.nn.functional as F
    from tqdm.auto import tqdm

    for name, value in (("left", left), ("right", right)):
        if not torch.is_tensor(value) or value.dim() != 2:
            raise TypeError(f"`{name}` must be a 2-D torch tensor (H, W); got {describe(value)}.")
    if left.shape != right.shape:
        raise ValueError(f"`left` and `right` must have the same shape; got {tuple(left.shape)} and "
                         f"{tuple(right.shape)}.")
    max_disp = check_int(max_disp, "max_disp", low=1)
    steps = check_int(steps, "steps", low=1)
    levels = check_int(levels, "levels", low=1, high=int(np.log2(max(2, min(left.shape)))) + 1)
    for value, name in ((lr, "lr"), (smooth, "smooth"), (lr_weight, "lr_weight")):
        check_number(value, name, low=0)

    pyramid_l, pyramid_r = [left], [right]
    for _ in range(levels - 1):                 # both views halved together (2 x 2 means, odd sizes rounded up)
        both = F.avg_pool2d(torch.stack([pyramid_l[-1], pyramid_r[-1]])[:, None], 2, ceil_mode=True)[:, 0]
        pyramid_l.append(both[0])
        pyramid_r.append(both[1])
    guess = max_disp / 4 / 2 ** (levels - 1)
    d_l = torch.full(pyramid_l[-1].shape, guess, dtype=left.dtype, device=left.device)
    d_r = d_l.clone()
    losses = []
    bar = tqdm(total=(steps // levels) * levels, desc="optimising the disparity", disable=not progress)
    try:
        d_l = _descend(pyramid_l, pyramid_r, d_l, d_r, levels, steps, lr, smooth, lr_weight, max_disp, warp,
                       appearance, smoothness, lr_consistency, losses, bar)
    finally:
        bar.close()
    return d_l, losses


def _descend(pyramid_l, pyramid_r, d_l, d_r, levels, steps, lr, smooth, lr_weight, max_disp, warp, appearance,
             smoothness, lr_consistency, losses, bar):
    """The coarse-to-fine descent of :func:`optimise_disparity`; returns the left map (``losses`` filled in)."""
    import torch
    import torch.nn.functional as F

    for level in range(levels - 1, -1, -1):
        L, R = pyramid_l[level], pyramid_r[level]
        if d_l.shape != L.shape:                       # to the finer level: twice the size, twice the disparity
            d_l, d_r = (2 * F.interpolate(d[None, None], size=tuple(L.shape), mode="bilinear",
                                          align_corners=False)[0, 0] for d in (d_l, d_r))
        d_l, d_r = d_l.clone().requires_grad_(True), d_r.clone().requires_grad_(True)
        opt = torch.optim.Adam([d_l, d_r], lr=lr)
        for _ in range(steps // levels):
            rec_l = warp(R, d_l)
            rec_r = flip(warp(flip(L), flip(d_r)))
            loss = (appearance(L, rec_l) + appearance(R, rec_r)
                    + smooth * (smoothness(d_l, L) + smoothness(d_r, R))
                    + lr_weight * (lr_consistency(d_l, d_r) + lr_consistency(flip(d_r), flip(d_l))))
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                top = max_disp / 2 ** level
                d_l.clamp_(0, top)
                d_r.clamp_(0, top)
            losses.append(float(loss.item()))
            bar.update()
        d_l, d_r = d_l.detach(), d_r.detach()
    return d_l
