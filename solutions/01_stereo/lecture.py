"""Lecture demos of "Classic Vision on Depth and Disparity": depth from disparity, the matching cost of one
pixel, semi-global matching's penalties, and left-right consistency. They compute with the assignment's
reference solution (`elv lecture stereo`; `elv slides stereo` for the deck)."""

import numpy as np

from autograder.integrity.reference import load, locked_cell
from autograder.lecture import Choice, Demo, Slider
from autograder.lecture.demo import detection_overlay

TITLE = "Depth from stereo"
ALIASES = ("depth", "disparity", "sgm")
INTRO = """
Two cameras a baseline *B* apart see a point at depth *Z*; its images are *δ* pixels apart (the disparity),
and **Z = Bf / δ**. Everything here runs the course's reference implementation on the Middlebury 2014
Motorcycle pair (quarter size, with its ground truth) or on a generated scene with exact occlusions.
"""

ref = load("01_stereo")
P1_NOTEBOOK = 20
# the notebook's evaluation part: SGM whose jump penalty falls at intensity edges (the student's sgm_step, one P2 per
# path step), from its one copy in the notebook
edge_aware_sgm = locked_cell("01_stereo", "q6-edge-aware-sgm", P1=P1_NOTEBOOK)["edge_aware_sgm"]


def _motorcycle(scale=1):
    """The Motorcycle pair (gray levels), at full quarter size or shrunk by ``scale``, with its ground truth."""
    import cv2

    from elvkit.data import load_motorcycle

    pair = load_motorcycle()
    left, right, gt = pair.gray("left"), pair.gray("right"), pair.disparity
    if scale > 1:
        size = (left.shape[1] // scale, left.shape[0] // scale)
        left, right = (cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in (left, right))
        gt = cv2.resize(np.nan_to_num(gt, nan=-1.0), size, interpolation=cv2.INTER_NEAREST) / scale
        gt[gt < 0] = np.nan
    return pair, left, right, gt, pair.max_disp // scale


def _sgm(cost, P1, P2, paths, gray=None):
    """Disparity after SGM (none when ``paths`` is 0) with a fixed P2, or with P2 falling at the edges of ``gray``."""
    import torch

    import elvkit

    if gray is not None:
        S = edge_aware_sgm(cost, gray, P1, P2, 0.1)
    else:
        S = cost if paths == 0 else elvkit.to_numpy(ref.aggregate_sgm(torch.as_tensor(cost, device=elvkit.device()),
                                                                     P1, P2, paths))
    return ref.refine_subpixel(S, ref.winner_take_all(S))


# --- 1. disparity and depth -------------------------------------------------------------------------------

def _depth_setup():
    pair, *_ = _motorcycle()
    return pair


def _depth_draw(fig, pair, x, y):
    c = pair.calib
    h, w = pair.disparity.shape
    x, y = min(int(x), w - 1), min(int(y), h - 1)
    d = float(pair.disparity[y, x])
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1, 1, 0.9])
    for ax, img, name in ((ax1, pair.left, "left image"), (ax2, pair.right, "right image")):
        ax.imshow(img)
        ax.axhline(y, color="yellow", lw=0.8, alpha=0.8)
        ax.set_title(name)
        ax.axis("off")
    ax1.plot(x, y, "o", ms=9, mfc="none", mec="red", mew=2)
    ax1.set_gid("elv-click")                   # a click on the left image chooses the pixel
    deltas = np.linspace(4, pair.max_disp, 200)
    ax3.plot(deltas, ref.disparity_to_depth(deltas, c.baseline, c.focal, c.doffs) / 1000, color="k")
    ax3.set_xlabel("disparity δ [px]")
    ax3.set_ylabel("depth Z [m]")
    ax3.set_title("Z = B f / (δ + doffs)")
    ax3.grid(alpha=0.3)
    if not np.isfinite(d):
        ax3.set_title("no ground truth at this pixel")
        return (f"The ground truth has no disparity at ({x}, {y}) (the pixel is occluded or unmatched): move the "
                "point onto the motorcycle or the background.")
    z = float(ref.disparity_to_depth(np.array(d), c.baseline, c.focal, c.doffs)) / 1000
    ax2.plot(x - d, y, "o", ms=9, mfc="none", mec="red", mew=2)
    ax2.plot([x, x - d], [y, y], color="red", lw=2)
    ax3.plot(d, z, "o", color="red", ms=8)
    dz = z - float(ref.disparity_to_depth(np.array(d + 1), c.baseline, c.focal, c.doffs)) / 1000
    return (f"At (x, y) = ({x}, {y}) the true disparity is δ = {d:.1f} px: the point is at x − δ = {x - d:.1f} in "
            f"the right image, on the same row. With B = {c.baseline:.0f} mm, f = {c.focal:.0f} px and the "
            f"principal points' offset doffs = {c.doffs:.1f} px, Z = {z:.2f} m. One pixel more disparity would put it "
            f"{100 * dz:.1f} cm nearer: depth resolution falls with the square of the distance.")


# --- 2. the matching cost of one pixel ----------------------------------------------------------------------

