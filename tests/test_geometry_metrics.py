import numpy as np
import pytest
import torch

from elvkit import metrics
from elvkit.geometry import StereoCalibration, warp_by_disparity


def test_warp_by_disparity_shifts_rows(rng):
    right = rng.random((6, 20)).astype(np.float32)
    left = np.roll(right, 3, axis=1)                # left(x) = right(x - 3)
    warped, valid = warp_by_disparity(right, np.full((6, 20), 3.0))
    assert not valid[:, :3].any() and valid[:, 3:].all()
    np.testing.assert_allclose(warped[:, 3:], left[:, 3:], rtol=0, atol=1e-6)


def test_warp_by_disparity_half_pixel_is_bilinear(rng):
    right = rng.random((4, 10)).astype(np.float32)
    warped, valid = warp_by_disparity(right, np.full((4, 10), 0.5))
    np.testing.assert_allclose(warped[:, 1:], 0.5 * (right[:, :-1] + right[:, 1:]), rtol=0, atol=1e-5)


def test_warp_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="`right` and `disparity`"):
        warp_by_disparity(np.zeros((4, 5)), np.zeros((4, 6)))


@pytest.mark.parametrize("field, value", [("focal", 0.0), ("baseline", -1.0), ("cx", float("nan"))])
def test_calibration_rejects_bad_values(field, value):
    kwargs = dict(focal=100.0, cx=1.0, cy=1.0, baseline=10.0)
    kwargs[field] = value
    with pytest.raises(ValueError, match=field):
        StereoCalibration(**kwargs)


def test_bad_pixel_rate_counts_missing_estimates_as_bad():
    gt = np.array([[1.0, 2.0, 3.0, np.nan]])
    est = np.array([[1.5, 5.0, np.nan, 0.0]])
    assert metrics.bad_pixel_rate(est, gt, 2.0) == pytest.approx(2 / 3)
    assert metrics.bad_pixel_rate(est, gt, 0.4) == pytest.approx(1.0)
    assert metrics.mean_absolute_error(est, gt) == pytest.approx((0.5 + 3.0) / 2)
    assert metrics.density(est, gt) == pytest.approx(2 / 3)
    mask = np.array([[True, False, False, True]])
    assert metrics.bad_pixel_rate(est, gt, 2.0, mask=mask) == 0.0


def test_metrics_accept_tensors_and_report_all():
    gt = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = metrics.stereo_metrics(gt + 0.5, gt, depth=gt, depth_gt=gt + 1)
    assert out == pytest.approx({"bad-1.0": 0.0, "bad-2.0": 0.0, "MAE": 0.5, "density": 1.0, "depth MAE": 1.0})


def test_metrics_explain_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        metrics.bad_pixel_rate(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no pixel to evaluate"):
        metrics.bad_pixel_rate(np.zeros((2, 2)), np.full((2, 2), np.nan))
    with pytest.raises(TypeError, match="mask"):
        metrics.bad_pixel_rate(np.zeros((2, 2)), np.zeros((2, 2)), mask=np.ones((2, 2)))
    with pytest.raises(ValueError, match="threshold"):
        metrics.bad_pixel_rate(np.zeros((2, 2)), np.zeros((2, 2)), -1)
    with pytest.raises(ValueError, match="2-D"):
        metrics.bad_pixel_rate(np.zeros(4), np.zeros(4))
