"""Correlation offsets stored in the transposed order.

Question: q5
Loops over dx in the outer loop and dy in the inner one, so channel k holds offset
(dx, dy) = (k // (2d+1) - d, k % (2d+1) - d) instead of the documented dy-major order.
"""


def correlation_volume(f1, f2, radius):
    c, h, w = f1.shape
    padded = F.pad(f2, (radius, radius, radius, radius))
    out = []
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            shifted = padded[:, radius + dy: radius + dy + h, radius + dx: radius + dx + w]
            out.append((f1 * shifted).sum(dim=0) / c)
    return torch.stack(out, dim=-1)
