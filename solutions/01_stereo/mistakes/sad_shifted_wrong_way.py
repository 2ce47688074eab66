"""SAD cost volume shifted the wrong way.

Question: q2
Compares left pixel x with right pixel x + d, as if the right camera were on the left.
"""


def sad_cost(left, right, max_disp, window=5):
    import cv2

    left = np.asarray(left, dtype=np.float32)
    right = np.asarray(right, dtype=np.float32)
    h, w = left.shape
    cost = np.full((max_disp, h, w), float(window * window), dtype=np.float32)
    for d in range(min(max_disp, w)):
        diff = np.abs(left[:, : w - d] - right[:, d:])
        cost[d, :, : w - d] = cv2.boxFilter(diff, -1, (window, window), normalize=False,
                                            borderType=cv2.BORDER_REPLICATE)
    return cost
