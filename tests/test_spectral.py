"""elvkit.spectral: the eigensolver of the Normalized Cuts assignment against LAPACK, on graphs whose eigenvalues
repeat, and its errors; the filter-bank features."""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

from elvkit.spectral import DENSE_BELOW, filter_responses, smallest_eigenpairs


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


@pytest.mark.parametrize("L, k, message", [
    (np.zeros((4, 3)), 2, "square"),
    ("not a matrix", 2, "SciPy sparse matrix"),
    (np.eye(5), 5, "smaller than the number of nodes"),
])
def test_bad_input_names_the_argument(L, k, message):
    with pytest.raises((TypeError, ValueError), match=message):
        smallest_eigenpairs(L, k)


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
