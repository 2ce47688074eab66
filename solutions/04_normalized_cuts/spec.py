"""Hidden-test inputs and comparison rules of assignment 04 (Normalized Cuts and MaskCut).

Every case is made from the student's secret seed; every answer is judged here, in the grader's process.

* ``neighbour_offsets`` is compared as a set of rows (the order is the student's).
* ``affinity`` must return a SciPy sparse matrix (a dense N x N array is refused: it would not fit in memory for
  an image); its weights are compared entry by entry with the reference's, both made dense on these small images.
* ``graph_values`` checks ``(cut_value, assoc, ncut_value)`` together on random weighted graphs, one case with an
  empty side (Ncut must be inf).
* ``ncut_eigenvectors`` is judged by what makes an answer right, not by the reference's vectors, which are
  defined only up to sign and, for repeated eigenvalues, up to a rotation: the eigenvalues must equal the
  reference's (the k smallest), the columns must be D-orthonormal (``Y.T D Y = I``) and each column must solve
  ``(D - W) y = lambda D y`` (residual measured on ``z = D^1/2 y``). One case has three components (the
  eigenvalue 0 three times), where a solver that iterates on one vector may return a mix or miss one; one case
  has more nodes than the dense solver's limit.
* ``best_threshold`` must return the reference's threshold and Ncut (the candidates are fixed by the notebook).
* ``recursive_ncut`` and ``kway_ncut`` are compared with the reference's segmentation by the adjusted Rand index
  (at least 0.9 and 0.95): segment numbers are arbitrary, and k-means may swap a few ambiguous nodes. The
  k-way cases are rows that point one way per segment with lengths spread over two orders of magnitude (as rows
  of eigenvectors scale with the nodes' degrees): k-means on the rows without normalising them splits by length.
* ``key_affinity`` is compared entry by entry; ``maskcut`` mask by mask, by the intersection over union with the
  reference's masks (at least 0.9 each), on keys planted around a few objects in a patch grid.
"""

import numpy as np

from autograder.integrity.specs import Case, Spec
from elvkit.testing import StudentCheckError, assert_close

ASSIGNMENT = "04_normalized_cuts"


def _sp():
    import scipy.sparse as sp

    return sp


def _numeric(x, what: str, ndim: int | None = None) -> np.ndarray:
    """``x`` as a float64 array, after checking that it is numbers (a StudentCheckError naming ``what`` if not)."""
    import torch

    if torch.is_tensor(x):
        x = x.detach().cpu().numpy()
    if _sp().issparse(x):
        raise StudentCheckError(f"{what} should be a dense array; got a sparse matrix")
    if not isinstance(x, (np.ndarray, list, tuple, int, float, np.number)):
        raise StudentCheckError(f"{what} should be numbers; got a {type(x).__name__}")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise StudentCheckError(f"{what} should be numbers; got something that is not") from None
    if ndim is not None and arr.ndim != ndim:
        raise StudentCheckError(f"{what} should have {ndim} dimension(s); got shape {arr.shape}")
    return arr


def _labels(x, n: int, what: str) -> np.ndarray:
    arr = _numeric(x, what, ndim=1)
    if arr.shape != (n,):
        raise StudentCheckError(f"{what} should have one label per node, shape ({n},); got {arr.shape}")
    if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
        raise StudentCheckError(f"{what} should be integer labels; got values that are not whole numbers")
    return arr.astype(np.int64)


def _ari(a, b) -> float:
    from elvkit.metrics import adjusted_rand_index

    return float(adjusted_rand_index(np.asarray(a).reshape(1, -1), np.asarray(b).reshape(1, -1), foreground_only=False))


def _random_graph(rng, n: int, density: float = 0.3, components: int = 1):
    """A symmetric weighted graph on n nodes with positive degrees: a ring inside each component (connected)
    plus random edges within it."""
    sp = _sp()
    W = np.zeros((n, n))
    groups = np.array_split(rng.permutation(n), components)
    for g in groups:
        for i, j in zip(g, np.roll(g, 1)):
            if i != j:
                W[i, j] = W[j, i] = rng.uniform(0.2, 1.0)
        extra = rng.random((len(g), len(g))) < density
        vals = rng.uniform(0.05, 1.0, (len(g), len(g))) * extra
        block = np.triu(vals, 1)
        W[np.ix_(g, g)] += block + block.T
    return sp.csr_array(W)


# ----------------------------------------------------------------------------------------------
# Part 1

