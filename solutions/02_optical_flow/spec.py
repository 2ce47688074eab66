"""Hidden-test inputs and comparison rules of assignment 02 (optical flow).

Each entry of ``SPECS`` makes seeded random inputs for one graded function.
Border conventions that the notebook leaves to the student (how a window sum
or a derivative treats the outermost pixels) are excluded with ``region``.
``pyramidal_lk`` is judged by its accuracy on generated pairs with exact
ground truth, not by equality with the reference: any sound coarse-to-fine
scheme passes.

The ``e2e_*`` entries judge the end-to-end cells on pairs generated for this
grading only (seeded from the student's secret seed), against their exact flow:

* ``e2e_optimise``: the student's unsupervised optimisation on a 96 x 128
  chairs-style pair must remove at least a tenth of the zero flow's endpoint
  error, and its loss must fall on the finest level (the reference, on 40 seeds:
  30-80 % removed, the last steps' loss at most 0.66 of the finest level's first);
  a wrong warp or a sign error makes the error grow instead;
* ``e2e_accuracy`` and ``e2e_baselines``: the student's pyramidal Lucas-Kanade
  on 192 x 256 affine and chairs-style pairs must stay within 1.3 x (+ 0.1 px) of
  the reference's endpoint error (the reference's own reaches 0.05-7.2 px on
  200 such pairs). Beating a fixed baseline is not a property of a correct
  method on random pairs (measured on 40 seeds: the reference beats OpenCV's
  Farneback on 72 % of the affine pairs and 82 % of the chairs-style ones), so
  the notebook's comparison with OpenCV is checked on its own pairs, and the
  grader checks on new pairs that the method is a correct one.
"""

import numpy as np

from autograder.integrity.specs import Case, Spec
from elvkit.testing import StudentCheckError


def _size(rng, lo=10, hi=28):
    return int(rng.integers(lo, hi)), int(rng.integers(lo, hi + 8))


def _interior(shape, r, trailing=()):
    h, w = shape
    region = np.zeros((h, w), bool)
    region[r: h - r, r: w - r] = True
    return np.broadcast_to(region.reshape((h, w) + (1,) * len(trailing)), (h, w) + tuple(trailing)).copy()


def _smooth_texture(rng, shape, sigma=1.5):
    import cv2

    return cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), sigma)


def _shifted(image, u, v):
    """``image`` moved by (u, v): frame 2 of a pair whose flow is (u, v) everywhere."""
    import cv2

    h, w = image.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, xs - np.float32(u), ys - np.float32(v), cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def _normal_flow_cases(rng):
    cases = []
    for dtype in (np.float64, np.float32, np.float64):
        shape = _size(rng)
        Ix, Iy, It = (rng.normal(0, 0.2, size=shape).astype(dtype) for _ in range(3))
        flat = rng.random(shape) < 0.15
        Ix[flat], Iy[flat] = 0, 0
        cases.append(Case((Ix, Iy, It), label=f"{shape[0]}x{shape[1]} {np.dtype(dtype).name} derivatives, "
                          f"some without gradient"))
    return cases


def _gradient_cases(rng):
    cases = []
    for _ in range(3):
        shape = _size(rng)
        I1 = rng.random(shape).astype(np.float32)
        I2 = np.clip(I1 + rng.normal(0, 0.1, size=shape), 0, 1).astype(np.float32)
        cases.append(Case((I1, I2), label=f"{shape[0]}x{shape[1]} random frames", region=_interior(shape, 1),
                          returns="any"))
    return cases


