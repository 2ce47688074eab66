"""Aggregation multigrid for graph Laplacians, used by :func:`elvkit.spectral.smallest_eigenpairs` as the
preconditioner of its block eigensolver.

A **V-cycle** approximately solves ``L x = b``: a Chebyshev (by default a damped Jacobi) smoothing step
removes the error that varies from node to node; the rest -- smooth over the graph -- is restricted to a coarse
graph whose nodes are *aggregates* of strongly connected fine nodes, solved there (recursively, exactly on the
coarsest graph), and interpolated back (Vaněk, Mandel & Brezina 1996, smoothed aggregation). Its cost is a
fixed number of sparse products per level, and the levels shrink geometrically, so one V-cycle costs a constant
times one product with ``L`` -- that is what keeps the eigensolver's time near linear in the number of pixels.

Aggregates follow the graph's strong edges only, so they never straddle a weak boundary between two segments:
the coarse graphs keep the segments apart, and the eigenvectors that tell segments apart survive coarsening.
"""

from __future__ import annotations

import numpy as np

#: the coarsest graph is solved exactly (a dense pseudo-inverse) once it has at most this many nodes
COARSEST = 400
#: an edge is strong when its weight is at least this fraction of the largest weight in its row
STRENGTH = 0.08


def strength_graph(A, theta: float = STRENGTH):
    """The graph of ``A``'s strong couplings, as CSR arrays (indptr, indices, weights >= 0): the off-diagonal
    entries of the "attracting" sign (negative, as in a Laplacian) whose size is at least ``theta`` times the
    largest in the row of either end. ``A`` symmetric makes the graph symmetric."""
    n = A.shape[0]
    indptr, indices = A.indptr, A.indices
    counts = np.diff(indptr)
    rows = np.repeat(np.arange(n, dtype=indices.dtype), counts)
    w = np.negative(A.data, dtype=np.float32)
    w[indices == rows] = 0
    np.maximum(w, 0, out=w)
    rowmax = np.zeros(n, np.float32)
    nonempty = counts > 0
    rowmax[nonempty] = np.maximum.reduceat(w, indptr[:-1][nonempty])
    limit = np.float32(theta) * rowmax
    keep = w >= np.minimum(limit[rows], limit[indices])
    keep &= w > 0
    per_row = np.zeros(n, np.int64)
    per_row[nonempty] = np.add.reduceat(keep, indptr[:-1][nonempty], dtype=np.int64)
    return np.concatenate([[0], np.cumsum(per_row)]), indices[keep], w[keep], rows[keep]


def aggregate(S, rng) -> tuple[np.ndarray, int]:
    """Aggregates of the strength graph ``S`` (from :func:`strength_graph`): a maximal independent set of roots
    (Luby's rounds with random priorities), each other node joined to the root it is most strongly connected
    to. Nodes with no edge at all belong to no aggregate (-1): their row of a Laplacian is its diagonal, which
    the smoother inverts. Returns (aggregate of each node, number of aggregates). Every step is vectorised; each
    round works only on the edges between nodes still undecided."""
    indptr, indices, data, rows = S
    n = len(indptr) - 1
    linked = np.diff(indptr) > 0
    priority = rng.permutation(n).astype(np.int32)
    candidate, root = linked.copy(), np.zeros(n, bool)
    r, c, starts = rows, indices, indptr[:-1][linked]        # the edges between candidates, sorted by row
    while candidate.any():
        best = np.full(n, -1, np.int32)
        if len(r):
            best[r[starts]] = np.maximum.reduceat(priority[c], starts)
        new = candidate & (priority > best)
        root |= new
        covered = np.zeros(n, bool)
        covered[r[new[c]]] = True                           # a candidate next to a new root
        candidate &= ~(new | covered)
        both = np.flatnonzero(candidate[r] & candidate[c])
        r, c = r[both], c[both]
        starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]]) if len(r) else r
    # each non-root node joins its strongest root neighbour
    to_root = data * root[indices]
    best = np.zeros(n, np.float32)
    best[linked] = np.maximum.reduceat(to_root, indptr[:-1][linked])
    hit = np.flatnonzero((to_root == best[rows]) & (to_root > 0))
    first = hit[np.r_[True, rows[hit][1:] != rows[hit][:-1]]] if len(hit) else hit
    label = np.full(n, -1, np.int64)
    root_ids = np.cumsum(root) - 1
    label[rows[first]] = root_ids[indices[first]]
    label[root] = root_ids[root]
    return label, int(root.sum())


