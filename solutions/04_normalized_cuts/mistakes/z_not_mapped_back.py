"""The normalised Laplacian's eigenvectors z are returned as they are, without y = D^-1/2 z.

Question: q3
Message: Did you map back with D^{-1/2}?
The eigenvalues are right, but z is not a solution of (D - W) y = lambda D y: the first "eigenvector" is
sqrt(d) instead of constant, and segments with higher degrees get larger values.
"""


def ncut_eigenvectors(W, k):
    W = sp.csr_array(W, dtype=np.float64)
    d = np.asarray(W.sum(axis=1)).ravel()
    d_inv_sqrt = 1 / np.sqrt(d)
    L = sp.identity(W.shape[0], format="csr") - sp.diags(d_inv_sqrt) @ W @ sp.diags(d_inv_sqrt)
    return smallest_eigenpairs(L, k)