def _cost_setup():
    pair, left, right, gt, max_disp = _motorcycle()
    return dict(pair=pair, gt=gt, max_disp=max_disp,
                volumes={"census 5×5": ref.census_cost(left, right, max_disp, 5).astype(np.float32),
                         "SAD 5×5": ref.sad_cost(left, right, max_disp, 5).astype(np.float32)})


def _cost_draw(fig, s, cost, x, y):
    C = s["volumes"][cost]
    h, w = C.shape[1:]
    x, y = min(int(x), w - 1), min(int(y), h - 1)
    curve = C[:, y, x]
    best = int(np.argmin(curve))
    truth = float(s["gt"][y, x])
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.4])
    r = 40
    crop = s["pair"].left[max(0, y - r):y + r, max(0, x - r):x + r]
    ax1.imshow(crop, extent=(max(0, x - r), min(w, x + r), min(h, y + r), max(0, y - r)))
    ax1.add_patch(__import__("matplotlib").patches.Rectangle((x - 2.5, y - 2.5), 5, 5, fill=False, ec="red", lw=2))
    ax1.set_title(f"left image around ({x}, {y}); the 5×5 window")
    ax1.set_gid("elv-click")
    ax1.axis("off")
    ax2.plot(np.arange(len(curve)), curve, color="k", lw=1.5)
    ax2.plot(best, curve[best], "o", color="red", ms=8, label=f"WTA: d = {best}")
    if np.isfinite(truth):
        ax2.axvline(truth, color="green", ls="--", label=f"truth: {truth:.1f}")
    ax2.set_xlabel("disparity d [px]")
    ax2.set_ylabel(f"cost C(p, d), {cost}")
    ax2.legend(loc="upper right")
    ax2.grid(alpha=0.3)
    order = np.argsort(curve)
    rival = next((int(d) for d in order[1:] if abs(int(d) - best) > 2), best)
    margin = float(curve[rival] - curve[best])
    verdict = ("no ground truth here" if not np.isfinite(truth) else
               "correct (within 2 px)" if abs(best - truth) <= 2 else f"wrong by {abs(best - truth):.0f} px")
    unit = "bits" if cost.startswith("census") else "gray-level units"
    return (f"Winner-take-all picks d = {best} (cost {curve[best]:.2f} {unit}): {verdict}. The best rival minimum "
            f"away from it is d = {rival}, only {margin:.2f} {unit} worse: the smaller that margin, the less a "
            "single pixel's cost can be trusted, which is what SGM's smoothness prior fixes.")


# --- 3. semi-global matching --------------------------------------------------------------------------------

def _sgm_setup():
    pair, left, right, gt, max_disp = _motorcycle(scale=2)
    return dict(left=left, gt=gt, cost=ref.census_cost(left, right, max_disp, 5).astype(np.float32),
                vmax=float(np.nanpercentile(gt, 99.5)))


def _sgm_draw(fig, s, P2, P1, paths, penalty):
    from elvkit import metrics

    n = {"none (WTA only)": 0, "4 paths": 4, "8 paths": 8}[paths]
    edges = penalty.startswith("edge") and n > 0
    if edges:
        n = 4                                   # the edge-aware version runs the 4 straight paths
    disp = _sgm(s["cost"], P1, P2, n, gray=s["left"] if edges else None)
    bad = metrics.bad_pixel_rate(disp, s["gt"], 2.0)
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1, 1, 0.35])
    ax1.imshow(disp, cmap="magma", vmin=0, vmax=s["vmax"])
    what = f"P2 {P2}, edge-aware" if edges else f"P2 {P2}"
    ax1.set_title(f"{paths}: bad-2.0 = {bad:.1%}" if n == 0 else f"SGM {n} paths, P1 {P1}, {what}: bad-2.0 {bad:.1%}",
                  fontsize=10)
    ax2.imshow(s["gt"], cmap="magma", vmin=0, vmax=s["vmax"])
    ax2.set_title("ground truth")
    for ax in (ax1, ax2):
        ax.axis("off")
    dirs = [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)][:n]
    for dx, dy in dirs:
        ax3.annotate("", xy=(dx, -dy), xytext=(0, 0), arrowprops=dict(arrowstyle="->", lw=2, color="tab:blue"))
    ax3.set_xlim(-1.4, 1.4)
    ax3.set_ylim(-1.4, 1.4)
    ax3.set_aspect("equal")
    ax3.axis("off")
    ax3.set_title(f"{n} paths" if n else "no paths")
    note = ""
    if n and P2 < P1:
        note = " P2 is below P1 here: a jump costs less than a one-pixel step, so the prior prefers jumps."
    elif edges:
        note = (" With the edge-aware penalty, a jump costs P2 inside a textureless surface but only about P1 across "
                "an intensity edge, where depth edges usually are: the map keeps its boundaries with a high P2.")
    elif n:
        note = (" Raise P2 and the boundaries and thin spokes are smoothed over; lower it and noise comes back as "
                "small jumps. Slanted surfaces change by 1 px at a time and pay only P1.")
    return (f"bad-2.0 is the share of pixels with ground truth whose disparity is off by more than 2 px (at half "
            f"the quarter size, so 2 px here are 4 px of the quarter-size pair).{note}")