def _offset_cases(rng):
    return [Case((float(r),), label=f"radius {r:g}") for r in (1.5, 2, round(float(rng.uniform(2.6, 3.9)), 2), 5)]


def _judge_offsets(actual, expected, case):
    arr = _numeric(actual, "the offsets", ndim=2)
    if arr.shape[1:] != (2,):
        raise StudentCheckError(f"the offsets should have shape (K, 2), one (dy, dx) per row; got {arr.shape}")
    got = {tuple(r) for r in arr.astype(np.int64).tolist()}
    want = {tuple(r) for r in np.asarray(expected).tolist()}
    if len(got) != len(arr):
        raise StudentCheckError("some offsets appear twice: each (dy, dx) should appear once")
    if got != want:
        missing, extra = sorted(want - got)[:4], sorted(got - want)[:4]
        raise StudentCheckError(f"{len(got)} offsets, expected {len(want)}; missing {missing}, not expected {extra}. "
                                "Keep 0 < dy**2 + dx**2 < radius**2 (strictly, squared radius, no (0, 0)).")


def _affinity_cases(rng):
    cases = []
    for shape, r in (((9, 11), 2.5), ((8, 10, 3), 3.0), ((7, 9, 5), 1.5)):
        f = rng.random(shape)
        s_i, s_x = float(rng.uniform(0.2, 0.6)), float(rng.uniform(1.5, 4.0))
        kind = "grey" if len(shape) == 2 else f"{shape[2]}-channel"
        cases.append(Case((f, s_i, s_x, r), label=f"{shape[0]}x{shape[1]} {kind} features, sigma_I={s_i:.2f}, "
                          f"sigma_X={s_x:.2f}, r={r:g}"))
    return cases


def _judge_affinity(actual, expected, case):
    sp = _sp()
    n = expected.shape[0]
    if not sp.issparse(actual):
        raise StudentCheckError(f"it should return a scipy.sparse matrix; got {type(actual).__name__}. A dense N x N "
                                "array does not fit in memory for an image: build sp.csr_array((w, (rows, cols)), "
                                "shape=(N, N))")
    if actual.shape != (n, n):
        raise StudentCheckError(f"W should have shape ({n}, {n}) for {n} pixels; got {actual.shape}")
    h, w = case.args[0].shape[:2]
    got = actual.toarray().astype(np.float64)
    want = expected.toarray()
    diag = np.flatnonzero(np.diag(got))
    if len(diag):
        y, x = divmod(int(diag[0]), w)
        raise StudentCheckError(f"W[{diag[0]}, {diag[0]}] = {got[diag[0], diag[0]]:.3g} (pixel row {y}, column {x}): "
                                "the diagonal should be 0, a pixel is not its own neighbour")
    assert_close(got, want, name="W (made dense)", rtol=1e-7, atol=1e-10, axes=("node i = y*W + x", "node j"),
                 hint="w_ij = exp(-||F_i - F_j||^2 / sigma_I^2) * exp(-||X_i - X_j||^2 / sigma_X^2) for "
                      "0 < ||X_i - X_j|| < r, node i = y * W + x.")


def _graph_value_cases(rng):
    cases = []
    for n in (12, 25, 40):
        W = _random_graph(rng, n)
        labels = rng.random(n) < rng.uniform(0.2, 0.6)
        labels[0], labels[-1] = True, False
        cases.append(Case((W, labels), label=f"a random weighted graph of {n} nodes, {int(labels.sum())} in A"))
    W = _random_graph(rng, 10)
    cases.append(Case((W, np.ones(10, bool)), label="a graph of 10 nodes with every node in A"))
    return cases


def _graph_values_reference(W, labels):
    from autograder.integrity.reference import load

    ref = load(ASSIGNMENT)
    return ref.cut_value(W, labels), ref.assoc(W, labels), ref.ncut_value(W, labels)


def _judge_graph_values(actual, expected, case):
    expected = _graph_values_reference(*case.args)
    if not isinstance(actual, (tuple, list)) or len(actual) != 3:
        raise StudentCheckError("the three values should come back as (cut, assoc, ncut)")
    for got, want, what in zip(actual, expected, ("cut_value", "assoc", "ncut_value")):
        g = _numeric(got, what)
        if g.size != 1:
            raise StudentCheckError(f"{what} should return one number; got shape {g.shape}")
        if np.isinf(want):
            if not np.isinf(g.item()):
                raise StudentCheckError(f"{what} returned {g.item():.4g} for a labelling with an empty side: "
                                        "return np.inf there")
            continue
        assert_close(g.item(), want, name=what, rtol=1e-8, atol=1e-10,
                     mistakes={"each edge across is counted twice (W holds w_pq and w_qp).": 2 * want}
                     if what == "cut_value" else None)


