"""The cut sums W over A x B and over B x A: every edge across is counted twice.

Question: q2
Message: each edge is counted twice
The matrix holds each edge as w_pq and w_qp; the cut sums over p in A, q in B only. Every Ncut doubles.
"""


def cut_value(W, labels):
    a = np.asarray(labels, dtype=bool).astype(np.float64)
    return float(a @ (W @ (1 - a)) + (1 - a) @ (W @ a))
