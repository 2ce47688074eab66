"""k-way: the columns of Y are normalised to unit length instead of its rows (axis=0 for axis=1).

Question: q4
Message: Normalise each row of Y to unit length before k-means
Each node is a row of Y, a point of R^m; Ng, Jordan and Weiss put every point on the unit sphere before k-means.
Scaling each eigenvector (a column) to unit length changes nothing about the points' lengths, so the rows of large
segments stay short and bunch together near the origin.
"""


def kway_ncut(Y, k, seed=0):
    Y = np.asarray(Y, dtype=np.float64)
    columns = Y / np.maximum(np.linalg.norm(Y, axis=0, keepdims=True), 1e-12)
    return KMeans(k, n_init=10, random_state=seed).fit_predict(columns).astype(np.int64)
