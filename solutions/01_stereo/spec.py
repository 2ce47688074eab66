"""Hidden-test inputs and comparison rules of assignment 01 (stereo).

Each entry of ``SPECS`` makes seeded random inputs for one graded function.
Border conventions that the notebook leaves open (how windows are extended
past the image edge) are excluded from the comparison with ``region``.

The ``e2e_*`` entries judge the end-to-end cells: the student's own pipeline
(census cost, SGM, winner-take-all, sub-pixel, left-right check, depth) runs on
a scene generated for this grading only (``make_stereo_scene`` with a seed drawn
from the student's secret seed), and the grader scores what came back against
the scene's exact disparity, in its own process. The limits leave a wide margin
over what the reference reaches on such scenes (96 x 128, 24 disparities;
measured on 200 seeds: SGM bad-2.0 on non-occluded pixels 1.4-8.4 %, MAE
0.26-1.03 px, SGM/WTA bad-2.0 ratio at most 0.49, left-right density
84-96 %, mean relative depth error 0.5-2.1 %; without doffs the depth is off
by a factor of 5 or more). The self-supervised optimisation (300 Adam steps with
the reference's losses) leaves bad-2.0 of 7.6-40.4 % on 48 such scenes (median
16 %, 90th percentile 23 %), and 68-91 % with the warp in the wrong direction; its
limit is 55 %. Since the constant map the optimisation starts from already scores 18-66 % there, the grader also
rebuilds the left view from the returned map with the reference's warp and appearance loss, in its own process:
the loss must fall to at most 60 % of the constant map's (the reference: 17-35 % on 30 scenes), so a run that
leaves the map where it started (losses without gradient, or checks switched off in the kernel) fails.
"""

import numpy as np

from autograder.integrity.specs import Case, Spec
from elvkit.geometry import StereoCalibration
from elvkit.testing import StudentCheckError


def _size(rng, lo=6, hi=24):
    return int(rng.integers(lo, hi)), int(rng.integers(lo, hi + 8))


def _disparity_map(rng, shape, lo=0.5, hi=80.0, nan=0.1, dtype=np.float64):
    d = rng.uniform(lo, hi, size=shape)
    d[rng.random(shape) < nan] = np.nan
    return d.astype(dtype)


def _rig(rng, doffs=True):
    return dict(baseline=float(rng.uniform(50, 300)), focal=float(rng.uniform(300, 3000)),
                doffs=float(rng.uniform(0, 150)) if doffs else 0.0)