def torch_csr(M, dtype, device):
    """The SciPy CSR matrix ``M`` as a PyTorch one, sharing its arrays where dtypes and device allow; 32-bit
    indices where they suffice (half the memory traffic: products twice as fast)."""
    import warnings

    import torch

    kind = np.int32 if M.nnz < 2 ** 31 - 1 else np.int64
    with warnings.catch_warnings():          # PyTorch calls its sparse CSR support "beta" on every construction
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.from_numpy(M.indptr.astype(kind, copy=False)),
                                       torch.from_numpy(M.indices.astype(kind, copy=False)),
                                       torch.from_numpy(M.data).to(dtype), size=M.shape, device=device,
                                       check_invariants=False)


def _largest_eigenvalue(A, dinv, gershgorin: float, rng, steps: int = 16) -> float:
    """An upper estimate of the largest eigenvalue of ``D^-1 A`` (``A`` a PyTorch sparse matrix): ``steps``
    Lanczos steps on ``D^-1/2 A D^-1/2``, 10 % above their largest Ritz value (which approaches it from below,
    fast), and never above Gershgorin's bound."""
    import torch

    s = dinv.sqrt()
    q = torch.as_tensor(rng.normal(size=A.shape[0]), dtype=A.dtype, device=A.device)
    q /= torch.linalg.vector_norm(q)
    q_prev, beta, alphas, betas = torch.zeros_like(q), 0.0, [], []
    for _ in range(min(steps, A.shape[0])):
        v = s * torch.mv(A, s * q) - beta * q_prev
        alpha = float(q @ v)
        v -= alpha * q
        beta = float(torch.linalg.vector_norm(v))
        alphas.append(alpha)
        if beta < 1e-12:
            break
        betas.append(beta)
        q_prev, q = q, v / beta
    m = len(alphas)
    ritz = np.linalg.eigvalsh(np.diag(alphas) + np.diag(betas[:m - 1], 1) + np.diag(betas[:m - 1], -1))[-1]
    return min(1.1 * float(ritz), gershgorin)


