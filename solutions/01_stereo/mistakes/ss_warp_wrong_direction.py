"""Self-supervised warp in the wrong direction.

Question: q7
Reconstructs the left view from right(x + d): the sign of the lecture's slide, which
writes disparities the other way round, used in this course's convention.
"""


def warp_right_to_left(right, disparity):
    h, w = disparity.shape
    ys, xs = torch.meshgrid(torch.arange(h, device=disparity.device, dtype=disparity.dtype),
                            torch.arange(w, device=disparity.device, dtype=disparity.dtype), indexing="ij")
    gx = 2 * (xs + disparity) / max(w - 1, 1) - 1
    gy = 2 * ys / max(h - 1, 1) - 1
    out = F.grid_sample(right[None, None].to(disparity.dtype), torch.stack([gx, gy], dim=-1)[None],
                        mode="bilinear", padding_mode="border", align_corners=True)
    return out[0, 0]
