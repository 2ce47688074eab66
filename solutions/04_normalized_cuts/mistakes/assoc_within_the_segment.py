"""assoc(A, V) is computed as assoc(A, A): only the edges inside A are summed, not those from A to every node.

Question: q2
Message: this is the weight inside A only
Shi and Malik's denominator is the total connection from A to all nodes of the graph, the degree volume of A;
summing W over A x A leaves out the very edges the cut counts, so Ncut comes out larger and, for a segment with
no inner edges, divides by 0.
"""


def assoc(W, labels):
    a = np.asarray(labels, dtype=bool).astype(np.float64)
    return float(a @ (W @ a))
