"""The key affinity thresholds the raw dot product K_i . K_j instead of the cosine similarity.

Question: q5
Message: the keys are not normalised
Long keys are similar to everything and short ones to nothing: the graph follows the keys' lengths,
not their directions.
"""


def key_affinity(keys, tau=0.15, eps=1e-5):
    K = np.asarray(keys, dtype=np.float64)
    return np.where(K @ K.T > tau, 1.0, eps)