# ----------------------------------------------------------------------------------------------
# Part 3

def _pixel_graph(rng, side, regions=3, r=3):
    from autograder.integrity.reference import load
    from elvkit.data import make_region_image

    im = make_region_image(seed=int(rng.integers(0, 10 ** 6)), shape=(side, side), regions=regions,
                           cue="intensity", noise=0.05)
    return load(ASSIGNMENT).affinity(im.image, 0.1, 4.0, r), im


def _eigen_cases(rng):
    cases = [Case((_random_graph(rng, 60), 4), label="a connected random graph of 60 nodes, k=4"),
             Case((_random_graph(rng, 90, density=0.2, components=3), 4),
                  label="a graph of 90 nodes in 3 components (the eigenvalue 0 three times), k=4")]
    W, _ = _pixel_graph(rng, 24)
    cases.append(Case((W, 5), label="the pixel graph of a 24x24 image (576 nodes, r=3), k=5"))
    W, _ = _pixel_graph(rng, 36)
    cases.append(Case((W, 3), label="the pixel graph of a 36x36 image (1296 nodes, r=3), k=3"))
    return cases


def _judge_eigen(actual, expected, case):
    W = _sp().csr_array(case.args[0], dtype=np.float64)
    n, k = W.shape[0], case.args[1]
    if not isinstance(actual, (tuple, list)) or len(actual) != 2:
        raise StudentCheckError("it should return (eigenvalues, Y)")
    lam = _numeric(actual[0], "the eigenvalues", ndim=1)
    Y = _numeric(actual[1], "Y", ndim=2)
    if lam.shape != (k,) or Y.shape != (n, k):
        raise StudentCheckError(f"expected eigenvalues of shape ({k},) and Y of shape ({n}, {k}); got {lam.shape} "
                                f"and {Y.shape}")
    if not (np.isfinite(lam).all() and np.isfinite(Y).all()):
        raise StudentCheckError("the eigenvalues or Y hold NaN or inf (a degree of 0?)")
    want = np.asarray(expected[0], dtype=np.float64)
    if lam.min() > 0.5 > want.min():
        raise StudentCheckError(f"the eigenvalues {np.round(lam, 4)} are the largest ones (the spectrum ends at 2); "
                                "the relaxed Ncut needs the smallest, starting with 0")
    assert_close(lam, want, name=f"the {k} smallest eigenvalues", rtol=1e-4, atol=1e-6, axes=("eigenvalue",),
                 hint="(D - W) y = lambda D y: the smallest eigenvalues of I - D^-1/2 W D^-1/2, the first 0; d_i is "
                      "the sum of the weights of row i.")
    d = np.asarray(W.sum(axis=1)).ravel()
    gram = Y.T @ (d[:, None] * Y)
    assert_close(gram, np.eye(k), name="Y.T @ D @ Y", rtol=1e-4, atol=1e-4, axes=("eigenvector", "eigenvector"),
                 hint="Map the normalised Laplacian's orthonormal eigenvectors z back with y = D^-1/2 z: then "
                      "Y.T D Y = I. Within a repeated eigenvalue the vectors must still be D-orthogonal.")
    Z = np.sqrt(d)[:, None] * Y
    s = 1 / np.sqrt(d)
    LZ = Z - s[:, None] * (W @ (s[:, None] * Z))
    res = np.linalg.norm(LZ - Z * lam, axis=0)
    bad = np.flatnonzero(res > 1e-4)
    if len(bad):
        raise StudentCheckError(f"column {bad[0]} of Y does not solve (D - W) y = {lam[bad[0]]:.4g} D y (residual "
                                f"{res[bad[0]]:.1e} on z = D^1/2 y; below 1e-4 expected). Tighten the solver's "
                                "tolerance, or check the mapping y = D^-1/2 z")


# ----------------------------------------------------------------------------------------------
# Part 4

