"""k-means runs on the rows of Y as they are, without normalising them to unit length.

Question: q4
Message: Normalise each row of Y to unit length before k-means
Rows of nodes in segments with a large volume are short and bunch near the origin; k-means splits the
long rows of a small segment and merges large segments instead.
"""


def kway_ncut(Y, k, seed=0):
    return KMeans(k, n_init=10, random_state=seed).fit_predict(np.asarray(Y, dtype=np.float64)).astype(np.int64)
