"""Spectral tools for graph-based segmentation: the smallest eigenvectors of a normalised Laplacian, and the
feature maps the pixel affinities compare.

:func:`smallest_eigenpairs` finds the ``k`` smallest eigenpairs of a sparse symmetric matrix whose spectrum lies
in ``[0, 2]`` -- the symmetric normalised Laplacian ``I - D^-1/2 W D^-1/2`` of the Normalized Cuts lectures. Both
of its methods work on a whole block of vectors at once, which is what makes them correct for repeated (or nearly
repeated) eigenvalues, such as the several zeros of a graph with several components, where single-vector methods
may return any mix of them or miss one:

* **Chebyshev-filtered subspace iteration** (Zhou & Saad, 2007): the block is multiplied by a polynomial of the
  matrix that is small on the unwanted end of the spectrum and large near 0, then orthonormalised and rotated
  by a Rayleigh-Ritz step. Few, large sparse products: the fastest on small graphs, but on an image's graph the
  number of products grows with the side of the image.
* **LOBPCG** (Knyazev, 2001) preconditioned by an aggregation-multigrid V-cycle (:mod:`elvkit._multigrid`):
  its number of iterations hardly depends on the size of the graph, so its time grows about linearly with the
  number of pixels, and it does not slow down on nearly disconnected graphs.

Products with the matrix run in PyTorch, on every core (and on the GPU).
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_int, check_number
from ._multigrid import VCycle, torch_csr

__all__ = ["smallest_eigenpairs", "filter_responses", "DENSE_BELOW", "MULTIGRID_FROM"]

#: graphs with at most this many nodes are solved densely (LAPACK), exactly
DENSE_BELOW = 600
#: from this many nodes on, ``method="auto"`` takes the multigrid-preconditioned solver (below, the Chebyshev
#: filter's few large products beat the multigrid's set-up and its many small steps; see ``make bench``)
MULTIGRID_FROM = 36_000
#: below that, ``method="auto"`` gives the filter this many steps before it hands its block to the multigrid
AUTO_FILTER_STEPS = 12


def _as_csr(L):
    import scipy.sparse as sp

    if not (sp.issparse(L) or isinstance(L, np.ndarray)):
        raise TypeError(f"L must be a SciPy sparse matrix or a NumPy array; got {type(L).__name__}")
    if L.ndim != 2 or L.shape[0] != L.shape[1]:
        raise ValueError(f"L must be a square matrix (N, N); got shape {L.shape}")
    L = sp.csr_array(L, dtype=np.float64)
    if not np.isfinite(L.data).all():
        raise ValueError("L holds NaN or infinite entries (a node of degree 0 divides by zero in D^-1/2)")
    # symmetric? x.(L y) = y.(L x) for two random vectors: two products instead of forming L - L.T
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, L.shape[0]))
    a, b = float(x @ (L @ y)), float(y @ (L @ x))
    if abs(a - b) > 1e-6 * (abs(a) + abs(b) + np.abs(L.data).sum() / max(L.shape[0], 1)):   # float32 rounding passes
        raise ValueError("L must be symmetric, like the normalised Laplacian I - D^-1/2 W D^-1/2 (x.Ly = "
                         f"{a:.6g} but y.Lx = {b:.6g} for random x, y): is W symmetric, and is D^-1/2 on both sides "
                         "(not D^-1 W)?")
    return L


def _chebyshev(L, X, degree: int, low: float, cut: float, high: float):
    """p(L) X for the degree-``degree`` Chebyshev polynomial that is at most 1 on [cut, high] and grows below
    ``cut``, scaled so that it is about 1 at ``low`` (no overflow, whatever the degree)."""
    e, c = (high - cut) / 2, (high + cut) / 2
    sigma = e / (c - low)
    tau = 2 / sigma
    Y = (L @ X - c * X) * (sigma / e)
    for _ in range(2, degree + 1):
        sigma_new = 1 / (tau - sigma)
        Y, X = (L @ Y - c * Y) * (2 * sigma_new / e) - (sigma * sigma_new) * X, Y
        sigma = sigma_new
    return Y


def _rayleigh_ritz(L, Y):
    import torch

    Q, _ = torch.linalg.qr(Y)
    LQ = L @ Q
    H = Q.T @ LQ
    theta, V = torch.linalg.eigh((H + H.T) / 2)
    return theta, Q @ V, LQ @ V


def _orthonormal(S, X=None):
    """An orthonormal basis of the columns of ``S`` (made orthogonal to the orthonormal ``X`` first), dropping
    directions that are numerically dependent: two passes of Gram-Schmidt against ``X``, then the Gram matrix's
    eigenvectors (a rank-revealing Cholesky-QR)."""
    import torch

    for _ in range(2):
        if X is not None:
            S = S - X @ (X.T @ S)
        if S.shape[1] == 0:
            return S
        G = S.T @ S
        w, V = torch.linalg.eigh((G + G.T) / 2)
        keep = w > 1e-12 * float(w.max().clamp_min(1e-300))
        S = S @ (V[:, keep] / w[keep].sqrt())
    return S


def _lobpcg(L, X, k: int, precondition, tol: float, max_iterations: int):
    """Block LOBPCG (Knyazev 2001) for the ``k`` smallest eigenpairs of the symmetric ``L``: each step
    minimises the Rayleigh quotient over the block, its preconditioned residuals and the previous step's
    directions together (Rayleigh-Ritz). Returns (values, vectors, largest residual, iterations)."""
    import torch

    b = X.shape[1]
    X = _orthonormal(X)
    if X.shape[1] < b:                                    # a start with dependent columns: fill the block up
        gen = torch.Generator().manual_seed(X.shape[1])
        fill = torch.randn(X.shape[0], b - X.shape[1], generator=gen, dtype=X.dtype).to(X.device)
        X = torch.cat([X, _orthonormal(fill, X)], dim=1)
    b = X.shape[1]
    LX = L @ X
    theta, C = torch.linalg.eigh(X.T @ LX)
    X, LX = X @ C, LX @ C
    P = None
    for iteration in range(max_iterations + 1):
        R = LX - X * theta
        res = torch.linalg.vector_norm(R, dim=0)
        if float(res[:k].max()) <= tol:
            LX = L @ X                                    # the products carried along drift: check once afresh
            R = LX - X * theta
            res = torch.linalg.vector_norm(R, dim=0)
            if float(res[:k].max()) <= tol:
                break
        if iteration == max_iterations:
            break
        active = res > tol / 10
        W = precondition(R[:, active])
        del R
        S = _orthonormal(W if P is None else torch.cat([W, P], dim=1), X)
        del W, P
        if S.shape[1] == 0:                               # nothing new to search: as good as it gets
            break
        LS = L @ S
        # Rayleigh-Ritz on [X, S], block by block (no (N, b + m) copies)
        XLS = X.T @ LS
        H = torch.cat([torch.cat([X.T @ LX, XLS], dim=1), torch.cat([XLS.T, S.T @ LS], dim=1)], dim=0)
        values, C = torch.linalg.eigh((H + H.T) / 2)
        Cx, Cs = C[:b, :b], C[b:, :b]
        theta = values[:b]
        P = S @ Cs                                        # the step's part outside the old block
        X = X @ Cx + P
        LX = LX @ Cx + LS @ Cs
        del S, LS
    return theta, X, float(res[:k].max()), iteration


def smallest_eigenpairs(L, k: int, *, tol: float = 1e-6, extra: int | None = None, seed: int = 0, start=None,
                        max_iterations: int = 200, method: str = "auto", degree: int = 24, device=None):
    """The ``k`` smallest eigenvalues and orthonormal eigenvectors of a symmetric matrix with spectrum in [0, 2].

    Graphs of at most :data:`DENSE_BELOW` nodes are solved densely. Otherwise two methods, both working on a
    whole block of vectors at once -- which is what makes them correct for repeated (or nearly repeated)
    eigenvalues, such as the several zeros of a graph with several components, where single-vector methods
    may return any mix of them or miss one:

    * ``"multigrid"``: LOBPCG (Knyazev 2001) preconditioned by an aggregation-multigrid V-cycle
      (:mod:`elvkit._multigrid`). Its number of iterations hardly depends on the graph's size, so its time
      grows about linearly with the number of pixels.
    * ``"chebyshev"``: Chebyshev-filtered subspace iteration (Zhou & Saad 2007), which needs only products
      with ``L``; on image graphs its number of products grows with the side of the image, so its time grows
      like pixels^1.5 -- but on small graphs it is the faster.
    * ``"auto"`` (the default) takes the multigrid from :data:`MULTIGRID_FROM` nodes on; below, the filter,
      which hands its block to the multigrid if it has not converged in :data:`AUTO_FILTER_STEPS` steps (as
      on the nearly disconnected graph of a photograph with a small sigma_I).

    Parameters
    ----------
    L : scipy.sparse matrix or ndarray, shape (N, N)
        Symmetric, eigenvalues in [0, 2]: a symmetric normalised Laplacian ``I - D^-1/2 W D^-1/2``.
    k : int
        How many eigenpairs, 1 <= k < N.
    tol : float
        Stop when every returned pair has ``||L z - lambda z|| <= tol`` (z of unit length).
    extra : int, optional
        How many vectors beyond ``k`` the block carries (the gap to the block's last vector sets the speed);
        4 for the multigrid, 6 for the filter by default.
    seed : int
        Seeds the random start and the aggregation: the same call gives the same vectors.
    start : ndarray, shape (N, m), optional
        Vectors to start from (an interpolated coarse solution, a previous answer); random columns fill the block.
    max_iterations : int
        The most iterations (of LOBPCG, or of filtering) before giving up with an error.
    method : {"auto", "multigrid", "chebyshev"}
    degree : int
        The Chebyshev polynomial's degree per iteration (``method="chebyshev"`` only).
    device : str or torch.device, optional
        Where to compute; the CPU by default.

    Returns
    -------
    eigenvalues : ndarray, shape (k,), ascending
    vectors : ndarray, shape (N, k), orthonormal columns, each with its largest-magnitude entry positive
    """
    import scipy.linalg
    import torch

    L = _as_csr(L)
    n = L.shape[0]
    k = check_int(k, "k", low=1)
    tol = check_number(tol, "tol", low=0, low_open=True)
    max_iterations = check_int(max_iterations, "max_iterations", low=1)
    if k >= n:
        raise ValueError(f"k must be smaller than the number of nodes N = {n}; got k = {k}")
    if method not in ("auto", "multigrid", "chebyshev"):
        raise ValueError(f"method must be 'auto', 'multigrid' or 'chebyshev'; got {method!r}")
    if n <= DENSE_BELOW:
        vals, vecs = scipy.linalg.eigh(L.toarray(), subset_by_index=(0, k - 1))
        return vals, _signed(vecs)
    if method == "auto" and n >= MULTIGRID_FROM:
        method = "multigrid"
    if extra is None:
        extra = 4 if method == "multigrid" else 6
    b = min(n - 1, k + max(int(extra), 1))
    dev = torch.device(device) if device is not None else torch.device("cpu")
    gen = torch.Generator().manual_seed(int(seed))
    X0 = torch.randn(n, b, generator=gen, dtype=torch.float64)
    if start is not None:
        s = np.asarray(start, dtype=np.float64).reshape(n, -1)[:, :b]
        X0[:, :s.shape[1]] = torch.from_numpy(s)

    from threadpoolctl import threadpool_limits

    # NumPy's BLAS threads, left spinning by the set-up's small dense solves, would compete with PyTorch's
    with threadpool_limits(1, user_api="blas"):
        theta, X, worst, iterations = _iterate(L, X0.to(dev), k, b, tol, method, seed, degree, max_iterations, dev)
    if worst > 10 * tol:        # a little slack for rounding; anything more is an answer that is not one
        hint = ("is L the normalised Laplacian I - D^-1/2 W D^-1/2, with eigenvalues in [0, 2]? If it is, raise "
                "max_iterations" + (" or try method='multigrid'" if method == "chebyshev" else ""))
        raise RuntimeError(f"smallest_eigenpairs did not converge to tol = {tol:.0e} in {iterations} iterations "
                           f"(largest residual ||L z - lambda z|| = {worst:.2e}); {hint}")
    return theta[:k].cpu().numpy().astype(np.float64), _signed(X[:, :k].cpu().numpy().astype(np.float64))


def _iterate(L, X0, k, b, tol, method, seed, degree, max_iterations, dev):
    if method == "chebyshev":
        return _chebyshev_iteration(L, X0, k, tol, degree, max_iterations, dev)
    if method == "auto":
        # the filter first: on most small graphs it is done within a few steps; where it is not (the nearly
        # disconnected graphs of a small sigma_I, whose many tiny eigenvalues it separates slowly), its block
        # is a good start for the multigrid
        theta, X, worst, steps = _chebyshev_iteration(L, X0, k, tol, degree, AUTO_FILTER_STEPS, dev)
        if worst <= tol:
            return theta, X, worst, steps
        X0 = X
    import torch

    precondition = VCycle(L, seed=seed, device=dev)
    fine = precondition.fine if precondition.fine is not None else torch_csr(L, torch.float64, dev)
    return _lobpcg(fine, X0.to(torch.float64), k, precondition, tol, max_iterations)


def _chebyshev_iteration(L, X, k, tol, degree, max_iterations, dev):
    """Chebyshev-filtered subspace iteration: float32 does the bulk of the filtering, float64 finishes."""
    import torch

    stages = [(torch.float32, max(tol, 2e-4)), (torch.float64, tol)]
    high, iterations = 2.0, 0
    for dtype, stage_tol in stages:
        Lt = torch_csr(L, dtype, dev)
        X = X.to(dtype)
        theta, X, LX = _rayleigh_ritz(Lt, X)
        best, stalled = math.inf, 0
        while True:
            res = torch.linalg.vector_norm(LX[:, :k] - X[:, :k] * theta[:k], dim=0)
            worst = float(res.max())
            if worst <= stage_tol or iterations >= max_iterations:
                break
            # float32 cannot resolve eigenvalues that the filter has made 1e7 times smaller than the first ones:
            # when the residual stops falling, go on in float64
            stalled = 0 if worst < 0.7 * best else stalled + 1
            best = min(best, worst)
            if stalled >= 4 and dtype == torch.float32:
                break
            cut = float(theta[-1])
            if not cut < high:   # the block spans the whole spectrum: nothing left to damp
                break
            X = _chebyshev(Lt, X, degree, max(float(theta[0]), 0.0) - 1e-3, cut, high)
            theta, X, LX = _rayleigh_ritz(Lt, X)
            iterations += 1
    return theta, X, float(res.max()), iterations


def _signed(vecs: np.ndarray) -> np.ndarray:
    """Each column multiplied by the sign of its largest-magnitude entry (eigenvectors have no sign of their own;
    this makes a result reproducible)."""
    idx = np.abs(vecs).argmax(axis=0)
    signs = np.sign(vecs[idx, np.arange(vecs.shape[1])])
    signs[signs == 0] = 1
    return vecs * signs


def filter_responses(image, *, orientations: int = 4, scales=(1.0, 2.0), smooth: float = 1.0) -> np.ndarray:
    """Oriented filter-bank features of a grey image: the **energy** (squared response, then smoothed) of
    second-derivative-of-Gaussian filters at ``orientations`` angles and each scale, as in Shi and Malik's
    texture affinities (Malik et al. 2001).

    Parameters
    ----------
    image : array_like, shape (H, W)
    orientations : int
        Angles 0, pi/K, ..., (K-1) pi/K.
    scales : sequence of float
        The Gaussians' standard deviations, in pixels.
    smooth : float
        How much each energy map is smoothed afterwards (in units of its scale), so that a stripe pattern gives
        a steady response rather than its own stripes.

    Returns
    -------
    ndarray, shape (H, W, orientations * len(scales)), float32, each channel scaled to a maximum of 1
    """
    import cv2

    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"image must be a grey image (H, W); got shape {img.shape}")
    orientations = check_int(orientations, "orientations", low=1)
    out = []
    for s in scales:
        r = int(math.ceil(3 * s))
        t = np.arange(-r, r + 1, dtype=np.float32)
        yy, xx = np.meshgrid(t, t, indexing="ij")
        for o in range(orientations):
            a = math.pi * o / orientations
            u = xx * math.cos(a) + yy * math.sin(a)          # across the filter's stripes
            v = -xx * math.sin(a) + yy * math.cos(a)
            g = np.exp(-(u ** 2 + v ** 2) / (2 * s ** 2))
            kernel = (u ** 2 / s ** 4 - 1 / s ** 2) * g
            kernel -= kernel.mean()
            response = cv2.filter2D(img, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT)
            energy = cv2.GaussianBlur(response ** 2, (0, 0), smooth * s * 2, borderType=cv2.BORDER_REFLECT)
            out.append(energy)
    stack = np.stack(out, axis=-1)
    return (stack / np.maximum(stack.max(axis=(0, 1), keepdims=True), 1e-12)).astype(np.float32)
