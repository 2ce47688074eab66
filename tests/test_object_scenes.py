"""The shared multi-object scenes and FG-ARI: exact masks, seeded, colour-proof where they should be."""

import numpy as np
import pytest


def test_scenes_are_seeded_with_exact_contiguous_masks():
    from elvkit.data import make_object_scenes

    s = make_object_scenes(16, seed=3, size=48)
    assert s.images.shape == (16, 3, 48, 48) and s.images.dtype == np.float32
    assert s.masks.shape == (16, 48, 48) and s.masks.dtype == np.int64
    assert 0 <= s.images.min() and s.images.max() <= 1
    for mask, k in zip(s.masks, s.num_objects):
        assert set(np.unique(mask)) == set(range(k + 1)), "labels 0..K, every one visible"
        assert 1 <= k <= 6
    again = make_object_scenes(16, seed=3, size=48)
    np.testing.assert_array_equal(again.images, s.images)
    assert not np.array_equal(make_object_scenes(16, seed=4, size=48).masks, s.masks)


def test_fg_ari_equals_scikit_learn_on_the_foreground():
    from sklearn.metrics import adjusted_rand_score

    from elvkit.metrics import adjusted_rand_index

    rng = np.random.default_rng(0)
    true = rng.integers(0, 4, size=(5, 12, 12))
    pred = np.where(rng.random((5, 12, 12)) < 0.7, true + 10, rng.integers(0, 3, size=(5, 12, 12)))
    ours = adjusted_rand_index(true, pred)
    for i in range(5):
        fg = true[i] != 0
        assert ours[i] == pytest.approx(adjusted_rand_score(true[i][fg], pred[i][fg]), abs=1e-12)
    full = adjusted_rand_index(true[0], pred[0], foreground_only=False)
    assert full == pytest.approx(adjusted_rand_score(true[0].ravel(), pred[0].ravel()), abs=1e-12)
    assert adjusted_rand_index(true[1], true[1] * 7 + 1) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape|shape"):
        adjusted_rand_index(true[0], pred[0, :5])


def test_grouping_by_colour_fails_on_the_colour_proof_scenes_and_nearly_works_on_flat_ones():
    """The lesson the object-discovery notebooks draw: k-means on RGB (k = objects + 1) per image."""
    from elvkit.baselines import kmeans_colours
    from elvkit.data import make_object_scenes
    from elvkit.metrics import adjusted_rand_index

    means = {}
    for variant in ("colour-proof", "palette"):
        s = make_object_scenes(48, seed=0, variant=variant)
        means[variant] = float(np.mean([adjusted_rand_index(s.masks[i], kmeans_colours(s.images[i],
                                                                                       int(s.num_objects[i]) + 1))
                                        for i in range(len(s))]))
    assert means["colour-proof"] <= 0.3, means
    assert means["palette"] >= 0.6, means


@pytest.mark.parametrize("kwargs, message", [
    ({"variant": "plain"}, "variant must be one of colour-proof, palette; got 'plain'"),
    ({"objects": (0, 3)}, r"objects must be \(fewest, most\) with 1 <= fewest <= most <= 12; got \(0, 3\)"),
    ({"size": 8}, "`size` must be >= 16; got 8."),
])
def test_bad_arguments_are_named(kwargs, message):
    from elvkit.data import make_object_scenes

    with pytest.raises(ValueError, match=message):
        make_object_scenes(2, **kwargs)
