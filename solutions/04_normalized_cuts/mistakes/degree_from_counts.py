"""The degrees count each node's edges instead of summing their weights (d_i = number of neighbours).

Question: q3
Message: the degrees count edges instead of summing weights
Also loses: q4 (on a subgraph with a node whose edges all leave it, a count of 0 gives 1 / sqrt(0): its eigenvectors are not finite there, and numbers that are not finite cannot stand in for the reference's; the feedback says so)
D no longer matches W: the constant vector is no longer an eigenvector with eigenvalue 0, and the
eigenvectors follow the pixel count of each neighbourhood (lower near the image's border) as much as
the image.
"""


def ncut_eigenvectors(W, k):
    W = sp.csr_array(W, dtype=np.float64)
    d = np.diff(W.indptr).astype(np.float64)
    d_inv_sqrt = 1 / np.sqrt(d)
    M = sp.diags(d_inv_sqrt) @ W @ sp.diags(d_inv_sqrt)
    L = sp.identity(W.shape[0], format="csr") - M
    dense = L.toarray()
    eigenvalues, Z = scipy.linalg.eigh((dense + dense.T) / 2, subset_by_index=(0, k - 1))
    return eigenvalues, Z * d_inv_sqrt[:, None]
