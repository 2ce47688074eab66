"""The eigenvectors of the largest eigenvalues are returned (eigsh's default, which="LM").

Question: q3
Message: these are the largest eigenvalues
The largest eigenvalues of the normalised Laplacian (near 2) belong to vectors that alternate in sign
between neighbours: they maximise the cut instead of minimising it.
"""


def ncut_eigenvectors(W, k):
    W = sp.csr_array(W, dtype=np.float64)
    d = np.asarray(W.sum(axis=1)).ravel()
    d_inv_sqrt = 1 / np.sqrt(d)
    L = sp.identity(W.shape[0], format="csr") - sp.diags(d_inv_sqrt) @ W @ sp.diags(d_inv_sqrt)
    dense = L.toarray()
    n = len(d)
    eigenvalues, Z = scipy.linalg.eigh((dense + dense.T) / 2, subset_by_index=(n - k, n - 1))
    return eigenvalues[::-1], Z[:, ::-1] * d_inv_sqrt[:, None]
