"""Backward warping in the wrong direction.

Question: q4
Samples the second image at x - flow instead of x + flow, so every refinement pushes the flow away
from the truth.
"""


def warp_image(image, flow):
    img = np.asarray(image, dtype=np.float32)
    h, w = img.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    X = np.clip(x - flow[..., 0], 0, w - 1)
    Y = np.clip(y - flow[..., 1], 0, h - 1)
    x0 = np.minimum(np.floor(X).astype(np.int64), max(w - 2, 0))
    y0 = np.minimum(np.floor(Y).astype(np.int64), max(h - 2, 0))
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    ax, ay = X - x0, Y - y0
    if img.ndim == 3:
        ax, ay = ax[..., None], ay[..., None]
    top = img[y0, x0] * (1 - ax) + img[y0, x1] * ax
    bottom = img[y1, x0] * (1 - ax) + img[y1, x1] * ax
    return (top * (1 - ay) + bottom * ay).astype(np.float32)
