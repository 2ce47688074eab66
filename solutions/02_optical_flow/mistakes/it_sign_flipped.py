"""I_t with the wrong sign.

Question: q2
Takes the temporal derivative as I1 - I2 (earlier minus later), so every flow points backwards.
"""


def image_gradients(I1, I2):
    I1 = np.asarray(I1, dtype=np.float32)
    I2 = np.asarray(I2, dtype=np.float32)
    p = np.pad(0.5 * (I1 + I2), 1, mode="edge")
    Ix = 0.5 * (p[1:-1, 2:] - p[1:-1, :-2])
    Iy = 0.5 * (p[2:, 1:-1] - p[:-2, 1:-1])
    return Ix, Iy, I1 - I2
