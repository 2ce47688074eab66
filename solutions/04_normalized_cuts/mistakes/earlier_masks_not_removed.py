"""Each MaskCut iteration cuts the whole graph again: the patches of earlier masks are not removed.

Question: q5
Message: set the keys of the patches of earlier masks to zero
Every iteration solves the same eigenproblem and returns the same object: n_masks copies of one mask.
"""


def maskcut(keys, grid, n_masks=3, tau=0.15):
    keys = np.asarray(keys, dtype=np.float64)
    h, w = grid
    masks = []
    for _ in range(n_masks):
        Wk = key_affinity(keys, tau)
        D = np.diag(Wk.sum(axis=1))
        _, vecs = scipy.linalg.eigh(D - Wk, D, subset_by_index=(1, 1))
        y = vecs[:, 0]
        fg = y > y.mean()
        if not fg[np.argmax(np.abs(y))]:
            fg = ~fg
        masks.append(fg.reshape(h, w))
    return np.stack(masks)