def _threshold_cases(rng):
    from autograder.integrity.reference import load

    ref = load(ASSIGNMENT)
    cases = []
    for side, num in ((16, 64), (20, 16)):
        W, _ = _pixel_graph(rng, side, regions=2, r=2)
        y = ref.ncut_eigenvectors(W, 2)[1][:, 1] + rng.normal(0, 1e-3, side * side)
        cases.append(Case((y, W), {"num": num} if num != 64 else {},
                          label=f"the second eigenvector of a {side}x{side} image's graph, num={num}"))
    W = _random_graph(rng, 30)
    cases.append(Case((rng.normal(size=30), W, 10), label="a random vector on a random graph of 30 nodes, num=10"))
    return cases


def _judge_threshold(actual, expected, case):
    if not isinstance(actual, (tuple, list)) or len(actual) != 2:
        raise StudentCheckError("it should return (threshold, ncut)")
    t, value = (_numeric(v, what) for v, what in zip(actual, ("the threshold", "the Ncut")))
    if t.size != 1 or value.size != 1:
        raise StudentCheckError("the threshold and the Ncut should be single numbers")
    y = np.asarray(case.args[0], dtype=np.float64).ravel()
    num = int(case.kwargs.get("num", case.args[2] if len(case.args) > 2 else 64))
    lo, hi = float(y.min()), float(y.max())
    tol = 1e-9 * (hi - lo + 1)
    grid = lo + (hi - lo) * np.arange(1, num + 1) / (num + 1)
    if np.isfinite(t.item()) and not np.isclose(t.item(), grid, rtol=0, atol=tol).any() \
            and not np.isclose(t.item(), expected[0], rtol=0, atol=tol):
        on = [(f"np.linspace(min, max, num)", np.linspace(lo, hi, num)),
              (f"np.linspace(min, max, num + 1)", np.linspace(lo, hi, num + 1)),
              ("the values of y themselves", y)]
        which = next((what for what, g in on if np.isclose(t.item(), g, rtol=0, atol=tol).any()), None)
        raise StudentCheckError(
            f"the threshold {t.item():.6g} is not one of the num = {num} candidates min + (max - min) m / (num + 1), "
            f"m = 1..num" + (f"; it is on {which}" if which else "") + ". The candidates lie strictly inside "
            "(min, max), (max - min) / (num + 1) apart: neither end is one (at max, A would be empty)")
    assert_close(value.item(), expected[1], name="the smallest Ncut over the candidates", rtol=1e-7, atol=1e-10,
                 hint="Try every candidate t_m = min + (max - min) m / (num + 1), m = 1..num, A = {y > t}; keep the "
                      "smallest Ncut.")
    assert_close(t.item(), expected[0], name="the threshold", rtol=1e-9, atol=1e-9 * (np.ptp(y) + 1),
                 hint="The first candidate (smallest m) among those with the smallest Ncut.")


def _recursive_cases(rng):
    cases = []
    for side, regions in ((24, 3), (28, 4)):
        W, im = _pixel_graph(rng, side, regions=regions)
        cases.append(Case((W,), {"min_size": 15}, label=f"the pixel graph of a {side}x{side} image with {regions} "
                          "regions, min_size=15", truth=im.labels.ravel()))
    return cases


def _judge_by_ari(limit: float, what: str, advice: str):
    """A judge of a labelling of the nodes: its adjusted Rand index against the reference's must reach ``limit``
    (segment numbers are arbitrary)."""

    def judge(actual, expected, case):
        got = _labels(actual, case.args[0].shape[0], "the labels")
        ari = _ari(expected, got)
        if ari < limit:
            raise StudentCheckError(f"the {what} has {len(np.unique(got))} groups and an adjusted Rand index of "
                                    f"{ari:.3f} against the reference's ({len(np.unique(expected))} groups; {limit} "
                                    f"passes). {advice}")

    return judge


def _kway_cases(rng):
    """Rows that point one way per segment but whose lengths spread over two orders of magnitude, with a little noise
    in their directions: what unit rows are for. (The rows of the Y that ``kway_ncut`` receives have one length per
    segment, 1 / sqrt(vol(A)); those of Ng, Jordan and Weiss's Z = D^1/2 Y also vary with each node's degree. The
    spread here makes any clustering that skips the normalisation fail, whatever its k-means draws.)"""
    cases = []
    for sizes in ((80, 80, 40), (60, 60, 60, 30), (50, 50, 50, 50, 25)):
        k = len(sizes)
        directions, _ = np.linalg.qr(rng.normal(size=(k, k)))
        block = np.repeat(np.arange(k), sizes)
        rng.shuffle(block)
        lengths = np.exp(rng.uniform(np.log(0.05), np.log(5.0), len(block)))
        Y = (directions[block] + 0.08 * rng.normal(size=(len(block), k))) * lengths[:, None]
        cases.append(Case((Y, k), {"seed": int(rng.integers(0, 100))}, truth=block,
                          label=f"{len(block)} rows of {k} numbers in {k} directions, lengths 0.05-5"))
    return cases


