"""Hidden-test inputs and comparison rules of assignment 03 (self-supervised representations).

Each entry of ``SPECS`` makes seeded inputs for one graded function. Several hidden cells check a small
wrapper around the student's function (defined in the hidden cell) that also returns gradients or a
second call's result; their ``compare`` computes the same wrapper's answer with the reference, here in
the grader's process.

* ``two_views`` is random: it is judged by its properties on inputs built to show them -- the same seed
  gives the same views, the two views differ, the identity configuration returns the images, a mirrored
  crop reverses a horizontal ramp, and the crops' mean area matches the reference's (a two-channel
  image whose channels are an x and a y ramp measures each crop's box).
* ``networks`` is judged by the interface (shapes, finite values that depend on the image) and by the
  parameter count of the architecture the notebook describes.
* ``linear_probe`` and ``knn_classify`` are judged by their predictions (at most 2 % / 1 % may differ:
  near-ties that float rounding can flip).
* ``e2e_simclr`` judges the student's ``train_simclr`` alone: the hidden test runs it with the grader's own
  networks (Part 3's architecture), views (Part 1's augmentations) and NT-Xent standing in for the student's (bound
  to the notebook's names ``two_views`` and ``nt_xent`` for the call, restored after), so that a mistake in an
  earlier part costs points in its own cells only. It trains on the training digits in an order drawn from the
  student's secret seed, for 100 steps, and records the trained **weights** (both state dicts) with what the
  networks computed on 64 training digits and on 64 noise images, and what the stand-ins noticed (whether the encoder moved, steps whose
  ``.grad`` held more than that step's gradient; calls whose two embeddings were the same tensor: for the
  message's wording only). The grader rebuilds the networks from the weights in its own process and checks that
  they compute what the kernel did (else something in the kernel changed the stand-ins: flagged for a person).
  Everything else is computed on the rebuilt networks: the test digits' representations, probed with the
  reference's linear probe and 10 labels per class (5 draws; the kernel never sees the test digits), and the
  reference's NT-Xent on fresh views of the training digits drawn from the grader's own seed, against an untrained
  network's. The loss must fall (in the kernel's log, and by more than 0.3 on the grader's views) and the probe
  must reach 0.90. Measured over 10 seeds (``bench/e2e_margins.py``), the reference reaches 0.92-0.93; a loop that
  trains only the head (0.83-0.84), never zeroes its gradients (0.88) or embeds one view twice (0.86, and its
  NT-Xent barely falls) fails. Above 0.985 the representations carry the labels (learnt from them): that fails
  too, flagged for a person. Representations wider than 4,096 are refused.
* ``nt_xent`` is judged in four parts, each in its own cell so that its points follow the part: the value in float64
  and float32 (with the common mistakes named), the gradient in float64, the value in float16 and bfloat16 at
  tau 0.05 (finite, within 3 %), and -- on a right value -- the size of its autograd graph, which the hidden test measures: the notebook
  asks for a vectorised loss, whose graph has the same dozen or so operations for any batch (the reference: 15),
  where a loop over views or pairs adds operations with every view (140 for 6 pairs over anchors, 1,649 for the
  double loop of ``elvkit.contrastive.nt_xent_loop``). At most 64 pass.
"""

import numpy as np

from autograder.integrity.specs import Case, ForReview, PassedNote, Spec
from elvkit.testing import StudentCheckError, assert_close

ASSIGNMENT = "03_self_supervised"


def _ref():
    from autograder.integrity.reference import load

    return load(ASSIGNMENT)


def _t(array, device=False):
    import torch

    import elvkit

    t = torch.as_tensor(np.ascontiguousarray(array))
    return t.to(elvkit.device()) if device else t


def _np(x):
    from elvkit import to_numpy

    return np.asarray(to_numpy(x))