def _window_sum_cases(rng):
    cases = []
    for window in (3, 5, 7):
        shape = _size(rng, window + 6, 30)
        cases.append(Case((rng.normal(size=shape).astype(np.float32), window), label=f"{shape[0]}x{shape[1]}, "
                          f"window={window}", region=_interior(shape, window // 2), returns="numpy"))
    return cases


def _structure_tensor_cases(rng):
    cases = []
    for window in (3, 5, 9):
        shape = _size(rng, window + 6, 30)
        Ix, Iy = (rng.normal(0, 0.3, size=shape).astype(np.float32) for _ in range(2))
        cases.append(Case((Ix, Iy, window), label=f"{shape[0]}x{shape[1]}, window={window}",
                          region=_interior(shape, window // 2, (2, 2)), returns="numpy"))
    return cases


def _eigen_cases(rng):
    cases = []
    for label in ("random positive semi-definite", "nearly singular"):
        shape = _size(rng)
        a, b = rng.normal(size=shape + (2,)), rng.normal(size=shape + (2,))
        if label == "nearly singular":
            b = a * rng.uniform(0.5, 2, size=shape + (1,)) + 1e-3 * b
        G = np.einsum("...i,...j->...ij", a, a) + np.einsum("...i,...j->...ij", b, b)
        cases.append(Case((G.astype(np.float32),), label=f"{shape[0]}x{shape[1]} {label} matrices"))
    return cases


def _lk_cases(rng):
    cases = []
    for window in (7, 11):
        shape = _size(rng, 30, 44)
        tex = _smooth_texture(rng, shape)
        tex[:, : shape[1] // 4] = 0.5                         # a flat band: unreliable windows
        u, v = rng.uniform(-0.5, 0.5, size=2)
        cases.append(Case((tex, _shifted(tex, u, v)), {"window": window, "min_eigenvalue": 1e-3},
                          label=f"{shape[0]}x{shape[1]} texture moved by ({u:.2f}, {v:.2f}), window={window}",
                          region=_interior(shape, window // 2, (2,)), returns="numpy"))
    return cases


def _warp_cases(rng):
    cases = []
    for channels in (None, 3, None):
        shape = _size(rng)
        img = rng.random(shape if channels is None else shape + (channels,)).astype(np.float32)
        flow = rng.uniform(-3, 3, size=shape + (2,)).astype(np.float32)
        cases.append(Case((img, flow), label=f"{img.shape} image, flows up to 3 px (some leave the image)",
                          returns="numpy"))
    return cases


def _refine_cases(rng):
    cases = []
    for i in range(2):
        shape = _size(rng, 32, 44)
        tex = _smooth_texture(rng, shape, 2.0)
        u, v = rng.uniform(-2, 2, size=2)
        init = np.zeros(shape + (2,), np.float32)
        if i == 1:
            init[...] = (u + rng.uniform(-0.5, 0.5), v + rng.uniform(-0.5, 0.5))
        cases.append(Case((tex, _shifted(tex, u, v), init), {"window": 9, "iterations": 2},
                          label=f"{shape[0]}x{shape[1]} texture moved by ({u:.2f}, {v:.2f}), "
                          + ("zero start" if i == 0 else "start near the truth") + ", 2 iterations",
                          region=_interior(shape, 8, (2,)), returns="numpy"))
    return cases


def _pyramid_cases(rng):
    cases = []
    for levels in (2, 4):
        shape = _size(rng, 30, 70)
        cases.append(Case((rng.random(shape).astype(np.float32), levels), label=f"{shape[0]}x{shape[1]} image, "
                          f"{levels} levels"))
    return cases


def _upsample_cases(rng):
    cases = []
    for fine in ("twice", "odd"):
        h, w = _size(rng, 4, 12)
        flow = rng.normal(0, 2, size=(h, w, 2)).astype(np.float32)
        shape = (2 * h, 2 * w) if fine == "twice" else (2 * h - 1, 2 * w - 1)
        cases.append(Case((flow, shape), label=f"({h}, {w}, 2) flow to {shape}", returns="numpy"))
    return cases


def _pyramidal_lk_cases(rng):
    from elvkit.data import make_affine_flow, make_chairs_flow

    seeds = rng.integers(0, 10_000, size=2)
    pairs = [make_affine_flow(int(seeds[0]), shape=(96, 128), max_motion=6.0),
             make_chairs_flow(int(seeds[1]), shape=(128, 160), max_motion=10.0, background_motion=3.0)]
    return [Case((p.gray(1), p.gray(2)), label=f"a generated {p.shape[0]}x{p.shape[1]} pair "
                 f"({'affine motion' if i == 0 else 'chairs-style'}, motion up to {p.max_motion:.0f} px)",
                 truth=p.flow) for i, p in enumerate(pairs)]


def _compare_accuracy(actual, expected, case):
    from elvkit import metrics, to_numpy

    a = np.asarray(to_numpy(actual))
    if a.shape != case.truth.shape:
        raise StudentCheckError(f"the flow has shape {a.shape}, expected {case.truth.shape}")
    if not np.isfinite(a).all():
        raise StudentCheckError(f"the flow is NaN or inf at {int((~np.isfinite(a)).any(axis=-1).sum())} pixels; "
                                "pyramidal_lk should give a finite flow everywhere")
    mine = metrics.average_endpoint_error(a, case.truth)
    ref = metrics.average_endpoint_error(expected, case.truth)
    limit = 1.3 * ref + 0.1
    if mine > limit:
        raise StudentCheckError(f"its average endpoint error is {mine:.2f} px; the reference reaches {ref:.2f} px "
                                f"and {limit:.2f} px passes")


def _torch_features(rng, shape, channels, device=False):
    import torch

    import elvkit

    t = torch.as_tensor(rng.normal(size=(channels,) + shape).astype(np.float32))
    return t.to(elvkit.device()) if device else t


def _correlation_cases(rng):
    cases = []
    for radius, device in ((1, False), (3, False), (2, True)):
        shape, c = _size(rng, 6, 14), int(rng.integers(1, 6))
        f1, f2 = _torch_features(rng, shape, c, device), _torch_features(rng, shape, c, device)
        cases.append(Case((f1, f2, radius), label=f"({c}, {shape[0]}, {shape[1]}) features, radius={radius}"
                          + (" on elvkit.device()" if device else ""), returns="torch"))
    return cases


def _corr_volume(rng, radius, device=False):
    import torch

    import elvkit

    shape = _size(rng, 4, 10)
    t = torch.as_tensor(rng.normal(size=shape + ((2 * radius + 1) ** 2,)).astype(np.float32))
    return t.to(elvkit.device()) if device else t


def _argmax_cases(rng):
    return [Case((_corr_volume(rng, r, device), r), label=f"radius {r} volume" + (" on elvkit.device()" if device else ""),
                 returns="torch") for r, device in ((1, False), (3, False), (2, True))]


def _soft_argmax_cases(rng):
    return [Case((_corr_volume(rng, r), r), {"temperature": t}, label=f"radius {r} volume, temperature={t}",
                 returns="torch") for r, t in ((1, 1.0), (2, 0.3), (3, 2.5))]


def _torch_image(rng, shape, device=False):
    import torch

    import elvkit

    t = torch.as_tensor(rng.random(shape).astype(np.float32))
    return t.to(elvkit.device()) if device else t


def _backward_warp_cases(rng):
    import torch

    cases = []
    for channels, device in ((None, False), (2, False), (None, True)):
        shape = _size(rng)
        img = _torch_image(rng, shape if channels is None else (channels,) + shape, device)
        flow = torch.as_tensor(rng.uniform(-3, 3, size=shape + (2,)).astype(np.float32), device=img.device)
        cases.append(Case((img, flow), label=f"{tuple(img.shape)} image, flows up to 3 px"
                          + (" on elvkit.device()" if device else ""), returns="torch"))
    return cases


def _ssim_cases(rng):
    cases = []
    for related in (False, True):
        shape = _size(rng)
        a = _torch_image(rng, shape)
        b = (a + 0.1 * _torch_image(rng, shape)).clamp(0, 1) if related else _torch_image(rng, shape)
        cases.append(Case((a, b), label=f"{shape[0]}x{shape[1]} " + ("similar" if related else "unrelated")
                          + " images", returns="torch"))
    return cases


def _photometric_cases(rng):
    import torch

    cases = []
    for masked, alpha in ((False, 0.85), (True, 0.85), (True, 0.5)):
        shape = _size(rng)
        a, b = _torch_image(rng, shape), _torch_image(rng, shape)
        mask = torch.as_tensor(rng.random(shape) < 0.6) if masked else None
        cases.append(Case((a, b, mask), {"alpha": alpha},
                          label=f"{shape[0]}x{shape[1]} images, " + ("a mask" if masked else "no mask")
                          + f", alpha={alpha}", returns="torch"))
    return cases


def _fb_cases(rng):
    import torch

    cases = []
    for tau, beta in ((3.0, 0.05), (1.5, 0.2)):
        shape = _size(rng, 12, 30)
        fw = rng.uniform(-4, 4, size=shape + (2,))
        # backward flow: minus the forward one, plus disagreements around the threshold
        angle = rng.uniform(0, 2 * np.pi, size=shape)
        length = rng.uniform(0, 2.5 * tau, size=shape)
        bw = -fw + np.stack([length * np.cos(angle), length * np.sin(angle)], axis=-1)
        cases.append(Case((torch.as_tensor(fw, dtype=torch.float32), torch.as_tensor(bw, dtype=torch.float32)),
                          {"tau": tau, "beta": beta},
                          label=f"{shape[0]}x{shape[1]} flows, tau={tau}, beta={beta}", returns="torch"))
    return cases


def _smoothness_cases(rng):
    import torch

    cases = []
    for weight in (10.0, 1.0):
        shape = _size(rng)
        flow = torch.as_tensor(rng.normal(0, 2, size=shape + (2,)).astype(np.float32))
        cases.append(Case((flow, _torch_image(rng, shape)), {"edge_weight": weight},
                          label=f"{shape[0]}x{shape[1]} flow and image, edge_weight={weight}", returns="torch"))
    return cases


# ----------------------------------------------------------------------------------------------
# end-to-end: the student's methods on pairs nobody has seen

def _optimise_cases(rng):
    from elvkit.data import make_chairs_flow

    p = make_chairs_flow(int(rng.integers(0, 2**31 - 1)), shape=(96, 128), max_motion=6.0, background_motion=2.0)
    return [Case((p.gray(1), p.gray(2)), label="a 96x128 chairs-style pair generated for this grading, 200 steps",
                 truth={"flow": p.flow, "steps": 200, "levels": 4})]


def _judge_optimise(actual, expected, case):
    from elvkit import metrics, to_numpy

    t = case.truth
    if not isinstance(actual, (tuple, list)) or len(actual) != 2:
        raise StudentCheckError("optimise_flow should return (flow, losses)")
    flow = np.asarray(to_numpy(actual[0]), dtype=np.float64)
    losses = np.asarray([x for x in actual[1]] if isinstance(actual[1], (list, tuple)) else to_numpy(actual[1]),
                        dtype=np.float64).reshape(-1)
    if flow.shape != t["flow"].shape:
        raise StudentCheckError(f"the flow has shape {flow.shape}, expected {t['flow'].shape}")
    if len(losses) < 0.9 * t["steps"]:
        raise StudentCheckError(f"it recorded {len(losses)} losses for {t['steps']} steps: one loss per Adam step")
    if not np.isfinite(losses).all() or not np.isfinite(flow).all():
        raise StudentCheckError("the loss or the flow became NaN or inf: check the masks (an empty mask divides by 0)")
    start = metrics.average_endpoint_error(np.zeros_like(t["flow"]), t["flow"])
    end = metrics.average_endpoint_error(flow, t["flow"])
    if not end < 0.9 * start:
        raise StudentCheckError(f"the optimised flow's endpoint error is {end:.2f} px against "
                                f"{start:.2f} px for the zero flow: a correct coarse-to-fine optimisation removes at "
                                "least a tenth of it (typically two thirds)")
    last = losses[-(t["steps"] // t["levels"]):]
    if not np.mean(last[-5:]) < 0.9 * np.mean(last[:5]):
        raise StudentCheckError(f"on the finest level the loss goes from {np.mean(last[:5]):.4f} to "
                                f"{np.mean(last[-5:]):.4f}: it should fall as Adam runs")


def _lk_pairs(rng):
    from elvkit.data import make_affine_flow, make_chairs_flow

    seeds = rng.integers(0, 2**31 - 1, size=2)
    pairs = [("affine motion", make_affine_flow(int(seeds[0]), shape=(192, 256))),
             ("chairs-style", make_chairs_flow(int(seeds[1]), shape=(192, 256)))]
    return [Case((p.gray(1), p.gray(2)), label=f"a 192x256 {kind} pair generated for this grading, motion up to "
                 f"{p.max_motion:.0f} px", truth={"flow": p.flow, "image1": p.image1, "image2": p.image2})
            for kind, p in pairs]


def _judge_lk(actual, expected, case, baseline=False):
    from elvkit import metrics, to_numpy

    t = case.truth
    a = np.asarray(to_numpy(actual), dtype=np.float64)
    if a.shape != t["flow"].shape:
        raise StudentCheckError(f"the flow has shape {a.shape}, expected {t['flow'].shape}")
    if not np.isfinite(a).all():
        raise StudentCheckError(f"the flow is NaN or inf at {int((~np.isfinite(a)).any(axis=-1).sum())} pixels; "
                                "pyramidal_lk should give a flow at every pixel")
    mine = metrics.average_endpoint_error(a, t["flow"])
    ref = metrics.average_endpoint_error(expected, t["flow"])
    limit = 1.3 * ref + 0.1
    if mine > limit:
        extra = ""
        if baseline:
            from elvkit.baselines import opencv_farneback

            fb = metrics.average_endpoint_error(opencv_farneback(t["image1"], t["image2"]), t["flow"])
            extra = f" (OpenCV's Farneback: {fb:.2f} px)"
        raise StudentCheckError(f"your pyramidal Lucas-Kanade reaches an average endpoint error of {mine:.2f} px; a "
                                f"correct one reaches {ref:.2f} px here{extra}, and up to {limit:.2f} px passes. Check "
                                "the pyramid (is the flow scaled when upsampled?) and lk_refine.")


_YX = ("row y", "column x")
_FLOW = _YX + ("component (0 u, 1 v)",)

SPECS = {
    "normal_flow": Spec(_normal_flow_cases, rtol=1e-4, atol=1e-5,
                        hint="(u, v) = -It (Ix, Iy) / (Ix^2 + Iy^2); zero where Ix^2 + Iy^2 < eps."),
    "image_gradients": Spec(_gradient_cases, rtol=1e-5, atol=1e-5,
                            hint="Central differences of (I1 + I2) / 2; It = I2 - I1."),
    "window_sum": Spec(_window_sum_cases, rtol=1e-4, atol=1e-4),
    "structure_tensor": Spec(_structure_tensor_cases, rtol=1e-4, atol=1e-4),
    "smallest_eigenvalue": Spec(_eigen_cases, rtol=1e-3, atol=1e-4),
    "lucas_kanade": Spec(_lk_cases, rtol=1e-3, atol=1e-3, max_mismatch=0.01,
                         hint="NaN exactly where the smaller eigenvalue of G is below min_eigenvalue."),
    "warp_image": Spec(_warp_cases, rtol=0, atol=0.02,
                       hint="out(x, y) = image(x + u, y + v), bilinear, positions clamped to the image."),
    "lk_refine": Spec(_refine_cases, rtol=1e-2, atol=2e-2, max_mismatch=0.01),
    "gaussian_pyramid": Spec(_pyramid_cases, rtol=1e-5, atol=1e-5),
    "upsample_flow": Spec(_upsample_cases, rtol=1e-4, atol=1e-4),
    "pyramidal_lk": Spec(_pyramidal_lk_cases, compare=_compare_accuracy),
    "correlation_volume": Spec(_correlation_cases, rtol=1e-4, atol=1e-5),
    "correlation_to_flow": Spec(_argmax_cases, rtol=0, atol=0),
    "soft_argmax_flow": Spec(_soft_argmax_cases, rtol=1e-4, atol=1e-5),
    "backward_warp": Spec(_backward_warp_cases, rtol=1e-4, atol=1e-4),
    "ssim": Spec(_ssim_cases, rtol=1e-3, atol=1e-4),
    "photometric_loss": Spec(_photometric_cases, rtol=1e-4, atol=1e-5),
    "forward_backward_mask": Spec(_fb_cases, max_mismatch=0.01),
    "smoothness_loss": Spec(_smoothness_cases, rtol=1e-4, atol=1e-5),
    "e2e_optimise": Spec(_optimise_cases, compare=_judge_optimise, reference=None),
    "e2e_accuracy": Spec(_lk_pairs, compare=_judge_lk, reference="pyramidal_lk"),
    "e2e_baselines": Spec(_lk_pairs, compare=lambda a, e, c: _judge_lk(a, e, c, baseline=True),
                          reference="pyramidal_lk"),
}
_AXES = {"normal_flow": _FLOW, "image_gradients": _YX, "window_sum": _YX,
         "structure_tensor": _YX + ("G row", "G column"), "smallest_eigenvalue": _YX, "lucas_kanade": _FLOW,
         "warp_image": _YX + ("channel c",), "lk_refine": _FLOW, "gaussian_pyramid": _YX, "upsample_flow": _FLOW,
         "correlation_volume": _YX + ("offset index k",), "correlation_to_flow": _FLOW, "soft_argmax_flow": _FLOW,
         "backward_warp": {2: _YX, 3: ("channel c",) + _YX}, "ssim": _YX, "forward_backward_mask": _YX}
for _name, _axes in _AXES.items():
    SPECS[_name].axes = _axes

#: secret seeds the test suite tries each end-to-end check on with the reference (the optimisation takes
#: about 2 s a run; the docstring above gives the margins measured on more)
TRIALS = {"e2e_optimise": 2, "e2e_accuracy": 4, "e2e_baselines": 4}
