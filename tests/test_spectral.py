"""elvkit.spectral: the eigensolver of the Normalized Cuts assignment against LAPACK, on graphs whose eigenvalues
repeat, and its errors; the filter-bank features."""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

from elvkit import _multigrid
from elvkit.spectral import DENSE_BELOW, _lobpcg, filter_responses, smallest_eigenpairs


def _laplacian(W):
    d = np.asarray(W.sum(axis=1)).ravel()
    s = 1 / np.sqrt(d)
    return sp.identity(W.shape[0], format="csr") - sp.diags(s) @ W @ sp.diags(s)


def _components(seed, side, parts):
    """The pixel graphs (r = 3) of `parts` generated images side by side with no edge between them: the
    eigenvalue 0 `parts` times, and more nodes than the dense limit, so that the iterative path runs."""
    from autograder.integrity.reference import load
    from elvkit.data import make_region_image

    affinity = load("04_normalized_cuts").affinity
    graphs = [affinity(make_region_image(seed=seed + p, shape=(side, side), regions=3, noise=0.05).image,
                       0.1, 4.0, 3) for p in range(parts)]
    return sp.csr_array(sp.block_diag(graphs))


def test_repeated_zero_eigenvalues_all_found_and_match_lapack():
    W = _components(0, 16, 3)
    assert W.shape[0] > DENSE_BELOW
    L = _laplacian(W)
    vals, Z = smallest_eigenpairs(L, 5, tol=1e-8)
    ref = scipy.linalg.eigh(L.toarray(), eigvals_only=True, subset_by_index=(0, 4))
    np.testing.assert_allclose(vals, ref, atol=1e-7)
    assert np.abs(vals[:3]).max() < 1e-9 and vals[3] > 1e-6        # three components: 0 three times, then the rest
    np.testing.assert_allclose(Z.T @ Z, np.eye(5), atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(L @ Z - Z * vals, axis=0), 0, atol=1e-6)


def test_same_seed_same_vectors_and_signs_fixed():
    W = _components(5, 26, 1)
    L = _laplacian(W)
    a, b = smallest_eigenpairs(L, 3, seed=3), smallest_eigenpairs(L, 3, seed=3)
    np.testing.assert_array_equal(a[1], b[1])
    Z = a[1]
    assert (Z[np.abs(Z).argmax(axis=0), np.arange(3)] > 0).all()


def _image_laplacian(side, sigma_i=0.1, r=5, seed=0, regions=5):
    from autograder.integrity.reference import load
    from elvkit.data import make_region_image

    im = make_region_image(seed=seed, shape=(side, side), regions=regions, cue="intensity", noise=0.05)
    return _laplacian(load("04_normalized_cuts").affinity(im.image, sigma_i, 4.0, r)).tocsr()


@pytest.mark.parametrize("method", ["multigrid", "chebyshev"])
def test_nearly_disconnected_segments_match_lapack(method):
    """sigma_I = 0.02: the segments hardly touch, several eigenvalues sit within 1e-8 of 0 -- where an
    aggregate straddling a boundary would blur them together."""
    L = _image_laplacian(40, sigma_i=0.02, r=3, seed=1)
    vals, Z = smallest_eigenpairs(L, 6, method=method)
    ref = scipy.linalg.eigh(L.toarray(), eigvals_only=True, subset_by_index=(0, 5))
    np.testing.assert_allclose(vals, ref, atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(L @ Z - Z * vals, axis=0), 0, atol=1.1e-6)


def test_auto_hands_a_slow_filter_to_the_multigrid():
    """The camera man at 40 x 40 with sigma_I = 0.02 and r = 2: dozens of eigenvalues within 1e-3 of 0, which the
    Chebyshev filter separates slowly (not converged after its AUTO_FILTER_STEPS steps); the default then goes
    on with the multigrid and meets the tolerance, matching LAPACK."""
    from skimage import data, transform

    from autograder.integrity.reference import load
    from elvkit import spectral

    camera = transform.resize(data.camera().astype(np.float64) / 255, (40, 40), anti_aliasing=True)
    L = _laplacian(load("04_normalized_cuts").affinity(camera, 0.02, 4.0, 2)).tocsr()
    assert L.shape[0] < spectral.MULTIGRID_FROM
    with pytest.raises(RuntimeError, match="did not converge"):
        smallest_eigenpairs(L, 6, method="chebyshev", max_iterations=spectral.AUTO_FILTER_STEPS, tol=1e-9)
    vals, Z = smallest_eigenpairs(L, 6)
    np.testing.assert_allclose(np.linalg.norm(L @ Z - Z * vals, axis=0), 0, atol=1e-6)
    ref = scipy.linalg.eigh(L.toarray(), eigvals_only=True, subset_by_index=(0, 5))
    np.testing.assert_allclose(vals, ref, atol=1e-7)