class VCycle:
    """``x = T b``, a symmetric positive (semi-)definite approximation of the pseudo-inverse of ``A``, built once
    (on the CPU, with SciPy) and applied to blocks of vectors with PyTorch on ``device`` in ``dtype``.

    Parameters
    ----------
    A : scipy.sparse matrix, (N, N)
        Symmetric positive semi-definite, Laplacian-like (non-positive off-diagonal entries mostly).
    near_null : ndarray, (N,), optional
        A vector close to ``A``'s lowest eigenvector; the interpolation reproduces it exactly on every aggregate.
        By default the square roots of the off-diagonal row sums: ``D^1/2 1`` for a normalised Laplacian.
    """

    def __init__(self, A, near_null=None, *, degree: int = 1, seed: int = 0, device=None, dtype=None):
        import scipy.sparse as sp
        import torch

        self.degree = int(degree)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.dtype = dtype or torch.float32
        rng = np.random.default_rng(seed)
        self.levels = []
        A = sp.csr_array(A, dtype=np.float64)
        B = None if near_null is None else np.asarray(near_null, dtype=np.float64)
        self.fine = None                                  # A itself in float64, for the eigensolver's products
        while A.shape[0] > COARSEST:
            n = A.shape[0]
            label, nc = aggregate(strength_graph(A), rng)     # first: its scratch arrays are gone before the copies
            if self.fine is None:
                self.fine = self._torch(A, torch.float64)
            if nc == 0 or nc > 0.7 * np.count_nonzero(label >= 0):       # nothing left to coarsen
                break
            diag = A.diagonal()
            dinv = np.where(diag > 0, 1 / np.where(diag > 0, diag, 1), 0.0)
            At = self._torch(A)
            absolute = np.zeros(n)
            nonempty = np.diff(A.indptr) > 0
            absolute[nonempty] = np.add.reduceat(np.abs(A.data), A.indptr[:-1][nonempty])
            if B is None:           # a normalised Laplacian's null vector is D^1/2 1: its off-diagonal row sums
                B = np.sqrt(np.maximum(absolute - np.abs(diag), 1e-300))
            hi = _largest_eigenvalue(At, self._vec(dinv)[:, 0], float(np.max(dinv * absolute)), rng)
            # tentative interpolation: B restricted to each aggregate, unit length; then one Jacobi smoothing step
            inside = np.flatnonzero(label >= 0)
            norms = np.sqrt(np.bincount(label[inside], weights=B[inside] ** 2, minlength=nc))
            norms[norms == 0] = 1.0
            T = sp.csr_array((B[inside] / norms[label[inside]], (inside, label[inside])), shape=(n, nc))
            P = (T - sp.diags(dinv * (4 / 3 / hi)) @ (A @ T)).tocsr()
            P.eliminate_zeros()
            self.levels.append((At, self._vec(dinv), hi, self._torch(P), self._torch(P.T.tocsr())))
            A = (P.T @ (A @ P)).tocsr()
            A = ((A + A.T) / 2).tocsr()
            B = norms
        self.sizes = [lv[0].shape[0] for lv in self.levels] + [A.shape[0]]
        self.exact = A.shape[0] <= 4 * COARSEST
        if self.exact:
            dense = A.toarray()
            w, V = np.linalg.eigh((dense + dense.T) / 2)
            keep = w > 1e-12 * max(abs(w).max(), 1e-300)
            self.coarsest = torch.as_tensor((V[:, keep] / w[keep]) @ V[:, keep].T, dtype=self.dtype,
                                            device=self.device)
        else:                   # a graph that will not coarsen (no strong edges): Jacobi on what is left
            diag = A.diagonal()
            self.coarsest = self._vec(np.where(diag > 0, 1 / np.where(diag > 0, diag, 1), 0.0))

    def _torch(self, M, dtype=None):
        return torch_csr(M, dtype or self.dtype, self.device)

    def _vec(self, v):
        import torch

        return torch.as_tensor(v, dtype=self.dtype, device=self.device)[:, None]

    def _smooth(self, A, dinv, hi, b, x):
        """``degree`` Chebyshev steps on ``D^-1 A x = D^-1 b``, damping the eigenvalues in [hi/30, hi]."""
        lo = hi / 30
        theta, delta = (hi + lo) / 2, (hi - lo) / 2
        sigma = theta / delta
        rho = 1 / sigma
        r = dinv * (b if x is None else b - A @ x)
        d = r / theta
        x = d if x is None else x + d
        for _ in range(self.degree - 1):
            r = r - dinv * (A @ d)
            rho_new = 1 / (2 * sigma - rho)
            d = (rho_new * rho) * d + (2 * rho_new / delta) * r
            rho = rho_new
            x = x + d
        return x

    def _cycle(self, i, b):
        if i == len(self.levels):
            return self.coarsest @ b if self.exact else self.coarsest * b
        A, dinv, hi, P, R = self.levels[i]
        x = self._smooth(A, dinv, hi, b, None)
        x = x + P @ self._cycle(i + 1, R @ (b - A @ x))
        return self._smooth(A, dinv, hi, b, x)

    def __call__(self, b):
        return self._cycle(0, b.to(self.dtype)).to(b.dtype)
