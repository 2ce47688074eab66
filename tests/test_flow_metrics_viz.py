"""Flow metrics, the Middlebury colour wheel, flow pictures and the OpenCV flow baselines."""

import numpy as np
import pytest

from elvkit import metrics, viz


def test_endpoint_error_and_aee():
    gt = np.zeros((2, 3, 2))
    est = np.zeros((2, 3, 2))
    est[0, 0] = (3.0, 4.0)
    est[1, 2] = (np.nan, 0.0)
    epe = metrics.endpoint_error(est, gt)
    assert epe[0, 0] == 5.0 and np.isnan(epe[1, 2])
    assert metrics.average_endpoint_error(est, gt) == pytest.approx(5.0 / 5)
    mask = np.zeros((2, 3), bool)
    mask[0] = True
    assert metrics.average_endpoint_error(est, gt, mask=mask) == pytest.approx(5.0 / 3)


def test_fl_counts_missing_as_outliers_and_supports_kitti_relative():
    gt = np.zeros((1, 4, 2))
    gt[0, :, 0] = [0.0, 100.0, 100.0, 1.0]
    est = gt.copy()
    est[0, 1, 0] = 104.0          # 4 px off on a 100 px motion: EPE > 3 but < 5 %
    est[0, 2, 0] = 110.0          # 10 px off: an outlier either way
    est[0, 3] = np.nan            # missing
    assert metrics.flow_outlier_rate(est, gt) == pytest.approx(3 / 4)
    assert metrics.flow_outlier_rate(est, gt, relative=0.05) == pytest.approx(2 / 4)
    m = metrics.flow_metrics(est, gt)
    assert m["density"] == pytest.approx(0.75) and m["Fl"] == pytest.approx(0.75)


def test_flow_metrics_skip_unknown_ground_truth_and_accept_tensors():
    import torch

    gt = np.ones((3, 3, 2))
    gt[1, 1] = np.nan
    est = torch.zeros(3, 3, 2)
    assert metrics.average_endpoint_error(est, gt) == pytest.approx(np.sqrt(2))
    with pytest.raises(ValueError, match="no pixel to evaluate"):
        metrics.average_endpoint_error(est, np.full((3, 3, 2), np.nan))
    with pytest.raises(ValueError, match=r"`flow` must have shape \(H, W, 2\)"):
        metrics.endpoint_error(np.zeros((3, 3, 3)), gt)


def test_colour_wheel_follows_the_middlebury_coding():
    """Right is red, down is yellow-green, left is cyan-blue, up is blue-violet; no motion is white."""
    f = np.array([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [0.0, 0.0], [np.nan, 0.0]]])
    rgb = viz.flow_to_rgb(f, max_flow=1.0)
    right, down, left, up, rest, unknown = rgb[0]
    assert right[0] > 0.9 and right[1] < 0.2 and right[2] < 0.2
    assert down[1] > 0.8 and down[2] < 0.2
    assert left[2] > 0.8 and left[0] < 0.2
    assert up[0] > 0.2 and up[2] > 0.8 and up[1] < 0.2
    np.testing.assert_allclose(rest, 1.0)
    np.testing.assert_allclose(unknown, 0.0)
    half = viz.flow_to_rgb(np.array([[[0.5, 0.0]]]), max_flow=1.0)[0, 0]
    assert 0.4 < half[1] < 0.6, "half the maximum: half saturated"
    wheel = viz.color_wheel(51)
    assert wheel.shape == (51, 51, 3) and np.allclose(wheel[0, 0], 1.0)


def test_flow_pictures_are_drawn(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from elvkit.data import make_chairs_flow

    pair = make_chairs_flow(0, shape=(48, 64))
    fig = viz.compare_flows(pair.image1, pair.flow, {"zero": np.zeros_like(pair.flow), "truth": pair.flow})
    fig.savefig(tmp_path / "compare.png", dpi=40)
    assert "AEE 0.00 px" in [t.get_text() for ax in fig.axes for t in [ax.title]][5]
    ax = viz.show_flow_arrows(pair.image1, pair.flow, step=8)
    ax.figure.savefig(tmp_path / "arrows.png", dpi=40)
    ax = viz.plot_curves({"loss": [3.0, 2.0, 1.0]}, logy=True)
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="`curves` must map at least one name"):
        viz.plot_curves({})
    with pytest.raises(ValueError, match=r"`results\['x'\]` and `ground_truth`"):
        viz.compare_flows(pair.image1, pair.flow, {"x": np.zeros((4, 4, 2))})


@pytest.mark.parametrize("method", ["farneback", "dis", "pyramidal_lk"])
def test_opencv_flow_baselines_recover_a_translation(method):
    from elvkit import baselines
    from elvkit.data import make_affine_flow

    pair = make_affine_flow(0, shape=(96, 128), max_motion=3.0)
    fn = getattr(baselines, f"opencv_{method}")
    flow = fn(pair.image1, pair.image2)
    assert flow.shape == (96, 128, 2) and flow.dtype == np.float32
    zero = metrics.average_endpoint_error(np.zeros_like(flow), pair.flow)
    assert metrics.average_endpoint_error(flow, pair.flow) < 0.5 * zero
    with pytest.raises(ValueError, match="`image1` and `image2`"):
        fn(pair.image1, pair.image2[:10])


def test_opencv_pyramidal_lk_on_a_grid_is_interpolated():
    from elvkit.baselines import opencv_pyramidal_lk
    from elvkit.data import make_affine_flow

    pair = make_affine_flow(1, shape=(64, 96), max_motion=3.0)
    flow = opencv_pyramidal_lk(pair.gray(1), pair.gray(2), step=4)
    assert flow.shape == (64, 96, 2)
    assert metrics.average_endpoint_error(flow, pair.flow) < 1.0