def test_aggregates_never_cross_a_weak_boundary():
    """Two 20 x 20 grids joined by edges 1000 times weaker than their own: every aggregate lies in one grid,
    every node is in exactly one aggregate, and each non-root node is a strong neighbour of its aggregate."""
    grid = sp.diags([1.0] * 399, 1) + sp.diags([1.0] * 380, 20)
    for i in range(19, 399, 20):
        grid = grid.tolil()
        grid[i, i + 1] = 0                                  # no wrap-around between rows
    grid = sp.csr_array(grid + grid.T)
    weak = sp.lil_array((800, 800))
    for i in range(0, 400, 20):
        weak[i + 19, 400 + i] = 1e-3                       # the first grid's right edge to the second's left edge
    W = sp.csr_array(sp.block_diag([grid, grid]) + weak + weak.T)
    L = _laplacian(W).tocsr()
    label, count = _multigrid.aggregate(_multigrid.strength_graph(L), np.random.default_rng(0))
    assert label.shape == (800,) and label.min() == 0 and label.max() == count - 1
    assert len(np.unique(label)) == count
    assert not set(label[:400]) & set(label[400:])
    assert 20 < count < 400                                # it coarsens, and not to nothing


def test_multigrid_copes_with_nodes_without_edges_and_graphs_without_any():
    """A 1,500-node chain beside 1,500 nodes with no edge (their Laplacian rows are just 1), and a graph with no
    edge at all: nothing to aggregate there, and the answer is still exact."""
    n = 3000
    chain = np.r_[np.ones(1499), np.zeros(1500)]
    W = sp.diags([chain], [1], shape=(n, n))
    W = (W + W.T).tocsr()
    d = np.asarray(W.sum(axis=1)).ravel()
    s = np.where(d > 0, 1 / np.sqrt(np.maximum(d, 1e-300)), 0)
    L = (sp.identity(n) - sp.diags(s) @ W @ sp.diags(s)).tocsr()
    vals, Z = smallest_eigenpairs(L, 4, method="multigrid")
    path = 1 - np.cos(np.pi * np.arange(4) / 1499)           # the path graph's normalised Laplacian
    np.testing.assert_allclose(vals, path, atol=1e-8)
    np.testing.assert_allclose(np.linalg.norm(L @ Z - Z * vals, axis=0), 0, atol=1e-6)
    vals, _ = smallest_eigenpairs(sp.identity(2000, format="csr"), 3, method="multigrid")
    np.testing.assert_allclose(vals, 1.0, atol=1e-12)


