import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from elvkit import viz
from elvkit.baselines import opencv_sgbm
from elvkit.data import load_motorcycle, make_stereo_scene
from elvkit.testing import StudentCheckError, assert_close, assert_shape, assert_true, tolerance


def test_assert_close_passes_within_dtype_tolerance():
    assert_close(np.float32(1.0) + np.float32(1e-6), np.float32(1.0))
    assert_close(torch.tensor([1.0, np.nan]), [1.0, np.nan])
    assert tolerance(np.zeros(1, np.float64)) == (1e-10, 1e-10)
    assert tolerance(np.zeros(1, np.int32)) == (0.0, 0.0)


def test_assert_close_names_shape_mistakes():
    with pytest.raises(StudentCheckError, match=r"shape \(3, 2\), expected \(2, 3\).*transposed"):
        assert_close(np.zeros((3, 2)), np.zeros((2, 3)), name="x")


def test_assert_close_recognises_known_mistakes_and_sign_flips():
    with pytest.raises(StudentCheckError, match="recognisable way: doffs"):
        assert_close([1.0, 2.0], [3.0, 4.0], mistakes={"doffs is ignored": [1.0, 2.0]})
    with pytest.raises(StudentCheckError, match="opposite sign"):
        assert_close([-1.0, -2.0], [1.0, 2.0])
    with pytest.raises(StudentCheckError, match="forget to `return`"):
        assert_close(None, [1.0])


def test_a_single_number_is_evidence_of_a_mistake_unless_it_is_a_placeholder():
    """A loss, or one value repeated, that equals a known mistake's value names the mistake; all zeros or NaN
    (what a function not written yet returns) never does."""
    import torch

    with pytest.raises(StudentCheckError, match="recognisable way: no edge weight"):
        assert_close(torch.tensor(1.0), 2 / 3, mistakes={"no edge weight": 1.0})
    for placeholder in (0.0, np.nan):
        with pytest.raises(StudentCheckError) as info:
            assert_close(placeholder, 2 / 3, mistakes={"no edge weight": placeholder})
        assert "recognisable" not in str(info.value)
    with pytest.raises(StudentCheckError) as info:
        assert_close(np.zeros(4), np.arange(4.0), mistakes={"forgot to accumulate": np.zeros(4)})
    assert "recognisable" not in str(info.value)                # a stub's zeros are no evidence
    with pytest.raises(StudentCheckError, match="recognisable way: Ix and Iy swapped"):
        assert_close(np.full(4, 10.0), np.ones(4), mistakes={"Ix and Iy swapped": np.full(4, 10.0)})


def test_assert_close_reports_where_and_nan():
    with pytest.raises(StudentCheckError) as info:
        assert_close([1.0, np.nan, 3.0], [1.0, 2.0, 4.0], name="depth", hint="check doffs")
    msg = str(info.value)
    assert "depth differs" in msg and "index (1,)" in msg and "NaN where a number was expected" in msg
    assert "Hint: check doffs" in msg


@pytest.mark.parametrize("got", [0.0, -np.inf, 12345.0, np.nan, 1e308])
def test_an_expected_infinity_takes_only_that_infinity(got):
    """|a - inf| <= atol + rtol * inf holds for every a: an expected +-inf must be matched exactly, and the message
    names the position and the special case."""
    with pytest.raises(StudentCheckError) as info:
        assert_close(np.array([[1.0, got]]), np.array([[1.0, np.inf]]), name="the depth map", axes=("row", "column"))
    msg = str(info.value)
    assert "row=0, column=1" in msg and "should be +inf" in msg
    assert_close(np.array([np.inf, -np.inf, np.nan, 2.0]), np.array([np.inf, -np.inf, np.nan, 2.0]))
    with pytest.raises(StudentCheckError, match="should be -inf"):
        assert_close(torch.tensor([np.inf]), torch.tensor([-np.inf]))


def test_nan_and_infinity_where_numbers_were_expected_are_named():
    with pytest.raises(StudentCheckError, match="infinite where a finite number was expected"):
        assert_close([np.inf, 2.0], [1.0, 2.0])
    with pytest.raises(StudentCheckError, match="should be NaN"):
        assert_close([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(StudentCheckError):
        assert_close([1.0, np.nan], [1.0, np.nan], equal_nan=False)


def test_assert_shape_and_true():
    assert_shape(np.zeros((2, 3)), (2, None))
    with pytest.raises(StudentCheckError, match=r"expected \(2, any, 3\)"):
        assert_shape(np.zeros((2, 3)), (2, None, 3))
    with pytest.raises(StudentCheckError, match="teach"):
        assert_true(False, "teach")


def test_pictures_are_drawn(tmp_path):
    pair = make_stereo_scene(0, shape=(60, 80), max_disp=16)
    rgb = viz.disparity_to_rgb(pair.disparity)
    assert rgb.shape == (60, 80, 3) and 0 <= rgb.min() and rgb.max() <= 1
    nan = pair.disparity.copy()
    nan[:5] = np.nan
    assert (viz.disparity_to_rgb(nan)[:5] == 0).all()
    err = viz.error_to_rgb(pair.disparity + 1.5, pair.disparity, 1.0)
    np.testing.assert_allclose(err[10, 10], viz.ERROR_LEGEND["error > threshold"])
    figs = [viz.show_images([pair.left, pair.disparity, pair.occlusion], ["a", "b", "c"]),
            viz.show_stereo_pair(pair),
            viz.compare_disparities(pair.left, pair.disparity, {"noisy": pair.disparity + 0.7}),
            viz.show_mask(pair.left, pair.occlusion).figure,
            viz.show_disparity(pair.disparity).figure,
            viz.plot_cost_curve({"c": np.arange(8.0) ** 2}, true_disparity=0.0).figure]
    ys, xs = np.mgrid[0:60, 0:80]
    points = np.dstack([xs, ys, pair.disparity])
    figs.append(viz.plot_point_cloud(points, pair.left, max_points=500).figure)
    for i, fig in enumerate(figs):
        fig.savefig(tmp_path / f"{i}.png")
        assert (tmp_path / f"{i}.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="titles"):
        viz.show_images([pair.left], ["a", "b"])


def test_opencv_baseline_marks_missing_pixels_nan():
    pair = load_motorcycle()
    d = opencv_sgbm(pair.left, pair.right, pair.max_disp)
    assert d.shape == pair.shape and d.dtype == np.float32
    assert np.isnan(d[:, :40]).all(), "OpenCV returns no disparity in the leftmost numDisparities columns"
    assert 0.8 < np.isfinite(d).mean() < 0.95
    with pytest.raises(ValueError, match="block_size"):
        opencv_sgbm(pair.left, pair.right, 64, block_size=4)
