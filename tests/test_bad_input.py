"""Every public function of elvkit answers bad input with one clear error that names the argument."""

import numpy as np
import pytest

from elvkit import metrics, viz
from elvkit.baselines import opencv_dis, opencv_farneback, opencv_sgbm
from elvkit.data import (load_kitti2015, load_kitti2015_flow, load_middlebury, load_middlebury_flow, load_sintel,
                         make_affine_flow, make_chairs_flow, make_stereo_scene, write_flo, write_kitti_disparity,
                         write_pfm)
from elvkit.geometry import StereoCalibration, warp_by_disparity

IMG = np.zeros((8, 10))
NAN_IMG = np.full((8, 10), np.nan)

CASES = [
    (lambda: warp_by_disparity(NAN_IMG, IMG), ValueError, "`right` contains NaN"),
    (lambda: warp_by_disparity(np.zeros((8, 10, 5)), IMG), ValueError, r"`right` must have shape \(H, W\) or \(H, W, 3\)"),
    (lambda: warp_by_disparity(IMG, np.zeros(10)), ValueError, "`disparity` must be 2-D"),
    (lambda: warp_by_disparity(IMG.astype(bool), IMG), TypeError, "`right` must hold numbers"),
    (lambda: warp_by_disparity(np.zeros((0, 10)), IMG), ValueError, "`right` must not be empty"),
    (lambda: warp_by_disparity("image", IMG), TypeError, "`right` must be a numpy array"),
    (lambda: StereoCalibration(focal=1.0, cx=0, cy=0, baseline=1.0).scaled(0), ValueError, "`factor` must be > 0"),
    (lambda: metrics.stereo_metrics(IMG, np.zeros((8, 11))), ValueError, "`disparity` and `ground_truth`"),
    (lambda: metrics.density(np.zeros(3)), ValueError, "`disparity` must be 2-D"),
    (lambda: make_stereo_scene(-1), ValueError, "`seed` must be >= 0"),
    (lambda: make_stereo_scene(0, max_disp=4), ValueError, "`max_disp` must be >= 8"),
    (lambda: make_stereo_scene(0, textures=[]), ValueError, "`textures`"),
    (lambda: make_stereo_scene(0, textures=["no_such_image"]), ValueError, "`textures`.*no_such_image"),
    (lambda: load_middlebury("Nowhere"), ValueError, "`scene` must be one of"),
    (lambda: load_middlebury("Piano", scale=2.0), ValueError, "`scale` must be <= 1.0"),
    (lambda: load_kitti2015(200), ValueError, "`index` must be <= 199"),
    (lambda: write_pfm("x.pfm", np.zeros((2, 2, 4))), ValueError, r"`image` must have shape"),
    (lambda: write_kitti_disparity("x.png", np.full((2, 2), 300.0)), ValueError, "below 256"),
    (lambda: opencv_sgbm(IMG, np.zeros((8, 12)), 16), ValueError, "`left` and `right`"),
    (lambda: opencv_sgbm(IMG, IMG, 0), ValueError, "`max_disp` must be >= 1"),
    (lambda: viz.disparity_to_rgb(IMG, vmin=3, vmax=1), ValueError, "`vmin` must be below `vmax`"),
    (lambda: viz.show_images([]), ValueError, "`images` must hold at least one image"),
    (lambda: viz.compare_disparities(np.zeros((8, 10, 3)), IMG, {"SGM": np.zeros((4, 4))}), ValueError,
     r"`results\['SGM'\]` and `ground_truth`"),
    (lambda: viz.plot_cost_curve({"c": np.zeros((2, 2))}), ValueError, r"`costs\['c'\]` must be 1-D"),
    (lambda: viz.show_stereo_pair(IMG), TypeError, "`pair` must be an elvkit.data.StereoPair"),
    (lambda: viz.show_mask(np.zeros((8, 10, 3)), np.zeros((7, 10), bool)), ValueError, "`image` and `mask`"),
    (lambda: make_chairs_flow(0, shape=(16, 64)), ValueError, r"`shape\[0\]` must be >= 32"),
    (lambda: make_chairs_flow(0, n_objects=-2), ValueError, "`n_objects` must be >= 0"),
    (lambda: make_affine_flow(0, max_motion=-1.0), ValueError, "`background_motion` must be >= 0"),
    (lambda: make_affine_flow(0, brightness=-1.0), ValueError, "`brightness` must be >= -0.9"),
    (lambda: make_chairs_flow(0, textures=["nope"]), ValueError, "`textures`.*nope"),
    (lambda: load_sintel("nowhere_1"), ValueError, "`scene` must be one of"),
    (lambda: load_sintel("alley_1", pass_name="dirty"), ValueError, "`pass_name` must be 'clean' or 'final'"),
    (lambda: load_sintel("alley_1", 0), ValueError, "`frame` must be >= 1"),
    (lambda: load_kitti2015_flow(-1), ValueError, "`index` must be >= 0"),
    (lambda: load_middlebury_flow("Venus2"), ValueError, "`scene` must be one of"),
    (lambda: write_flo("x.flo", np.zeros((4, 4, 3))), ValueError, r"`flow` must have shape \(H, W, 2\)"),
    (lambda: opencv_dis(IMG, IMG, preset="slow"), ValueError, "`preset` must be one of"),
    (lambda: opencv_farneback(IMG, np.zeros((8, 12))), ValueError, "`image1` and `image2`"),
    (lambda: metrics.flow_outlier_rate(np.zeros((8, 10, 2)), np.zeros((8, 10, 2)), threshold=-1), ValueError,
     "`threshold` must be >= 0"),
    (lambda: viz.flow_to_rgb(IMG), ValueError, "`flow` must be 3-D"),
    (lambda: viz.flow_to_rgb(np.zeros((8, 10, 2)), max_flow=-2.0), ValueError, "`max_flow` must be > 0"),
]


@pytest.mark.parametrize("call, exc, match", CASES, ids=[c[2][:40] for c in CASES])
def test_bad_input_is_explained(call, exc, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(exc, match=match):
        call()