def test_vcycle_is_symmetric_and_positive():
    """LOBPCG needs a symmetric positive (semi-)definite preconditioner: X^T T X is, on random blocks."""
    import torch

    L = _image_laplacian(48)
    T = _multigrid.VCycle(L, np.ones(L.shape[0]))
    X = torch.randn(L.shape[0], 30, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    G = (X.T @ T(X)).numpy()
    np.testing.assert_allclose(G, G.T, rtol=1e-4, atol=1e-4 * np.abs(G).max())
    assert np.linalg.eigvalsh((G + G.T) / 2).min() > 0
    assert len(T.sizes) >= 2 and T.sizes[-1] <= _multigrid.COARSEST


def test_multigrid_iterations_do_not_grow_with_the_image():
    """The point of the preconditioner: LOBPCG needs about as many iterations at 144 x 144 as at 48 x 48
    (the Chebyshev filter's products grow with the side of the image instead)."""
    import torch

    counts = {}
    for side in (48, 144):
        L = _image_laplacian(side)
        T = _multigrid.VCycle(L, np.ones(L.shape[0]))
        X = torch.randn(L.shape[0], 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        _, _, worst, counts[side] = _lobpcg(T.fine, X, 6, T, 1e-6, 100)
        assert worst <= 1e-6
    assert counts[144] <= counts[48] + 3, counts


@pytest.mark.gpu
def test_multigrid_on_the_gpu_matches_the_cpu():
    from conftest import DEVICES

    if "cuda" not in DEVICES:
        pytest.skip("the solver works in float64, which only CUDA devices have")
    L = _image_laplacian(96)
    cpu = smallest_eigenpairs(L, 6)[0]
    for device in ["cuda"]:
        np.testing.assert_allclose(smallest_eigenpairs(L, 6, device=device)[0], cpu, atol=1e-7)


@pytest.mark.parametrize("L, k, message", [
    (np.zeros((4, 3)), 2, "square"),
    ("not a matrix", 2, "SciPy sparse matrix"),
    (np.eye(5), 5, "smaller than the number of nodes"),
])
def test_bad_input_names_the_argument(L, k, message):
    with pytest.raises((TypeError, ValueError), match=message):
        smallest_eigenpairs(L, k)
    with pytest.raises(ValueError, match="method must be 'auto', 'multigrid' or 'chebyshev'; got 'arpack'"):
        smallest_eigenpairs(np.eye(5), 2, method="arpack")
    with pytest.raises(ValueError, match="`tol` must be > 0"):
        smallest_eigenpairs(np.eye(5), 2, tol=0)


def test_a_laplacian_that_is_not_one_gets_a_message_that_points_at_the_mistake():
    """The random-walk matrix D^-1 W in place of D^-1/2 W D^-1/2 is not symmetric, and a degree of 0 divides by 0:
    both are told before any iteration, in the notebook's notation."""
    W = _components(0, 16, 1).toarray()
    d = W.sum(axis=1)
    random_walk = np.eye(len(d)) - W / d[:, None]
    with pytest.raises(ValueError, match=r"L must be symmetric.*D\^-1/2 on both sides \(not D\^-1 W\)"):
        smallest_eigenpairs(sp.csr_array(random_walk), 3)
    isolated = np.eye(3)
    isolated[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        smallest_eigenpairs(isolated, 2)


def test_filter_responses_tell_stripe_orientations_apart():
    y, x = np.mgrid[0:48, 0:48]
    horizontal = 0.5 + 0.4 * np.sin(2 * np.pi * y / 6)          # stripes along x: the row changes
    vertical = 0.5 + 0.4 * np.sin(2 * np.pi * x / 6)
    fh, fv = filter_responses(horizontal), filter_responses(vertical)
    assert fh.shape == (48, 48, 8) and fh.dtype == np.float32
    centre = (slice(16, 32), slice(16, 32))
    mh, mv = fh[centre].mean(axis=(0, 1)), fv[centre].mean(axis=(0, 1))
    assert mh.argmax() != mv.argmax()                             # a different orientation channel answers
    with pytest.raises(ValueError, match="grey image"):
        filter_responses(np.zeros((4, 4, 3)))


def test_rows_of_y_have_one_length_per_segment_set_by_its_volume():
    """What the Normalized Cuts notebook says of the rows that k-way cuts cluster: within a segment the rows of Y
    (D-orthonormal generalised eigenvectors) have one length, 1 / sqrt(vol(A)); those of Z = D^1/2 Y spread with the
    nodes' degrees."""
    from autograder.integrity.reference import load

    ref = load("04_normalized_cuts")
    rng = np.random.default_rng(0)
    sizes, blocks = (40, 80, 160), []
    for n in sizes:                              # three nearly disconnected segments of very different volumes
        w = rng.uniform(0.2, 2.0, (n, n)) * (rng.random((n, n)) < 0.2)
        blocks.append(np.triu(w, 1) + np.triu(w, 1).T)
    W = scipy.linalg.block_diag(*blocks)
    W[0, sizes[0]] = W[sizes[0], 0] = 1e-4
    W[sizes[0], sum(sizes[:2])] = W[sum(sizes[:2]), sizes[0]] = 1e-4
    d = W.sum(1)
    _, Y = ref.ncut_eigenvectors(sp.csr_array(W), 3)
    label = np.repeat(np.arange(3), sizes)
    lengths = np.linalg.norm(Y, axis=1)
    zlengths = np.linalg.norm(np.sqrt(d)[:, None] * Y, axis=1)
    for g in range(3):
        spread = lengths[label == g].max() / lengths[label == g].min()
        assert spread < 1.01, spread
        assert lengths[label == g].mean() == pytest.approx(1 / np.sqrt(d[label == g].sum()), rel=0.02)
        assert zlengths[label == g].max() / zlengths[label == g].min() > 1.3     # sqrt of the degrees' spread
