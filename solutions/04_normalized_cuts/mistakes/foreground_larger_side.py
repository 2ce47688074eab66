"""The larger side of the cut is taken as the foreground.

Question: q5
Message: Check that the foreground is the side holding the largest |y|
Objects usually cover fewer patches than the background: the larger side is the background, and
the masks cover everything but the objects.
"""


def maskcut(keys, grid, n_masks=3, tau=0.15):
    keys = np.asarray(keys, dtype=np.float64)
    h, w = grid
    taken = np.zeros(len(keys), dtype=bool)
    masks = []
    for _ in range(n_masks):
        Wk = key_affinity(np.where(taken[:, None], 0.0, keys), tau)
        D = np.diag(Wk.sum(axis=1))
        _, vecs = scipy.linalg.eigh(D - Wk, D, subset_by_index=(1, 1))
        y = vecs[:, 0]
        fg = y > y.mean()
        if fg.sum() < (~fg).sum():
            fg = ~fg
        fg &= ~taken
        masks.append(fg.reshape(h, w))
        taken |= fg
    return np.stack(masks)
