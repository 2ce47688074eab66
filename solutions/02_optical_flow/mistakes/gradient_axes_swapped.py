"""x and y confused in the spatial gradients.

Question: q2
Differentiates along the rows (axis 0) for I_x and along the columns for I_y.
"""


def image_gradients(I1, I2):
    I1 = np.asarray(I1, dtype=np.float32)
    I2 = np.asarray(I2, dtype=np.float32)
    p = np.pad(0.5 * (I1 + I2), 1, mode="edge")
    Ix = 0.5 * (p[2:, 1:-1] - p[:-2, 1:-1])
    Iy = 0.5 * (p[1:-1, 2:] - p[1:-1, :-2])
    return Ix, Iy, I2 - I1
