"""Lecture demos of "Motion, Optical Flow": the aperture problem, Lucas-Kanade's window and pyramid, and
occlusions found by forward-backward consistency. They compute with the assignment's reference solution
(`elv lecture flow`; `elv slides flow` for the deck)."""

import numpy as np

from autograder.integrity.reference import load
from autograder.lecture import Demo, Slider
from autograder.lecture.demo import detection_overlay

TITLE = "Optical flow"
ALIASES = ("flow", "lk", "lucas_kanade")
INTRO = """
Brightness constancy, I(x, y, t) = I(x + Δx, y + Δy, t + Δt), linearised, gives one equation per pixel,
**I_x u + I_y v + I_t = 0**, for two unknowns. Lucas-Kanade adds the assumption that the flow is the same over a
window, A**u** = **b**. Everything here runs the course's reference implementation on generated frames whose
flow is known exactly.
"""

ref = load("02_optical_flow")


# --- 1. the aperture problem --------------------------------------------------------------------------------

SIZE, HALF_LENGTH, TILT = 128, 34, np.deg2rad(60)


def _bar(shift=(0.0, 0.0)):
    """A long bright bar (tilted by TILT, blurred edges) on a dark ground, moved by ``shift`` = (u, v)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    x, y = xx - SIZE / 2 - shift[0], yy - SIZE / 2 - shift[1]
    along = x * np.cos(TILT) + y * np.sin(TILT)
    across = -x * np.sin(TILT) + y * np.cos(TILT)
    soft = lambda t: 1.0 / (1.0 + np.exp(-t / 1.2))        # noqa: E731
    return (soft(5 - np.abs(across)) * soft(HALF_LENGTH - np.abs(along))).astype(np.float32)


def _aperture_draw(fig, _state, direction, radius):
    angle = np.deg2rad(direction)
    true = 1.5 * np.array([np.cos(angle), np.sin(angle)])
    I1, I2 = _bar(), _bar(true)
    Ix, Iy, It = ref.image_gradients(I1, I2)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    inside = (xx - SIZE / 2) ** 2 + (yy - SIZE / 2) ** 2 <= radius ** 2
    A = np.stack([Ix[inside], Iy[inside]], 1).astype(np.float64)
    G = A.T @ A
    b = -(A.T @ It[inside].astype(np.float64))
    lam = np.linalg.eigvalsh(G)
    ratio = lam[0] / max(lam[1], 1e-12)
    # nearly singular: the least-squares solutions form a line; take the one of smallest norm (the normal flow)
    u = np.linalg.pinv(G, rcond=0.02) @ b
    normal = ref.normal_flow(Ix, Iy, It)[inside]
    strong = np.hypot(Ix[inside], Iy[inside]) > 0.05
    n = normal[strong].mean(0) if strong.any() else np.zeros(2)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 1])
    shown = np.where(inside, 0.5 * (I1 + I2), 0.15)
    ax1.imshow(shown, cmap="gray", vmin=0, vmax=1)
    ax1.add_patch(__import__("matplotlib").patches.Circle((SIZE / 2, SIZE / 2), radius, fill=False, ec="orange", lw=2))
    c = SIZE / 2
    for vec, colour, name in ((true, "limegreen", "true motion"), (n, "deepskyblue", "normal flow (mean)"),
                              (u, "red", "Lucas-Kanade over the aperture")):
        ax1.annotate("", xy=(c + 12 * vec[0], c + 12 * vec[1]), xytext=(c, c),
                     arrowprops=dict(arrowstyle="->", lw=3, color=colour))
        ax2.plot([], [], color=colour, lw=3, label=name)
    ax1.set_title(f"the bar seen through an aperture of radius {radius} px")
    ax1.axis("off")
    ax2.axhline(0, color="#ccc")
    ax2.axvline(0, color="#ccc")
    ax2.set_xlim(-2.5, 2.5)
    ax2.set_ylim(2.5, -2.5)
    ax2.set_aspect("equal")
    for vec, colour, lw in ((true, "limegreen", 3), (n, "deepskyblue", 7), (u, "red", 3)):
        ax2.annotate("", xy=tuple(vec), xytext=(0, 0), arrowprops=dict(arrowstyle="->", lw=lw, color=colour))
    ax2.legend(loc="lower left", fontsize=9)
    ax2.set_title(f"(u, v) in px per frame; λ_min / λ_max of AᵀA = {ratio:.3f}")
    err = float(np.hypot(*(u - true)))
    sees_end = radius > HALF_LENGTH
    return (f"True motion ({true[0]:+.2f}, {true[1]:+.2f}) px; Lucas-Kanade over the aperture gives "
            f"({u[0]:+.2f}, {u[1]:+.2f}), {err:.2f} px off. "
            + ("The aperture now holds the bar's ends, whose gradients point along the bar: AᵀA has two large "
               "eigenvalues and the motion is determined." if sees_end else
               "Inside the aperture every gradient is perpendicular to the bar, so AᵀA is nearly singular "
               "(its smaller eigenvalue is close to 0) and A u = b has a line of solutions: only the component across "
               "the bar, the normal flow, is measured (the solution of smallest norm), and motion along the bar is "
               "invisible. Widen the aperture past the bar's ends."))


# --- 2. Lucas-Kanade: window and pyramid ---------------------------------------------------------------------

def _chairs_setup():
    from elvkit.data import make_chairs_flow

    pair = make_chairs_flow(0, shape=(192, 256), max_motion=14.0)
    return dict(pair=pair, I1=pair.gray(1), I2=pair.gray(2))


def _lk_draw(fig, s, window, levels):
    from elvkit import metrics, viz

    pair = s["pair"]
    flow = ref.pyramidal_lk(s["I1"], s["I2"], levels=levels, window=window)
    m = metrics.flow_metrics(flow, pair.flow)
    epe = np.linalg.norm(flow - pair.flow, axis=-1)
    top = pair.max_motion
    ax1, ax2, ax3 = fig.subplots(1, 3)
    ax1.imshow(viz.flow_to_rgb(pair.flow, max_flow=top))
    ax1.set_title(f"ground truth (largest motion {top:.0f} px)")
    ax2.imshow(viz.flow_to_rgb(flow, max_flow=top))
    ax2.set_title(f"pyramidal LK: {levels} level{'s' if levels > 1 else ''}, window {window}")
    ax3.imshow(epe, cmap="inferno", vmin=0, vmax=5)
    ax3.set_title(f"endpoint error (AEE {m['AEE']:.2f} px, Fl {m['Fl']:.1%})")
    for ax in fig.axes:
        ax.axis("off")
    coarsest = 2 ** (levels - 1)
    return (f"AEE is the mean endpoint error ‖(u, v) − (u, v)_true‖ in pixels; Fl the share of pixels off by more "
            f"than 3 px. With {levels} level{'s' if levels > 1 else ''} the coarsest image is {coarsest}× smaller, so "
            f"motions up to about {coarsest * window // 4} px stay within the linearisation's reach there. A small "
            "window is noisy where texture is weak; a large one blurs motion boundaries.")


# --- 3. occlusions from forward-backward consistency ---------------------------------------------------------

def _fb_setup():
    s = _chairs_setup()
    s["fw"] = ref.pyramidal_lk(s["I1"], s["I2"], levels=4, window=15)
    s["bw"] = ref.pyramidal_lk(s["I2"], s["I1"], levels=4, window=15)
    return s


def _fb_draw(fig, s, tau, beta):
    import torch

    pair = s["pair"]
    visible = ref.forward_backward_mask(torch.as_tensor(s["fw"]), torch.as_tensor(s["bw"]), tau, beta).numpy()
    flagged = ~visible
    occ = pair.occlusion
    overlay, (recall, precision) = detection_overlay(occ, flagged)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.imshow(pair.image1)
    ax1.set_title("frame 1")
    ax2.imshow(overlay)
    ax2.set_title("green: occluded, flagged · red: occluded, missed · yellow: visible, flagged", fontsize=10)
    for ax in fig.axes:
        ax.axis("off")
    return (f"A pixel is flagged when going forward and coming back does not return to it: ‖f(p) + b(p + f(p))‖ ≥ "
            f"max(τ, β‖f(p)‖) with τ = {tau:g} px, β = {beta:g}. It flags {flagged.mean():.1%} of the pixels; "
            f"{recall:.0%} of the truly occluded ones (recall), and {precision:.0%} of the flagged ones are occluded "
            "(precision); the rest are where Lucas-Kanade itself failed. A lower τ finds more occlusions and more "
            "false alarms.")


DEMOS = [
    Demo("The aperture problem",
         "One equation, I_x u + I_y v + I_t = 0, per pixel: through a small window on a straight edge only the motion "
         "across the edge can be measured. Turn the bar's true motion and widen the aperture.",
         {"direction": Slider("motion direction [°]", 0, 350, 10, 20),
          "radius": Slider("aperture radius [px]", 6, 60, 2, 16)},
         _aperture_draw, size=(10.0, 4.2)),
    Demo("Lucas-Kanade: window size and pyramid levels",
         "Lucas-Kanade solves A**u** = **b** in a window around each pixel; the Taylor expansion holds for motions of a "
         "pixel or two, so large motions are estimated on a Gaussian pyramid, coarse to fine.",
         {"levels": Slider("pyramid levels", 1, 5, 1, 4), "window": Slider("window [px]", 5, 41, 4, 17)},
         _lk_draw, _chairs_setup, size=(12.0, 3.4)),
    Demo("Occlusions from forward-backward consistency",
         "A pixel hidden in the second frame has no true match. Estimate the flow both ways, f from frame 1 to 2 and "
         "b back: where they do not cancel, the pixel is probably occluded, and an unsupervised loss should leave it out.",
         {"tau": Slider("τ [px]", 0.25, 8.0, 0.25, 0.5), "beta": Slider("β", 0.0, 0.3, 0.02, 0.06)},
         _fb_draw, _fb_setup, size=(10.0, 4.0)),
]