# --- 4. left-right consistency ------------------------------------------------------------------------------

def _lr_setup():
    from elvkit.data import make_stereo_scene

    scene = make_stereo_scene(0, shape=(240, 320), max_disp=48)
    cost = ref.census_cost(scene.gray("left"), scene.gray("right"), scene.max_disp, 5).astype(np.float32)
    left = _sgm(cost, 20, 70, 4)
    right = _sgm(ref.right_cost_volume(cost), 20, 70, 4)
    return dict(scene=scene, left=left, right=right)


def _lr_draw(fig, s, max_diff):
    scene, left = s["scene"], s["left"]
    keep = ref.left_right_check(left, s["right"], max_diff)
    rejected = ~keep
    occ = scene.occlusion
    wrong = np.abs(left - scene.disparity) > 2.0
    ax1, ax2, ax3 = fig.subplots(1, 3)
    shown = np.where(keep, left, np.nan)
    ax1.imshow(shown, cmap="magma", vmin=0, vmax=scene.max_disp)
    ax1.set_facecolor("black")
    ax1.set_title(f"kept where |d_L − d_R| ≤ {max_diff:g} px (rejected: white)")
    overlay, (recall, precision) = detection_overlay(occ, rejected)
    ax2.imshow(overlay)
    ax2.set_title("green: occluded, rejected · red: occluded, kept\nyellow: visible, rejected")
    ax3.imshow(scene.left)
    ax3.set_title("left image")
    for ax in fig.axes:
        ax.axis("off")
    bad_kept = wrong[keep].mean() if keep.any() else 0.0
    bad_rej = wrong[rejected & ~occ].mean() if (rejected & ~occ).any() else 0.0
    return (f"The check rejects {rejected.mean():.1%} of the pixels. It finds {recall:.0%} of the truly occluded "
            f"ones (recall) and {precision:.0%} of what it rejects is occluded (precision). Of the visible pixels "
            f"it rejects, {bad_rej:.0%} were wrong by more than 2 px, against {bad_kept:.1%} of those it keeps: "
            "disagreement between the two views marks errors. A looser threshold keeps more and finds fewer.")


DEMOS = [
    Demo("Disparity and depth: Z = Bf/δ",
         "Choose a pixel of the left image: its match lies on the same row of the right image, δ pixels to the "
         "left, and δ gives its depth. Far points have small δ, where a pixel of error is a large error in Z.",
         {"x": Slider("column x", 0, 740, 1, 420), "y": Slider("row y", 0, 499, 1, 250)},
         _depth_draw, _depth_setup, size=(13.0, 3.8), click=lambda x, y: {"x": x, "y": y}),
    Demo("The matching cost of one pixel",
         "The cost volume C(p, d) compares pixel p of the left image with pixel p − d of the right one. Along d, "
         "a good pixel has one clear minimum; a pixel in a flat or repetitive region has several, and "
         "winner-take-all can pick the wrong one. Census counts differing bits of a 5×5 comparison pattern and "
         "does not care about a brightness change between the cameras; SAD sums absolute gray-level differences.",
         {"cost": Choice("cost", ("census 5×5", "SAD 5×5"), "census 5×5"),
          "x": Slider("column x", 0, 740, 1, 420), "y": Slider("row y", 0, 499, 1, 250)},
         _cost_draw, _cost_setup, size=(11.0, 4.0), click=lambda x, y: {"x": x, "y": y}),
    Demo("Semi-global matching: P1, P2 and the paths",
         "SGM minimises the lecture's energy E(D) = Σ_p C(p, D(p)) + Σ_q P1·[|D(p) − D(q)| = 1] + "
         "Σ_q P2·[|D(p) − D(q)| > 1] approximately, along straight paths through the image, and sums the paths. "
         "P1 prices a one-pixel change (slanted surfaces), P2 a jump (object boundaries). The notebook's evaluation "
         "part lets P2 fall where the image has an edge.",
         {"P2": Slider("P2", 10, 200, 10, 70), "P1": Slider("P1", 0, 60, 5, 20),
          "paths": Choice("paths", ("none (WTA only)", "4 paths", "8 paths"), "4 paths"),
          "penalty": Choice("jump penalty", ("fixed P2", "edge-aware P2"), "fixed P2")},
         _sgm_draw, _sgm_setup, size=(12.0, 3.8)),
    Demo("Left-right consistency finds occlusions",
         "Match the other way round as well, and keep a left pixel only if its partner in the right image agrees: "
         "|d_L(x) − d_R(x − d_L(x))| ≤ threshold. Pixels the right camera cannot see (occluded) have no true "
         "partner, so the two disagree there. The scene is generated, so its occlusions are known exactly.",
         {"max_diff": Slider("threshold [px]", 0.5, 8.0, 0.5, 1.0)},
         _lr_draw, _lr_setup, size=(12.0, 3.6)),
]