def _images(rng, b, c, h, w):
    return rng.random((b, c, h, w)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Part 1: augmentations

def _crop_cases(rng):
    cases = []
    for i, (c, h, w, size) in enumerate(((1, 8, 8, 8), (3, 10, 14, 6), (1, 9, 9, 12))):
        b = int(rng.integers(3, 7))
        x0, y0 = rng.uniform(-1, w / 2, b), rng.uniform(-1, h / 2, b)
        x1, y1 = x0 + rng.uniform(2, w, b), y0 + rng.uniform(2, h, b)
        flip = rng.random(b) < 0.4
        boxes = np.stack([np.where(flip, x1, x0), y0, np.where(flip, x0, x1), y1], 1).astype(np.float32)
        cases.append(Case((_t(_images(rng, b, c, h, w), device=i == 1), _t(boxes, device=i == 1), size),
                          label=f"{b} images {c}x{h}x{w}, random boxes (some mirrored, some partly outside), "
                          f"size {size}" + (" on elvkit.device()" if i == 1 else ""), returns="torch"))
    return cases


def _jitter_cases(rng):
    cases = []
    for c in (1, 3):
        b = int(rng.integers(3, 7))
        cases.append(Case((_t(_images(rng, b, c, 9, 11)), _t(rng.uniform(-0.4, 0.4, b).astype(np.float32)),
                           _t(rng.uniform(0.5, 1.8, b).astype(np.float32))),
                          label=f"{b} images with {c} channel(s), random brightness and contrast", returns="torch"))
    return cases


def _blur_cases(rng):
    cases = []
    for c, radius in ((1, 2), (2, 3)):
        b = int(rng.integers(3, 7))
        sigma = rng.uniform(0, 1.5, b).astype(np.float32)
        sigma[0] = 0.0
        cases.append(Case((_t(_images(rng, b, c, 10, 9)), _t(sigma)), {"radius": radius},
                          label=f"{b} images with {c} channel(s), sigma from 0 to 1.5, radius {radius}",
                          returns="torch"))
    return cases


_AUG = dict(min_scale=0.3, ratio=(3 / 4, 4 / 3), flip=0.0, brightness=0.4, contrast=0.4, blur_p=0.5, sigma=1.0,
            noise=0.05)
_IDENTITY = dict(min_scale=1.0, ratio=(1.0, 1.0), flip=0.0, brightness=0.0, contrast=0.0, blur_p=0.0, sigma=1.0,
                 noise=0.0)


def _ramps(n, size=12):
    """n two-channel images: channel 0 is x / W at each pixel centre, channel 1 is y / H."""
    centres = (np.arange(size) + 0.5) / size
    x = np.broadcast_to(centres[None, :], (size, size))
    return np.broadcast_to(np.stack([x, x.T])[None], (n, 2, size, size)).astype(np.float32).copy()


def _views_cases(rng):
    from elvkit.data import load_digits

    digits = load_digits().train_images
    pick = rng.choice(len(digits), 64, replace=False)
    crop_only = dict(_IDENTITY, min_scale=0.3, ratio=(3 / 4, 4 / 3))
    return [
        Case((_t(digits[pick]), int(rng.integers(1 << 30)), dict(_AUG)), label="64 digits, the course's AUGMENT",
             truth="augment"),
        Case((_t(digits[pick[:16]]), int(rng.integers(1 << 30)), dict(_IDENTITY)), label="16 digits, IDENTITY",
             truth="identity"),
        Case((_t(_ramps(256)), int(rng.integers(1 << 30)), dict(crop_only)),
             label="256 ramp images (x and y channels), crops only (min_scale 0.3)", truth="crop"),
        Case((_t(_ramps(64)), int(rng.integers(1 << 30)), dict(crop_only, flip=1.0)),
             label="64 ramp images, crops always mirrored (flip 1.0)", truth="flip"),
    ]


def _boxes_from_ramps(view):
    """The (width, height) fraction of the image each crop covered, read back from the ramps."""
    v = _np(view).astype(np.float64)
    n = v.shape[-1]
    width = np.abs(v[:, 0, :, -1] - v[:, 0, :, 0]).mean(1) * n / (n - 1)
    height = np.abs(v[:, 1, -1, :] - v[:, 1, 0, :]).mean(1) * n / (n - 1)
    return width, height


def _judge_views(actual, expected, case):
    if not isinstance(actual, (tuple, list)) or len(actual) != 3:
        raise StudentCheckError("two_views should return two views (view1, view2)")
    images = _np(case.args[0])
    a1, a2, b1 = (_np(x) for x in actual)
    for name, v in (("view 1", a1), ("view 2", a2)):
        if v.shape != images.shape:
            raise StudentCheckError(f"{name} has shape {v.shape}, expected the images' {images.shape}")
        if not np.isfinite(v).all() or v.min() < -1e-6 or v.max() > 1 + 1e-6:
            raise StudentCheckError(f"{name} has values outside [0, 1] (from {v.min():.3g} to {v.max():.3g}): "
                                    "clip after adding the noise")
    if not np.allclose(a1, b1, atol=1e-6):
        raise StudentCheckError("two calls with the same seed gave different views: draw every random number from "
                                "the generator made from the seed, not from torch's global one")
    kind = case.truth
    if kind == "identity":
        assert_close(a1, images, name="a view with the IDENTITY configuration", atol=1e-5, rtol=0,
                     hint="min_scale = 1 and ratio (1, 1) give the box (0, 0, W, H); no jitter, blur or noise: the image itself.")
        return
    if kind == "augment" and np.abs(a1 - a2).mean() < 0.02:
        raise StudentCheckError("the two views of each image are (nearly) identical: each view must draw its own "
                                "crop, jitter, blur and noise")
    if kind in ("crop", "flip"):
        dx = np.diff(a1[:, 0], axis=-1)
        if kind == "flip" and not (dx <= 1e-6).all():
            raise StudentCheckError("with flip = 1 every crop should be mirrored (x decreasing along a row of an x "
                                    "ramp), but some are not: swap x0 and x1 of the box when flipping")
        if kind == "crop" and not (dx >= -1e-6).all():
            raise StudentCheckError("with flip = 0 some crops are mirrored (x decreasing along a row of an x ramp)")
        w, h = _boxes_from_ramps(a1)
        ew, eh = _boxes_from_ramps(expected[0])
        area, ref_area = float(np.mean(w * h)), float(np.mean(ew * eh))
        if abs(area - ref_area) > 0.06:
            raise StudentCheckError(f"the crops cover on average {area:.2f} of the image; with min_scale 0.3 the "
                                    f"reference's cover {ref_area:.2f}: the area fraction s ~ U[min_scale, 1] sets "
                                    "width W sqrt(s r) and height H sqrt(s / r)")


# ----------------------------------------------------------------------------------------------
# Part 2: NT-Xent

def _nt_xent_cases(rng, kinds=("value", "gradient", "low", "graph")):
    """NT-Xent's hidden inputs (the same five pairs of batches for every part, drawn once), those of ``kinds``:
    float64/32 for the value, float64 for the gradient and the graph, float16/bfloat16 for the stability."""
    import torch

    cases = []
    for dtype, n, d, tau in ((torch.float64, 6, 5, 0.5), (torch.float64, 9, 16, 0.07), (torch.float32, 12, 8, 1.3),
                             (torch.float16, 16, 8, 0.05), (torch.bfloat16, 16, 8, 0.05)):
        z1 = rng.normal(size=(n, d))
        z2 = z1 + rng.normal(0, 0.5, size=(n, d))
        kind = {"value", "gradient", "graph"} if dtype == torch.float64 else \
            {"value"} if dtype == torch.float32 else {"low"}
        if kind & set(kinds):
            cases.append(Case((_t(z1).to(dtype), _t(z2).to(dtype), tau),
                              label=f"{n} pairs in {d}-D, {str(dtype).replace('torch.', '')}, tau {tau}",
                              truth=(z1, z2, tau)))
    return cases


#: the most operations the autograd graph of a vectorised NT-Xent may have (the reference: 15, a cross-entropy
#: version: 13; a loop over the 2N anchors: 140 for 6 pairs)
NT_XENT_GRAPH = 64


def _nt_xent_mistaken(a, b, tau, mistake: str):
    """NT-Xent as a common mistake computes it, differentiable (float64 tensors ``a``, ``b``)."""
    import torch
    import torch.nn.functional as F

    n = len(a)
    rows = torch.arange(2 * n)
    positive = (rows + n) % (2 * n)
    eye = torch.eye(2 * n, dtype=torch.bool)
    unit, raw = F.normalize(torch.cat([a, b]), dim=1), torch.cat([a, b])

    def each(z, t, mask=True, pos=positive):
        logits = z @ z.T / t
        if mask:
            logits = logits.masked_fill(eye, float("-inf"))
        return torch.logsumexp(logits, dim=1) - (z @ z.T / t)[rows, pos]

    return {"anchor": lambda: each(unit, tau, False).mean(), "raw": lambda: each(raw, tau).mean(),
            "itself": lambda: each(unit, tau, pos=rows).mean(), "tau2": lambda: each(unit, tau * tau).mean(),
            "tau3": lambda: each(unit, tau ** 3).mean(), "tau0": lambda: each(unit, 1.0).mean(),
            "half": lambda: each(unit, tau)[:n].mean(), "sum": lambda: each(unit, tau).sum()}[mistake]()


#: the common mistakes of NT-Xent, by key: what the message says
NT_XENT_MISTAKES = {
    "anchor": "the anchor itself is left in the denominator (k = i): mask the diagonal with -inf.",
    "raw": "the embeddings are not normalised: sim is the cosine, u.v / (|u| |v|).",
    "itself": "the positive of view i is taken as view i itself: it is view i + N (and i - N for the second half).",
    "tau2": "the similarities are divided by tau twice (tau squared).",
    "tau3": "tau is applied more than once: each embedding divided by tau and then the logits by tau again (tau "
            "cubed). Divide the cosine similarities by tau exactly once.",
    "tau0": "the similarities are not divided by tau at all.",
    "half": "only the first N views are anchors: average l(i, j) over all 2N views, each view once as the anchor.",
    "sum": "the loss is summed over the 2N views, not averaged.",
}


def _nt_xent_variants(z1, z2, tau) -> tuple:
    """The reference's loss (and gradients) in float64, and the values of the common mistakes on the same input
    (message -> value)."""
    import torch

    a, b = (torch.tensor(z, dtype=torch.float64, requires_grad=True) for z in (z1, z2))
    loss = _ref().nt_xent(a, b, tau)
    g1, g2 = torch.autograd.grad(loss, [a, b])
    with torch.no_grad():
        mistakes = {message: _nt_xent_mistaken(a, b, tau, key).item() for key, message in NT_XENT_MISTAKES.items()}
    return loss.item(), g1, g2, mistakes


def _recognised_mistake(value, case, rtol: float, mistakes: dict | None = None) -> str | None:
    """The key of the common mistake whose loss, on this case's inputs in float64, ``value`` is (within ``rtol``);
    None when it is none of them (or the reference's). ``mistakes``: their values, when already computed
    (:func:`_nt_xent_variants`)."""
    if mistakes is None:
        mistakes = _nt_xent_variants(*case.truth)[3]
    keys = {message: key for key, message in NT_XENT_MISTAKES.items()}
    close = [(abs(v - float(value)), keys[m]) for m, v in mistakes.items()
             if np.isfinite(v) and np.isclose(float(value), v, rtol=rtol, atol=1e-7)]
    return min(close)[1] if close else None


def _nt_xent_parts(actual):
    if not isinstance(actual, (tuple, list)) or len(actual) != 4:
        raise StudentCheckError("the hidden test's wrapper returned something else than (loss, grad1, grad2, the "
                                "size of the loss's graph)")
    value = _np(actual[0]).astype(np.float64)
    if value.shape != ():
        raise StudentCheckError(f"the loss has shape {value.shape}, expected a scalar (the mean over the 2N views)")
    return value


def _check_nt_xent_value(value, case, low_precision_tolerance=False):
    import torch

    z1, z2, tau = case.truth
    dtype = case.args[0].dtype
    if not np.isfinite(value):
        raise StudentCheckError(f"the loss is {float(value)} in {str(dtype).replace('torch.', '')} at tau {tau}: "
                                "an exponential overflowed (exp(1 / tau) = exp(20) > 65504, float16's largest number), "
                                "and inf * 0 or inf / inf is NaN. Work with the logits: torch.logsumexp, and the "
                                "anchor's own logit set to -inf before it, never exp then log")
    loss, _, _, mistakes = _nt_xent_variants(z1, z2, tau)
    low = dtype in (torch.float16, torch.bfloat16)
    tol = dict(rtol=3e-2, atol=3e-2) if low else dict(rtol=1e-6 if dtype == torch.float64 else 1e-4, atol=1e-7)
    assert_close(value, loss, name="the loss", **tol, mistakes=None if low else mistakes,
                 hint="The mean over all 2N views of -log softmax at the positive (view i + N), the anchor itself "
                      "left out of the denominator, the cosine similarity divided once by tau.")


def _judge_nt_xent(actual, expected, case):
    """The loss's value in float64 and float32."""
    _check_nt_xent_value(_nt_xent_parts(actual), case)


def _judge_nt_xent_gradient(actual, expected, case):
    """The gradients in float64, judged whatever the value: the reference's when the value is right; on a value that is
    one of the common mistakes (which the value's own cell takes points for), that loss's own gradient -- this part
    asks that the loss be computed inside the graph."""
    import torch

    value = _nt_xent_parts(actual)
    z1, z2, tau = case.truth
    loss, g1, g2, mistakes = _nt_xent_variants(z1, z2, tau)
    if actual[1] is None or actual[2] is None:
        raise StudentCheckError("no gradient reached z1 or z2: is the loss computed from detached tensors "
                                "(.detach(), .data, .item(), NumPy)?")
    hint = ("The value is right but not the gradient: part of the loss was computed outside the graph "
            "(.detach(), .data, .item(), NumPy), or a tensor was changed in place after it was used.")
    mistake = None
    if np.isfinite(value) and not np.isclose(value, loss, rtol=1e-6, atol=1e-7):
        mistake = _recognised_mistake(value, case, 1e-6, mistakes)
        if mistake is None:
            raise StudentCheckError("the loss's value differs from the reference's, and from every common mistake's "
                                    "(its own hidden test says how): the gradient is judged on a loss that is one of "
                                    "them. Fix the value first.")
        a, b = (torch.tensor(z, dtype=torch.float64, requires_grad=True) for z in (z1, z2))
        g1, g2 = torch.autograd.grad(_nt_xent_mistaken(a, b, tau, mistake), [a, b])
        hint = ("Your loss's value is a common mistake (its own hidden test names it), and this is not even that "
                "loss's gradient: part of it was computed outside the graph (.detach(), .data, .item(), NumPy).")
    assert_close(actual[1], g1, name="d loss / d z1", rtol=1e-6, atol=1e-9, axes=("view i", "dimension"), hint=hint)
    assert_close(actual[2], g2, name="d loss / d z2", rtol=1e-6, atol=1e-9, axes=("view i", "dimension"), hint=hint)
    if mistake is not None:
        raise PassedNote(f"the gradient is the gradient of your loss, computed inside the graph (the loss's value is "
                         f"a common mistake that its own cell takes points for: {NT_XENT_MISTAKES[mistake]})")


def _judge_nt_xent_low_precision(actual, expected, case):
    """float16 and bfloat16 at tau 0.05: finite, and within 3 % of the float64 loss -- the reference's, or the loss of
    the common mistake the value is (which the value's own cell takes points for): this part asks for stability."""
    value = _nt_xent_parts(actual)
    try:
        _check_nt_xent_value(value, case)
    except StudentCheckError:
        mistake = _recognised_mistake(value, case, 3e-2) if np.isfinite(value) else None
        if mistake is None:
            raise
        raise PassedNote(f"finite in float16 and bfloat16, and within 3 % of your loss's float64 value (the value "
                         f"is a common mistake that its own cell takes points for: {NT_XENT_MISTAKES[mistake]})")


def _judge_nt_xent_graph(actual, expected, case):
    """A vectorised loss: its autograd graph's size does not grow with the batch (judged on the reference's value or a
    common mistake's, so that a loss that computes nothing cannot earn it)."""
    value = _nt_xent_parts(actual)
    z1, _, _ = case.truth
    mistake = None
    try:
        _check_nt_xent_value(value, case)
    except StudentCheckError:
        mistake = _recognised_mistake(value, case, 1e-6) if np.isfinite(value) else None
        if mistake is None:
            raise StudentCheckError("the loss's value is neither the reference's nor a common mistake's (its own "
                                    "hidden test says how): vectorisation is judged on a loss") from None
    size = int(_np(actual[3])) if np.ndim(_np(actual[3])) == 0 else -1
    if size > NT_XENT_GRAPH:
        raise StudentCheckError(
            f"the loss's autograd graph has {size} operations for {len(z1)} pairs (a vectorised NT-Xent "
            f"has about 15, whatever the batch): a Python loop over the views or the pairs. The notebook asks for a "
            "vectorised loss: one similarity matrix for all 2N views, the diagonal masked, one logsumexp per row")
    if mistake is not None:
        raise PassedNote("vectorised (the loss's value is a common mistake that its own cell takes points for: "
                         f"{NT_XENT_MISTAKES[mistake]})")


# ----------------------------------------------------------------------------------------------
# Part 3: networks, probe, k-NN

def _networks_cases(rng):
    from elvkit.data import load_digits

    digits = load_digits().train_images
    return [Case((_t(digits[rng.choice(len(digits), 12, replace=False)]), width, int(rng.integers(1000))),
                 label=f"12 digits, width {width}", truth=width) for width in (32, 8)]


def _judge_networks(actual, expected, case):
    import torch

    if not isinstance(actual, (tuple, list)) or len(actual) != 3:
        raise StudentCheckError("the hidden test's wrapper returned something else than (h, z, parameters)")
    width = case.truth
    h, z, count = _np(actual[0]), _np(actual[1]), float(_np(actual[2]))
    n = len(_np(case.args[0]))
    if h.shape != (n, 4 * width):
        raise StudentCheckError(f"Encoder({width}) gives representations of shape {h.shape} for {n} images; "
                                f"expected ({n}, {4 * width}): 4 x width channels, averaged over the positions")
    if z.shape != (n, 64):
        raise StudentCheckError(f"ProjectionHead({4 * width}) gives {z.shape}; expected ({n}, 64)")
    if not (np.isfinite(h).all() and np.isfinite(z).all()):
        raise StudentCheckError("the representations hold NaN or inf")
    if h.std(axis=0).max() < 1e-6:
        raise StudentCheckError("every image gets the same representation: does forward use its input?")
    ref = _ref()
    torch.manual_seed(0)
    enc = ref.Encoder(width)
    want = sum(p.numel() for p in enc.parameters()) + sum(p.numel() for p in ref.ProjectionHead(4 * width).parameters())
    conv_biases = 7 * width                  # w + 2w + 4w: a convolution before a BatchNorm needs no bias
    if int(round(count)) not in (want, want - conv_biases):
        bn = 2 * 7 * width
        extra = " (the difference is that of the three BatchNorms: are they there?)" if abs(count - want) in \
            (bn, bn + conv_biases) else ""
        raise StudentCheckError(f"Encoder({width}) and its ProjectionHead have {int(count):,} parameters together; the "
                                f"architecture the notebook describes has {want:,} ({want - conv_biases:,} with "
                                f"convolutions without a bias, which the BatchNorm after each makes redundant){extra}")


def _clusters(rng, n_per_class, classes, dim, spread):
    centres = rng.normal(0, 1, size=(classes, dim))
    labels = np.repeat(np.arange(classes), n_per_class)
    return (centres[labels] + spread * rng.normal(size=(len(labels), dim))).astype(np.float32), labels


def _probe_cases(rng):
    cases = []
    for classes, per, dim, spread, wd in ((10, 10, 32, 0.6, 1e-2), (4, 25, 6, 0.8, 1e-1)):
        x, y = _clusters(rng, per + 20, classes, dim, spread)
        train = np.concatenate([np.flatnonzero(y == c)[:per] for c in range(classes)])
        test = np.setdiff1d(np.arange(len(y)), train)
        scale = rng.uniform(0.5, 20, size=dim).astype(np.float32)       # features on different scales
        cases.append(Case((_t(x[train] * scale), _t(y[train]), _t(x[test] * scale)),
                          {"weight_decay": wd, "num_classes": classes},
                          label=f"{classes} classes, {per} training features each, {dim}-D on different scales, "
                          f"weight_decay {wd}", returns="torch"))
    # a test split whose statistics are not the training split's: only two of the four classes (standardising it
    # with its own mean and deviation moves every test feature)
    x, y = _clusters(rng, 45, 4, 6, 0.8)
    train = np.concatenate([np.flatnonzero(y == c)[:25] for c in range(4)])
    test = np.setdiff1d(np.flatnonzero(y <= 1), train)
    scale = rng.uniform(0.5, 20, size=6).astype(np.float32)
    cases.append(Case((_t(x[train] * scale), _t(y[train]), _t(x[test] * scale)), {"weight_decay": 0.1, "num_classes": 4},
                      label="4 classes, 25 training features each, 6-D; the test split holds classes 0 and 1 only",
                      returns="torch"))
    return cases


def _knn_cases(rng):
    cases = []
    for classes, dim, k, temperature in ((10, 16, 20, 0.1), (3, 4, 5, 0.5)):
        x, y = _clusters(rng, 30, classes, dim, 1.0)
        test, _ = _clusters(rng, 10, classes, dim, 1.0)
        cases.append(Case((_t(x), _t(y), _t(test)), {"k": k, "temperature": temperature, "num_classes": classes},
                          label=f"{classes} classes, {dim}-D, k={k}, temperature {temperature}", returns="torch"))
    return cases


# ----------------------------------------------------------------------------------------------
# Part 5: collapse

def _simsiam_cases(rng):
    cases = []
    for stop in (True, False):
        n, d = int(rng.integers(4, 9)), int(rng.integers(3, 9))
        cases.append(Case(tuple(_t(rng.normal(size=(n, d)).astype(np.float32)) for _ in range(4)) + (stop,),
                          label=f"{n} pairs in {d}-D, stop_gradient={stop}"))
    return cases


def _simsiam_reference(p1, p2, z1, z2, stop_gradient):
    import torch

    leaves = [t.detach().clone().requires_grad_(True) for t in (p1, p2, z1, z2)]
    loss = _ref().simsiam_loss(*leaves, stop_gradient=stop_gradient)
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return loss.detach(), [torch.zeros_like(t) if g is None else g for t, g in zip(leaves, grads)]


def _judge_with_reference(reference_fn, what, mistakes=None):
    """A judge of (loss, gradients) against ``reference_fn``; ``mistakes(case)``: message -> the loss a common
    mistake gives on the case's inputs, named when the student's loss is one of them."""

    def judge(actual, expected, case):
        want = reference_fn(*case.args, **case.kwargs)
        if not isinstance(actual, (tuple, list)) or len(actual) != len(want):
            raise StudentCheckError(f"the hidden test's wrapper returned something else than {what}")
        assert_close(actual[0], want[0], name="the loss", rtol=1e-4, atol=1e-6,
                     mistakes=mistakes(case) if mistakes else None)
        grads_a = actual[1] if isinstance(actual[1], (tuple, list)) else actual[1:]
        grads_e = want[1] if isinstance(want[1], (tuple, list)) else want[1:]
        names = _GRAD_NAMES[what]
        for name, ga, ge in zip(names, grads_a, grads_e):
            which = name.split("/ d ")[1]
            if float(np.abs(_np(ge)).max()) == 0 and float(np.abs(_np(ga)).max()) > 0:
                raise StudentCheckError(f"{which} receives a gradient, but it must receive none here: the "
                                        "stop-gradient branch is not detached.")
            if float(np.abs(_np(ge)).max()) > 0 and float(np.abs(_np(ga)).max()) == 0:
                raise StudentCheckError(f"{which} receives no gradient, but it should: the stop-gradient detaches "
                                        "the wrong branch (detach the other view's z, the target, never p).")
            assert_close(ga, ge, name=name, rtol=1e-4, atol=1e-6)
    return judge


_GRAD_NAMES = {"(loss, gradients)": ("d loss / d p1", "d loss / d p2", "d loss / d z1", "d loss / d z2"),
               "(loss, student gradient, teacher gradient)": ("d loss / d student_logits",
                                                              "d loss / d teacher_logits")}


def _dino_cases(rng):
    cases = []
    for n, k, tau_s, tau_t in ((5, 8, 0.1, 0.04), (3, 16, 0.5, 0.2)):
        s = rng.normal(0, 2, size=(2, n, k)).astype(np.float32)
        t = rng.normal(0, 2, size=(2, n, k)).astype(np.float32)
        c = rng.normal(0, 1, size=k).astype(np.float32)
        cases.append(Case((_t(s), _t(t), _t(c), tau_s, tau_t), label=f"2 views of {n} images, K={k}, tau_s {tau_s}, "
                          f"tau_t {tau_t}"))
    return cases


def _dino_reference(student_logits, teacher_logits, center, tau_s, tau_t):
    import torch

    s = student_logits.detach().clone().requires_grad_(True)
    t = teacher_logits.detach().clone().requires_grad_(True)
    loss = _ref().dino_loss(s, t, center, tau_s, tau_t)
    gs, gt = torch.autograd.grad(loss, [s, t], allow_unused=True)
    return loss.detach(), gs, torch.zeros_like(t) if gt is None else gt


def _dino_mistakes(case) -> dict:
    """The losses of DINO's common mistakes on a hidden case's inputs."""
    import torch

    student, teacher, center, tau_s, tau_t = case.args
    loss = _ref().dino_loss
    with torch.no_grad():
        return {"the centre is subtracted from the student's logits: DINO centres the teacher's, p_t = softmax((t - c) "
                "/ tau_t), and leaves the student's alone.": loss(student - center, teacher, torch.zeros_like(center),
                                                                   tau_s, tau_t),
                "the teacher's logits are not centred: subtract the centre c before the teacher's softmax.":
                    loss(student, teacher, torch.zeros_like(center), tau_s, tau_t),
                "the teacher is not sharpened: its softmax uses tau_t, the smaller temperature, not tau_s.":
                    loss(student, teacher, center, tau_s, tau_s)}


def _judge_probe(actual, expected, case):
    """The probe's predicted classes against the reference's (2 % may differ: L-BFGS stops where it stops); the
    common mistake of standardising the test features with their own statistics is named."""
    import torch

    from elvkit import to_numpy

    got, want = np.asarray(to_numpy(actual)), np.asarray(to_numpy(expected))
    if got.shape != want.shape:
        raise StudentCheckError(f"the predictions have shape {got.shape}, expected {want.shape}")
    if np.mean(got != want) <= 0.02:
        return
    train, labels, test = case.args
    ftr, fte = torch.as_tensor(train).double(), torch.as_tensor(test).double()
    own = (fte - fte.mean(0)) / fte.std(0).clamp_min(1e-12) * ftr.std(0) + ftr.mean(0)   # standardised by its own
    leaked = np.asarray(to_numpy(_ref().linear_probe(train, labels, own.to(test.dtype), **case.kwargs)))
    if np.mean(got != leaked) <= 0.02 < np.mean(leaked != want):
        raise StudentCheckError("the test features are standardised with their own mean and standard deviation: "
                                "standardise both splits with the training features' statistics (the test set's "
                                "must not reach the classifier)")
    raise StudentCheckError(f"{np.mean(got != want):.0%} of the predicted classes differ from the reference's (2 % may)."
                            " Standardise with the training features' mean and std, a bias column, L2 on the weights "
                            "only, L-BFGS to convergence; the argmax of the test logits.")


def _center_cases(rng):
    cases = []
    for shape, m in (((2, 6, 10), 0.9), ((7, 4), 0.5)):
        cases.append(Case((_t(rng.normal(size=shape[-1]).astype(np.float32)),
                           _t(rng.normal(size=shape).astype(np.float32))), {"momentum": m},
                          label=f"logits of shape {shape}, momentum {m}", returns="torch"))
    return cases


def _ema_cases(rng):
    shapes = [(4, 3), (3,), (2, 2, 3)]
    teacher = [_t(rng.normal(size=s).astype(np.float32)) for s in shapes]
    student = [_t(rng.normal(size=s).astype(np.float32)) for s in shapes]
    return [Case((teacher, student), {"momentum": 0.9}, label="three parameter tensors, momentum 0.9"),
            Case((teacher[:1], student[:1]), {"momentum": 0.25}, label="one parameter tensor, momentum 0.25")]


# ----------------------------------------------------------------------------------------------
# Part 6: end to end

E2E_STEPS = 100
E2E_LIMIT = 0.90
#: above this, the representations know the labels: 600 steps of the reference reach 0.944, 100 steps 0.92-0.94
E2E_CEILING = 0.985
#: the widest representation the probe accepts (the notebook's encoder: 128)
E2E_MAX_WIDTH = 4096
#: how much lower the grader's NT-Xent of the trained networks must be than an untrained network's
E2E_LOSS_DROP = 0.3


def _e2e_cases(rng):
    from elvkit.data import load_digits

    d = load_digits()
    order = rng.permutation(len(d.train_images))
    noise = rng.random((64,) + d.train_images.shape[1:]).astype(np.float32)     # images that are no digit
    return [Case((_t(d.train_images[order], device=True), _t(noise, device=True), E2E_STEPS,
                  int(rng.integers(1 << 30))),
                 label=f"the training digits in an order drawn for this grading, {E2E_STEPS} steps",
                 truth={"train_labels": d.train_labels[order], "test_labels": d.test_labels,
                        "test_images": d.test_images, "views_seed": int(rng.integers(1 << 30))})]


def _by_role(state: dict, what: str) -> dict:
    """A recorded state dict (names as the student's modules chose them) as float64 tensors, checked to be one."""
    import torch

    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise StudentCheckError(f"the {what}'s state_dict() did not come back as tensors: the grader cannot rebuild it")
    return {k: v.detach().cpu().double() for k, v in state.items()}


def _encoder_layers(state: dict) -> list:
    """The notebook's Encoder -- three 3x3 convolutions 1 -> w -> 2w -> 4w (strides 1, 2, 2, padding 1), each with
    a BatchNorm and a ReLU, then the mean over positions -- read from the student's state dict, whatever its
    modules are called: [(weight, bias, stride, (mean, var, gamma, beta)), ...]. A convolution without a bias
    (it is followed by a BatchNorm, so it needs none) gets zeros."""
    import torch

    s = _by_role(state, "encoder")
    convs = [k for k, v in s.items() if k.endswith("weight") and v.ndim == 4]
    norms = [k[: -len("running_mean")] for k in s if k.endswith("running_mean")]
    channels = [1] + [int(s[k].shape[0]) for k in convs]
    if len(convs) != 3 or len(norms) != 3 or any(s[k].shape[1:] != (channels[i], 3, 3) for i, k in enumerate(convs)):
        raise StudentCheckError(
            "the grader rebuilds your trained Encoder from its weights, and they are not those of the architecture "
            f"the notebook describes (three 3 x 3 convolutions 1 -> w -> 2w -> 4w, each with a BatchNorm): found "
            f"convolutions {[tuple(s[k].shape) for k in convs]} and {len(norms)} BatchNorm(s). Part 3's hidden test "
            "of the networks says what differs")
    layers = []
    for i, (conv, norm) in enumerate(zip(convs, norms)):
        c = channels[i + 1]
        bias = s.get(conv[: -len("weight")] + "bias", torch.zeros(c, dtype=torch.float64))
        stats = tuple(s.get(norm + part) for part in ("running_mean", "running_var", "weight", "bias"))
        if any(t is None or t.shape != (c,) for t in stats) or bias.shape != (c,):
            raise StudentCheckError(f"the encoder's block {i + 1} does not hold a {c}-channel BatchNorm after its "
                                    "convolution: the grader cannot rebuild it from its weights")
        layers.append((s[conv], bias, 1 if i == 0 else 2, stats))
    return layers


def _encode(layers: list, images) -> "torch.Tensor":
    """The Encoder's forward pass in eval mode, in float64, in the grader's process."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(np.asarray(_np(images)), dtype=torch.float64)
    with torch.no_grad():
        for weight, bias, stride, (mean, var, gamma, beta) in layers:
            x = F.relu(F.batch_norm(F.conv2d(x, weight, bias, stride=stride, padding=1), mean, var, gamma, beta,
                                    training=False, eps=1e-5))
        return x.mean(dim=(2, 3))


def _head(state: dict):
    """The notebook's ProjectionHead -- Linear, ReLU, Linear -- from the student's state dict, as a function."""
    import torch
    import torch.nn.functional as F

    s = _by_role(state, "projection head")
    weights = [k for k, v in s.items() if k.endswith("weight") and v.ndim == 2]
    if len(weights) != 2 or s[weights[1]].shape[1] != s[weights[0]].shape[0]:
        raise StudentCheckError("the grader rebuilds your ProjectionHead from its weights, and they are not two "
                                f"Linear layers in a row: found {[tuple(s[k].shape) for k in weights]}")
    (w1, w2) = (s[k] for k in weights)
    b1, b2 = (s.get(k[: -len("weight")] + "bias", torch.zeros(len(s[k]), dtype=torch.float64)) for k in weights)
    return lambda h: F.linear(F.relu(F.linear(h, w1, b1)), w2, b2)


def _agree(mine, theirs) -> bool:
    return mine.shape == theirs.shape and bool(np.allclose(mine, theirs, rtol=1e-3, atol=1e-4))


def _grader_loss(encode, head, images, seed: int) -> float:
    """The reference's NT-Xent (tau 0.5) of ``encode`` and ``head`` on two views of 256 training digits that the
    reference's two_views draws from the grader's own seed."""
    import torch

    ref = _ref()
    generator = torch.Generator().manual_seed(seed)
    batch = torch.as_tensor(np.asarray(_np(images))[:256], dtype=torch.float32)
    v1, v2 = ref.two_views(batch, generator, ref.AUGMENT)
    with torch.no_grad():
        return float(ref.nt_xent(head(encode(v1)), head(encode(v2)), 0.5))


def probe_draws(train_labels, draws=5, shots=10):
    """The labelled examples of each draw: ``shots`` per class, drawn with the seeds 0, 1, ..."""
    picks = []
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        picks.append(np.concatenate([rng.choice(np.flatnonzero(train_labels == c), shots, replace=False)
                                     for c in range(10)]))
    return np.stack(picks)


def probe_accuracy(train_features, train_labels, test_features, test_labels, draws=5, weight_decay=1e-2):
    """The reference's 10-labels-per-class linear probe (the notebook's ``linear_probe``): mean test accuracy over
    ``draws`` draws of the labels.

    The draws' problems are solved together: their losses are summed and L-BFGS minimises the sum over all the
    weights at once. Each problem is strictly convex and the sum is separable, so the minimisers are the draws' own
    (tests/test_self_supervised.py compares them with the reference's probe run draw by draw), in a fraction of
    the time of five solver runs."""
    import torch
    import torch.nn.functional as F

    picks = torch.as_tensor(probe_draws(train_labels, draws))
    ftr = torch.as_tensor(train_features, dtype=torch.float64)[picks]                  # (draws, 100, D)
    y = torch.as_tensor(train_labels).long()[picks]
    mean, std = ftr.mean(1, keepdim=True), ftr.std(1, keepdim=True) + 1e-6

    def design(f):
        return torch.cat([(f - mean) / std, torch.ones(*f.shape[:2], 1, dtype=f.dtype)], dim=2)

    A = design(ftr)
    W = torch.zeros(draws, A.shape[2], 10, dtype=A.dtype, requires_grad=True)
    solver = torch.optim.LBFGS([W], lr=1, max_iter=500, tolerance_grad=1e-9, tolerance_change=1e-12,
                               history_size=20, line_search_fn="strong_wolfe")

    def closure():
        solver.zero_grad()
        ce = F.cross_entropy((A @ W).reshape(-1, 10), y.reshape(-1), reduction="none").reshape(draws, -1).mean(1)
        loss = ce.sum() + weight_decay * (W[:, :-1] ** 2).sum()
        loss.backward()
        return loss

    solver.step(closure)
    with torch.no_grad():
        test = torch.as_tensor(test_features, dtype=torch.float64)
        pred = (design(test.expand(draws, *test.shape)) @ W).argmax(2).numpy()
    return float((pred == np.asarray(test_labels)[None]).mean())


def _judge_e2e(actual, expected, case):
    """Judged on what the grader computes: the networks rebuilt from their recorded weights (see the module's
    docstring)."""
    import torch

    t = case.truth
    if not isinstance(actual, (tuple, list)) or len(actual) != 7:
        raise StudentCheckError("the end-to-end run should return (losses, the encoder's and the head's state dicts, "
                                "the representations and embeddings of 64 training digits, the representations of "
                                "64 noise images, what the stand-ins noticed)")
    accumulated, same_pair, still = (int(v) for v in _np(actual[6]).reshape(-1)[:3])
    losses = _np(actual[0]).astype(np.float64).reshape(-1)
    train, noise, steps = case.args[0], case.args[1], case.args[2]
    if len(losses) != steps:
        raise StudentCheckError(f"train_simclr returned {len(losses)} losses for {steps} steps: one loss per step")
    if not np.isfinite(losses).all():
        raise StudentCheckError("the loss became NaN or inf during training")
    layers, head = _encoder_layers(actual[1]), _head(actual[2])
    width = layers[-1][0].shape[0]
    if width > E2E_MAX_WIDTH:
        raise StudentCheckError(f"the representations have {width} dimensions; at most {E2E_MAX_WIDTH} (the "
                                "notebook's encoder: 128)")
    h_kernel, z_kernel, n_kernel = (_np(x).astype(np.float64) for x in actual[3:6])
    n_grader = _encode(layers, noise).numpy()
    if not _agree(n_grader, n_kernel):
        raise ForReview(
            "the grader rebuilt its stand-in Encoder from the weights your train_simclr left, and on noise images it "
            "computes something else than the stand-in did in your kernel: something in the notebook changed torch "
            "or the stand-in's forward pass")
    h_grader = _encode(layers, np.asarray(_np(train))[:64]).numpy()
    z_grader = head(torch.as_tensor(h_grader)).numpy()
    for what, mine, theirs in (("representations", h_grader, h_kernel), ("embeddings", z_grader, z_kernel)):
        if not _agree(mine, theirs):
            raise ForReview(
                f"the grader rebuilt its stand-in networks from their trained weights: they compute what they computed "
                f"in your kernel on noise images, but their {what} of 64 training digits differ: in your kernel the "
                "forward pass treated the digits differently from other images (a lookup of the public digits?)")
    first, last = losses[:10].mean(), losses[-10:].mean()
    why = _e2e_why(accumulated, same_pair, still, steps)
    if not last < first - 0.05:
        raise StudentCheckError(f"the loss went from {first:.3f} (first 10 steps) to {last:.3f} (last 10): it should "
                                f"fall as the encoder learns. {why}")
    torch.manual_seed(t["views_seed"])
    fresh_encoder, fresh_head = _ref().Encoder(), _ref().ProjectionHead(128)
    fresh_encoder.eval(), fresh_head.eval()
    trained = _grader_loss(lambda x: _encode(layers, x).float(), lambda h: head(h.double()).float(), train,
                           t["views_seed"])
    untrained = _grader_loss(fresh_encoder, fresh_head, train, t["views_seed"])
    if not trained < untrained - E2E_LOSS_DROP:
        raise StudentCheckError(f"on fresh views of the training digits the grader drew, the trained networks' NT-Xent "
                                f"is {trained:.3f}, an untrained network's {untrained:.3f}: training should lower it "
                                f"by more than {E2E_LOSS_DROP} (a correct train_simclr: by about 1.2). {why}")
    ftr = _encode(layers, train).numpy()
    fte = _encode(layers, t["test_images"]).numpy()
    if not (np.isfinite(ftr).all() and np.isfinite(fte).all()):
        raise StudentCheckError(f"the trained encoder's representations hold NaN or inf. {why}")
    acc = probe_accuracy(ftr, t["train_labels"], fte, t["test_labels"])
    if acc > E2E_CEILING:
        raise ForReview(f"after {steps} steps a linear probe with 10 labels per class reaches {acc:.3f}: more "
                        f"than SimCLR reaches on digits even after a full 600-step training (about 0.95). "
                        "Representations this good carry the labels themselves (learnt from them), which "
                        "self-supervised training never sees; a TA will look at this notebook")
    if acc < E2E_LIMIT:
        raise StudentCheckError(f"after {steps} steps of your train_simclr (the grader's networks, views and NT-Xent "
                                f"standing in for yours) a linear probe with 10 labels per class reaches {acc:.3f} on "
                                f"the encoder's test representations; a correct train_simclr reaches 0.92-0.93 and "
                                f"{E2E_LIMIT:.2f} passes (raw pixels: 0.87-0.89, an untrained encoder: 0.83-0.85). "
                                f"{why}")


def _e2e_why(accumulated: int, same_pair: int, still: int, steps: int) -> str:
    """What the stand-ins saw the training loop do, as the likely cause of a failed end-to-end check."""
    if still:
        return ("The encoder's weights never changed: give the optimiser the encoder's parameters as well as the "
                "head's (list(encoder.parameters()) + list(head.parameters())).")
    if same_pair:
        return (f"In {same_pair} of {steps} steps the two embeddings passed to nt_xent were the same tensor: embed "
                "both views, nt_xent(head(encoder(view1)), head(encoder(view2)), tau) -- the positive pair is the "
                "other view of the same image.")
    if accumulated:
        return (f"The gradients are never zeroed: in {accumulated} of {steps} steps the encoder's .grad held more "
                "than that step's gradient. Call optimiser.zero_grad() before loss.backward().")
    return ("Check that the optimiser holds the encoder's parameters as well as the head's, that it steps once per "
            "step with the cosine schedule, and that each step draws a new batch and new views from the one "
            "generator.")


SPECS = {
    "resized_crop": Spec(_crop_cases, rtol=1e-4, atol=1e-5, axes=(..., "channel", "row", "column"),
                         hint="theta maps the output's [-1, 1] to the box: scale (x1 - x0) / W, offset (x0 + x1) / W "
                              "- 1; align_corners=False, padding_mode='border'."),
    "intensity_jitter": Spec(_jitter_cases, rtol=1e-5, atol=1e-6, axes=(..., "channel", "row", "column"),
                             hint="(x - mean) * c + mean + b per image, the mean over all its pixels and channels, "
                                  "clipped to [0, 1]."),
    "gaussian_blur": Spec(_blur_cases, rtol=1e-4, atol=1e-6, axes=(..., "channel", "row", "column"),
                          hint="A normalised kernel over t = -radius..radius, rows then columns, reflect padding; "
                               "sigma clamped to 1e-3."),
    "two_views": Spec(_views_cases, compare=_judge_views, reference="two_views"),
    "nt_xent": Spec(lambda rng: _nt_xent_cases(rng, ("value",)), compare=_judge_nt_xent, reference=None),
    "nt_xent_gradient": Spec(lambda rng: _nt_xent_cases(rng, ("gradient",)), compare=_judge_nt_xent_gradient,
                             reference=None),
    "nt_xent_low_precision": Spec(lambda rng: _nt_xent_cases(rng, ("low",)), compare=_judge_nt_xent_low_precision,
                                  reference=None),
    "nt_xent_vectorised": Spec(lambda rng: _nt_xent_cases(rng, ("graph",))[:1], compare=_judge_nt_xent_graph,
                               reference=None),
    "networks": Spec(_networks_cases, compare=_judge_networks, reference=None),
    "linear_probe": Spec(_probe_cases, compare=_judge_probe),
    "knn_classify": Spec(_knn_cases, max_mismatch=0.01,
                         hint="Cosine similarity (normalise both), the k most similar, votes exp(sim / T) per class."),
    "simsiam_loss": Spec(_simsiam_cases, compare=_judge_with_reference(_simsiam_reference, "(loss, gradients)"),
                         reference=None),
    "dino_loss": Spec(_dino_cases, compare=_judge_with_reference(_dino_reference,
                                                                 "(loss, student gradient, teacher gradient)",
                                                                 _dino_mistakes),
                      reference=None),
    "update_center": Spec(_center_cases, rtol=1e-5, atol=1e-6, hint="m * c + (1 - m) * the mean of the logits over "
                                                                    "every view and image."),
    "ema": Spec(_ema_cases, rtol=1e-5, atol=1e-6, hint="m * teacher + (1 - m) * student."),
    "e2e_simclr": Spec(_e2e_cases, compare=_judge_e2e, reference=None),
}

#: secret seeds the test suite tries each end-to-end check on with the reference (one run takes ~10 s)
TRIALS = {"e2e_simclr": 3}
