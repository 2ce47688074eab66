"""Hidden-test inputs and comparison rules of assignment 01 (stereo).

Each entry of ``SPECS`` makes seeded random inputs for one graded function.
Border conventions that the notebook leaves open (how windows are extended
past the image edge) are excluded from the comparison with ``region``.
"""

import numpy as np

from autograder.hidden import Case, Spec
from elvkit.geometry import StereoCalibration


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


SPECS = {
    "disparity_to_depth": Spec(_disparity_to_depth_cases, rtol=1e-5, atol=1e-6,
                               hint="NaN where the disparity is unknown, +inf where d + doffs <= 0."),
    "depth_to_disparity": Spec(_depth_to_disparity_cases, rtol=1e-5, atol=1e-6,
                               hint="NaN where the depth is NaN or <= 0; an infinite depth gives -doffs."),
    "reproject_to_3d": Spec(_reproject_cases, rtol=1e-5, atol=1e-6),
    "sad_cost": Spec(lambda rng: _cost_cases(rng, (3, 5, 3)), rtol=1e-4, atol=1e-4),
    "census_transform": Spec(_census_transform_cases),
    "census_cost": Spec(lambda rng: _cost_cases(rng, (3, 5, 7)), rtol=0, atol=1e-6),
    "winner_take_all": Spec(_wta_cases),
    "refine_subpixel": Spec(_subpixel_cases, rtol=1e-4, atol=1e-4),
    "sgm_step": Spec(_sgm_step_cases, rtol=1e-5, atol=1e-5),
    "aggregate_sgm": Spec(_aggregate_cases, rtol=1e-4, atol=1e-4),
    "right_cost_volume": Spec(_right_cost_cases, rtol=0, atol=0),
    "left_right_check": Spec(_lr_cases),
}