# ----------------------------------------------------------------------------------------------
# Part 5

def _key_cases(rng):
    cases = []
    for p, d, tau in ((30, 8, 0.15), (48, 16, 0.3)):
        K = rng.normal(size=(p, d)) * rng.uniform(0.1, 10, (p, 1))
        K[rng.random(p) < 0.15] = 0
        cases.append(Case((K,), {"tau": tau}, label=f"{p} random keys of {d} numbers (some zero, lengths 0.1-10), "
                          f"tau={tau}"))
    return cases


def _planted_keys(rng, h, w, objects):
    labels = np.zeros((h, w), np.int64)
    for t in range(1, objects + 1):
        bh, bw = rng.integers(2, 4, size=2)
        y, x = rng.integers(0, h - bh), rng.integers(0, w - bw)
        labels[y:y + bh, x:x + bw] = t
    directions = rng.normal(size=(objects + 1, 24))
    return directions[labels.ravel()] + 0.25 * rng.normal(size=(h * w, 24)), labels


def _maskcut_cases(rng):
    cases = []
    for (h, w), objects in (((8, 8), 2), ((10, 10), 3)):
        K, labels = _planted_keys(rng, h, w, objects)
        cases.append(Case((K, (h, w)), {"n_masks": objects}, truth=labels,
                          label=f"keys planted around {objects} objects in a {h}x{w} patch grid, n_masks={objects}"))
    return cases


def _judge_maskcut(actual, expected, case):
    h, w = case.args[1]
    n = case.kwargs["n_masks"]
    got = _numeric(actual, "the masks", ndim=3)
    if got.shape != (n, h, w):
        raise StudentCheckError(f"the masks should have shape ({n}, {h}, {w}); got {got.shape}")
    got = got != 0
    for t in range(n):
        a, b = got[t], np.asarray(expected[t], bool)
        union = (a | b).sum()
        iou = 1.0 if union == 0 else (a & b).sum() / union
        if iou < 0.9:
            wrong = np.argwhere(a != b)[0]
            raise StudentCheckError(f"mask {t + 1} of {n} covers {int(a.sum())} patches, the reference's {int(b.sum())}; "
                                    f"their intersection over union is {iou:.2f} (0.9 passes), first differing at patch "
                                    f"row {wrong[0]}, column {wrong[1]}. Zero the keys of earlier masks, split the "
                                    "second eigenvector at its mean, take the side of its largest |y|")


#: the hidden check that judges each earlier function a later check may be judged apart from (else its own name)
JUDGED_BY = {"assoc": "graph_values", "cut_value": "graph_values", "ncut_value": "graph_values"}

SPECS = {
    "neighbour_offsets": Spec(_offset_cases, compare=_judge_offsets),
    "affinity": Spec(_affinity_cases, compare=_judge_affinity),
    "graph_values": Spec(_graph_value_cases, compare=_judge_graph_values, reference=None),
    "ncut_eigenvectors": Spec(_eigen_cases, compare=_judge_eigen),
    "best_threshold": Spec(_threshold_cases, compare=_judge_threshold, isolate=("assoc", "cut_value", "ncut_value")),
    "recursive_ncut": Spec(_recursive_cases, compare=_judge_by_ari(
        0.9, "segmentation", "Cut each side on its own subgraph W[idx][:, idx] with its second eigenvector and best "
                             "threshold; stop by size, by max_ncut and by stability"),
        isolate=("assoc", "cut_value", "ncut_value", "ncut_eigenvectors", "best_threshold")),
    "kway_ncut": Spec(_kway_cases, compare=_judge_by_ari(
        0.95, "clustering", "Normalise each row of Y to unit length before k-means: rows of large segments are short "
                            "and would bunch together")),
    "key_affinity": Spec(_key_cases, rtol=1e-9, atol=1e-12, axes=("patch i", "patch j"),
                         hint="Normalise each key by max(norm, 1e-12); 1 where K_i . K_j > tau, eps elsewhere."),
    "maskcut": Spec(_maskcut_cases, compare=_judge_maskcut, isolate=("key_affinity",)),
}