def _disparity_to_depth_cases(rng):
    cases = []
    for i, dtype in enumerate((np.float64, np.float32, np.float64, np.float64)):
        shape = _size(rng)
        d = _disparity_map(rng, shape, dtype=dtype)
        rig = _rig(rng, doffs=i % 2 == 0)
        if i == 2:      # zeros and negatives: no finite depth
            d.flat[rng.choice(d.size, size=max(2, d.size // 8), replace=False)] = -rig["doffs"] - rng.uniform(0, 3)
            d.flat[0] = -rig["doffs"]
        cases.append(Case((d, rig["baseline"], rig["focal"]), {"doffs": rig["doffs"]},
                          label=f"{shape[0]}x{shape[1]} {np.dtype(dtype).name} map, doffs={rig['doffs']:.1f}"))
    return cases


def _depth_to_disparity_cases(rng):
    cases = []
    for i in range(4):
        shape = _size(rng)
        z = rng.uniform(300, 30000, size=shape)
        z[rng.random(shape) < 0.1] = np.nan
        z[rng.random(shape) < 0.05] = np.inf
        if i == 3:
            z[rng.random(shape) < 0.1] = 0.0
            z[rng.random(shape) < 0.05] = -5.0
        rig = _rig(rng, doffs=i % 2 == 1)
        cases.append(Case((z, rig["baseline"], rig["focal"]), {"doffs": rig["doffs"]},
                          label=f"{shape[0]}x{shape[1]} depth map, doffs={rig['doffs']:.1f}"))
    return cases


def _reproject_cases(rng):
    cases = []
    for _ in range(3):
        shape = _size(rng)
        rig = _rig(rng)
        calib = StereoCalibration(focal=rig["focal"], cx=float(rng.uniform(0, shape[1])),
                                  cy=float(rng.uniform(0, shape[0])), baseline=rig["baseline"], doffs=rig["doffs"])
        cases.append(Case((_disparity_map(rng, shape), calib), label=f"{shape[0]}x{shape[1]} map, random calibration"))
    return cases


def _image_pair(rng, shape, true_disp):
    """A textured left image and a right image that sees it shifted by ``true_disp`` plus noise."""
    h, w = shape
    wide = rng.random((h, w + true_disp + 2)).astype(np.float32)
    left = wide[:, true_disp: true_disp + w]
    right = np.clip(wide[:, :w] + 0.05 * rng.standard_normal((h, w)), 0, 1).astype(np.float32)
    return left.copy(), right


def _cost_region(shape, window):
    """Compare where the window lies inside both images, and where x - d < 0 (the largest cost)."""
    n, h, w = shape
    r = window // 2
    d = np.arange(n)[:, None, None]
    y = np.arange(h)[None, :, None]
    x = np.arange(w)[None, None, :]
    inside = (y >= r) & (y < h - r) & (x >= d + r) & (x < w - r)
    return np.broadcast_to(inside | (x < d), shape)


def _cost_cases(rng, windows):
    cases = []
    for window in windows:
        h, w = int(rng.integers(window + 8, 28)), int(rng.integers(window + 14, 40))
        max_disp = int(rng.integers(3, 10))
        left, right = _image_pair(rng, (h, w), int(rng.integers(0, max_disp)))
        cases.append(Case((left, right, max_disp), {"window": window},
                          label=f"{h}x{w} pair, max_disp={max_disp}, window={window}",
                          region=_cost_region((max_disp, h, w), window), returns="numpy"))
    return cases


def _census_transform_cases(rng):
    cases = []
    for window in (3, 5, 7):
        h, w = int(rng.integers(window + 4, 24)), int(rng.integers(window + 4, 30))
        img = np.floor(rng.random((h, w)) * 6).astype(np.float32) / 5.0   # many ties: '<' must be strict
        r = window // 2
        region = np.zeros((h, w), bool)
        region[r: h - r, r: w - r] = True
        cases.append(Case((img,), {"window": window}, label=f"{h}x{w} image with ties, window={window}",
                          region=region, returns="numpy"))
    return cases


def _wta_cases(rng):
    cases = []
    for _ in range(3):
        n, (h, w) = int(rng.integers(2, 12)), _size(rng)
        cost = rng.integers(0, 5, size=(n, h, w)).astype(np.float32)   # ties: the smallest d wins
        cases.append(Case((cost,), label=f"({n}, {h}, {w}) volume with ties", returns="numpy"))
    return cases


def _subpixel_cases(rng):
    cases = []
    for i in range(3):
        n, (h, w) = int(rng.integers(3, 12)), _size(rng)
        cost = rng.random((n, h, w)).astype(np.float32)
        disp = cost.argmin(axis=0) if i < 2 else rng.integers(0, n, size=(h, w))
        cases.append(Case((cost, disp), label=f"({n}, {h}, {w}) volume, "
                          + ("its WTA disparity" if i < 2 else "arbitrary integer disparities")))
    return cases


def _sgm_step_cases(rng):
    import torch

    cases = []
    for shape, dtype in (((7, 9), torch.float32), ((2, 5, 12), torch.float32), ((6, 16), torch.float64)):
        p1 = float(rng.uniform(0.1, 3))
        p2 = p1 + float(rng.uniform(0.5, 10))
        L = torch.as_tensor(rng.uniform(0, 20, size=shape), dtype=dtype)
        C = torch.as_tensor(rng.uniform(0, 10, size=shape), dtype=dtype)
        cases.append(Case((L, C, p1, p2), label=f"tensors of shape {shape}, P1={p1:.2f}, P2={p2:.2f}",
                          returns="torch"))
    return cases


def _aggregate_cases(rng):
    import torch

    import elvkit

    cases = []
    settings = [("numpy float costs", 4, "numpy"), ("numpy census-like integer costs", 4, "numpy"),
                ("numpy float costs", 8, "numpy"), ("torch tensor on the CPU", 4, "cpu"),
                ("torch tensor on elvkit.device()", 8, "device")]
    for label, directions, kind in settings:
        n, h, w = int(rng.integers(3, 9)), int(rng.integers(2, 12)), int(rng.integers(2, 14))
        if "integer" in label:
            cost = rng.integers(0, 25, size=(n, h, w)).astype(np.float32)
            p1, p2 = float(rng.integers(1, 5)), float(rng.integers(6, 40))
        else:
            cost = rng.uniform(0, 5, size=(n, h, w)).astype(np.float32)
            p1 = float(rng.uniform(0.1, 1))
            p2 = p1 + float(rng.uniform(0.5, 4))
        arg = cost
        if kind == "cpu":
            arg = torch.as_tensor(cost)
        elif kind == "device":
            arg = torch.as_tensor(cost, device=elvkit.device())
        cases.append(Case((arg, p1, p2), {"directions": directions},
                          label=f"({n}, {h}, {w}) {label}, {directions} directions", returns="same"))
    return cases


def _right_cost_cases(rng):
    cases = []
    for _ in range(3):
        n, (h, w) = int(rng.integers(2, 10)), _size(rng)
        cases.append(Case((rng.random((n, h, w)).astype(np.float32),), label=f"({n}, {h}, {w}) volume"))
    return cases


def _lr_cases(rng):
    cases = []
    for i in range(3):
        h, w = _size(rng)
        true = rng.integers(0, 6, size=(h, w)).astype(np.float64)
        dl = true + rng.choice([0.0, 0.4, 0.9, 1.6, 3.0], size=(h, w), p=[0.5, 0.15, 0.1, 0.15, 0.1])
        dl[rng.random((h, w)) < 0.05] = np.nan
        dr = rng.integers(0, 6, size=(h, w)).astype(np.float64)
        # make most right disparities agree with the left ones they are seen from
        for y in range(h):
            for x in range(w):
                xr = x - int(true[y, x])
                if 0 <= xr < w and rng.random() < 0.8:
                    dr[y, xr] = true[y, x] + rng.choice([0.0, 0.5, -0.5, 2.0])
        kwargs = {} if i == 0 else {"max_diff": float(rng.choice([0.5, 1.5, 2.0]))}
        cases.append(Case((dl, dr), kwargs, label=f"{h}x{w} disparities {kwargs or ''}".strip(), returns="numpy"))
    return cases


# ----------------------------------------------------------------------------------------------
# end-to-end: the student's pipeline on a scene nobody has seen

E2E_SHAPE, E2E_MAX_DISP = (96, 128), 24


def _scene_cases(rng, calibrated=False):
    from elvkit.data import make_stereo_scene

    seed = int(rng.integers(0, 2**31 - 1))
    scene = make_stereo_scene(seed, shape=E2E_SHAPE, max_disp=E2E_MAX_DISP)
    h, w = E2E_SHAPE
    args = (scene.gray("left"), scene.gray("right"), scene.max_disp)
    truth = {"disparity": scene.disparity, "region": scene.nonoccluded}
    label = f"a {h}x{w} scene generated for this grading, max_disp={scene.max_disp}"
    if calibrated:          # a rig with a large doffs: depth without it is far off
        calib = StereoCalibration(focal=float(rng.uniform(500, 1500)), cx=float(rng.uniform(0.4, 0.6) * w),
                                  cy=float(rng.uniform(0.4, 0.6) * h), baseline=float(rng.uniform(100, 300)),
                                  doffs=float(rng.uniform(20, 80)))
        args += (calib,)
        truth["calib"] = calib
        label += f", baseline {calib.baseline:.0f} mm, f {calib.focal:.0f} px, doffs {calib.doffs:.1f} px"
    return [Case(args, label=label, truth=truth)]


def _maps(actual, n: int, what: str, shape) -> list:
    """The ``n`` (H, W) maps a pipeline returned, as float arrays; StudentCheckError if they are not that."""
    from elvkit import to_numpy

    items = list(actual) if isinstance(actual, (tuple, list)) else [actual]
    if len(items) != n:
        raise StudentCheckError(f"the pipeline should give {what}; got {len(items)} result(s)")
    out = []
    for item in items:
        try:
            a = np.asarray(to_numpy(item), dtype=np.float64)
        except (TypeError, ValueError):
            raise StudentCheckError(f"the pipeline gave a {type(item).__name__}, not a disparity map") from None
        if a.shape != tuple(shape):
            raise StudentCheckError(f"a map of shape {a.shape}, expected {tuple(shape)}")
        out.append(a)
    return out


def _bad2(d, truth) -> float:
    from elvkit import metrics

    return metrics.bad_pixel_rate(d, truth["disparity"], 2.0, mask=truth["region"])


def _mae(d, truth) -> float:
    from elvkit import metrics

    return metrics.mean_absolute_error(d, truth["disparity"], mask=truth["region"])


def _judge_sgm_beats_wta(actual, expected, case):
    t = case.truth
    wta, sgm = _maps(actual, 2, "(winner-take-all disparity, SGM disparity)", t["disparity"].shape)
    bad_wta, bad_sgm = _bad2(wta, t), _bad2(sgm, t)
    if not bad_sgm < 0.8 * bad_wta:
        raise StudentCheckError(f"SGM leaves {bad_sgm:.1%} bad pixels (bad-2.0, non-occluded) and "
                                f"winner-take-all {bad_wta:.1%}: SGM should make clearly fewer (under 80% of "
                                "winner-take-all's). Check sgm_step and aggregate_sgm.")


def _judge_accuracy(actual, expected, case):
    t = case.truth
    (sgm,) = _maps(actual, 1, "the SGM disparity", t["disparity"].shape)
    bad, mae = _bad2(sgm, t), _mae(sgm, t)
    if not (bad <= 0.15 and mae <= 2.0):
        raise StudentCheckError(f"your census + SGM pipeline reaches bad-2.0 = {bad:.1%} and an MAE "
                                f"of {mae:.2f} px on the non-occluded pixels; a correct one stays below 15% and 2 px "
                                "(typically 3% and 0.5 px).")


def _judge_lr(actual, expected, case):
    t = case.truth
    sgm, kept = _maps(actual, 2, "(SGM disparity, left-right consistency mask)", t["disparity"].shape)
    mask = kept > 0.5
    density = float(mask.mean())
    if not 0.7 <= density < 0.99:
        raise StudentCheckError(f"the left-right check keeps {density:.1%} of the pixels; a correct "
                                "check keeps between 70% and 99% (occlusions and the left border go).")
    mae_all, mae_kept = _mae(sgm, t), _mae(np.where(mask, sgm, np.nan), t)
    if not mae_kept < mae_all:
        raise StudentCheckError(f"the pixels the left-right check keeps have an MAE of {mae_kept:.2f} "
                                f"px against {mae_all:.2f} px for all of them: removing inconsistent pixels should "
                                "lower it.")


def _judge_depth(actual, expected, case):
    t = case.truth
    (depth,) = _maps(actual, 1, "the depth map", t["disparity"].shape)
    c = t["calib"]
    true = c.baseline * c.focal / (t["disparity"] + c.doffs)         # the grader's own triangulation
    both = t["region"] & np.isfinite(depth) & np.isfinite(true)
    if both.sum() < 0.5 * t["region"].sum():
        raise StudentCheckError(f"the depth map is finite at only {both.sum()} of the "
                                f"{int(t['region'].sum())} non-occluded pixels.")
    rel = float(np.mean(np.abs(depth[both] - true[both]) / true[both]))
    if not rel <= 0.05:
        ratio = float(np.median(depth[both] / true[both]))
        raise StudentCheckError(f"the depth of your consistent SGM disparities is off by "
                                f"{rel:.1%} on average (median ratio to the true depth {ratio:.3g}); a correct "
                                "pipeline stays within 5%. Check disparity_to_depth: Z = B f / (d + doffs), in the "
                                "unit of the baseline.")


# ----------------------------------------------------------------------------------------------
# Part 7: self-supervised depth (torch, differentiable)

def _torch_image(rng, shape, device=False):
    import torch

    import elvkit

    t = torch.as_tensor(rng.random(shape).astype(np.float32))
    return t.to(elvkit.device()) if device else t


def _ss_warp_cases(rng):
    import torch

    cases = []
    for device in (False, False, True):
        shape = _size(rng, 8, 24)
        img = _torch_image(rng, shape, device)
        d = torch.as_tensor(rng.uniform(0, 6, size=shape).astype(np.float32), device=img.device)
        cases.append(Case((img, d), label=f"{shape[0]}x{shape[1]} image, disparities 0-6 px (some leave the image)"
                          + (" on elvkit.device()" if device else ""), returns="torch"))
    return cases


def _ss_ssim_cases(rng):
    cases = []
    for related in (False, True):
        shape = _size(rng, 6, 20)
        a = _torch_image(rng, shape)
        b = (a + 0.1 * _torch_image(rng, shape)).clamp(0, 1) if related else _torch_image(rng, shape)
        cases.append(Case((a, b), label=f"{shape[0]}x{shape[1]} " + ("similar" if related else "unrelated") + " images",
                          returns="torch"))
    return cases


def _ss_appearance_cases(rng):
    cases = []
    for alpha in (0.85, 0.5):
        shape = _size(rng, 6, 20)
        cases.append(Case((_torch_image(rng, shape), _torch_image(rng, shape)), {"alpha": alpha},
                          label=f"{shape[0]}x{shape[1]} images, alpha={alpha}", returns="torch"))
    return cases


def _ss_smoothness_cases(rng):
    import torch

    cases = []
    for weight in (10.0, 1.0):
        shape = _size(rng, 6, 20)
        d = torch.as_tensor(rng.uniform(0, 20, size=shape).astype(np.float32))
        cases.append(Case((d, _torch_image(rng, shape)), {"edge_weight": weight},
                          label=f"{shape[0]}x{shape[1]} disparity and image, edge_weight={weight}", returns="torch"))
    return cases


def _ss_lr_cases(rng):
    import torch

    cases = []
    for _ in range(2):
        shape = _size(rng, 8, 24)
        dl = rng.uniform(0, 8, size=shape)
        dr = dl + rng.normal(0, 1.0, size=shape)               # nearly consistent, with disagreements
        cases.append(Case((torch.as_tensor(dl, dtype=torch.float32), torch.as_tensor(dr, dtype=torch.float32)),
                          label=f"{shape[0]}x{shape[1]} left and right disparities, 0-8 px", returns="torch"))
    return cases


def _ss_scene_cases(rng):
    cases = _scene_cases(rng)
    cases[0].label += ", 300 Adam steps"
    return cases


#: the largest ratio of the reference's photometric loss of the returned map to that of the constant map the
#: optimisation starts from (the reference: at most 0.35 on 30 scenes; doing nothing: 1)
E2E_PHOTO_RATIO = 0.6


def _photometric(d, case) -> float:
    """The reference's appearance loss of the left view rebuilt from the right one with the disparity ``d``,
    computed here: how well ``d`` explains the pair, whatever losses produced it."""
    import torch

    from autograder.integrity.reference import load

    ref = load("01_stereo")
    left, right = (torch.as_tensor(np.asarray(x), dtype=torch.float32) for x in case.args[:2])
    with torch.no_grad():
        return float(ref.appearance_loss(left, ref.warp_right_to_left(right, torch.as_tensor(d, dtype=torch.float32))))


def _judge_self_supervised(actual, expected, case):
    t = case.truth
    (d,) = _maps(actual, 1, "the optimised disparity map", t["disparity"].shape)
    if not np.isfinite(d).all():
        raise StudentCheckError("the optimised disparity has NaN or inf values: check the three losses")
    start = np.full(d.shape, case.args[2] / 4.0)              # where optimise_disparity starts
    ratio = _photometric(d, case) / max(_photometric(start, case), 1e-12)
    if not ratio <= E2E_PHOTO_RATIO:
        raise StudentCheckError(f"the grader rebuilt the left view from the right one with the disparity your losses "
                                f"produced: its appearance loss is {ratio:.0%} of the constant map's the optimisation "
                                f"starts from (with correct losses: at most 35 %; {E2E_PHOTO_RATIO:.0%} passes). The "
                                "optimisation barely moved the map: check that the losses depend on the disparity "
                                "(gradients flow through the warp) and the warp's direction")
    bad = _bad2(d, t)
    if not bad <= 0.55:
        raise StudentCheckError(f"the disparity optimised with your losses leaves {bad:.1%} bad pixels (bad-2.0, "
                                "non-occluded); with correct losses it stays below 55% (typically 10-25%; a warp in "
                                "the wrong direction leaves 70-90%). Check the warp's direction, then the appearance "
                                "loss.")


_YX = ("row y", "column x")
_DYX = ("disparity d", "row y", "column x")

SPECS = {
    "disparity_to_depth": Spec(_disparity_to_depth_cases, rtol=1e-5, atol=1e-6, axes=_YX,
                               hint="NaN where the disparity is unknown or d + doffs < 0 (behind the cameras), +inf where d + doffs == 0."),
    "depth_to_disparity": Spec(_depth_to_disparity_cases, rtol=1e-5, atol=1e-6, axes=_YX,
                               hint="NaN where the depth is NaN or <= 0; an infinite depth gives -doffs."),
    "reproject_to_3d": Spec(_reproject_cases, rtol=1e-5, atol=1e-6, axes=_YX + ("coordinate (0 X, 1 Y, 2 Z)",)),
    "sad_cost": Spec(lambda rng: _cost_cases(rng, (3, 5, 3)), rtol=1e-4, atol=1e-4, axes=_DYX),
    "census_transform": Spec(_census_transform_cases, axes=_YX),
    "census_cost": Spec(lambda rng: _cost_cases(rng, (3, 5, 7)), rtol=0, atol=1e-6, axes=_DYX),
    "winner_take_all": Spec(_wta_cases, axes=_YX),
    "refine_subpixel": Spec(_subpixel_cases, rtol=1e-4, atol=1e-4, axes=_YX),
    "sgm_step": Spec(_sgm_step_cases, rtol=1e-5, atol=1e-5, axes=(..., "disparity d")),
    "aggregate_sgm": Spec(_aggregate_cases, rtol=1e-4, atol=1e-4, axes=_DYX),
    "right_cost_volume": Spec(_right_cost_cases, rtol=0, atol=0, axes=_DYX),
    "left_right_check": Spec(_lr_cases, axes=_YX),
    "e2e_sgm_beats_wta": Spec(_scene_cases, compare=_judge_sgm_beats_wta, reference=None),
    "e2e_accuracy": Spec(_scene_cases, compare=_judge_accuracy, reference=None),
    "e2e_lr": Spec(_scene_cases, compare=_judge_lr, reference=None),
    "e2e_depth": Spec(lambda rng: _scene_cases(rng, calibrated=True), compare=_judge_depth, reference=None),
    "warp_right_to_left": Spec(_ss_warp_cases, rtol=1e-4, atol=1e-4, axes=_YX,
                               hint="out(x, y) = right(x - d(x, y), y), bilinear, border repeated."),
    "ssim": Spec(_ss_ssim_cases, rtol=1e-3, atol=1e-4, axes=_YX,
                 hint="3x3 mean window, reflect padding, statistics divided by 9."),
    "appearance_loss": Spec(_ss_appearance_cases, rtol=1e-4, atol=1e-5),
    "disparity_smoothness": Spec(_ss_smoothness_cases, rtol=1e-4, atol=1e-5),
    "lr_consistency_loss": Spec(_ss_lr_cases, rtol=1e-4, atol=1e-5),
    "e2e_self_supervised": Spec(_ss_scene_cases, compare=_judge_self_supervised, reference=None),
}

#: secret seeds the test suite tries each end-to-end check on with the reference (more in the docstring above)
TRIALS = {name: 25 for name in SPECS if name.startswith("e2e_")}
TRIALS["e2e_self_supervised"] = 4          # an optimisation of about 2 s a run; margins measured on more (above)
