# ---
# jupyter:
#   elvkit:
#     title: "Assignment 2: optical flow"
#     questions:
#       q1: Brightness constancy and the aperture problem
#       q2: Image gradients
#       q3: Lucas-Kanade
#       q4: Iterative refinement and coarse-to-fine
#       q5: Correlation volume
#       q6: Unsupervised flow losses
#       q7: Evaluation
#       written: Written analysis (graded by TAs)
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 2 — Optical flow: Lucas-Kanade, correlation volumes, unsupervised losses
#
# Optical flow is the apparent motion of every pixel between two consecutive frames. It is what
# a robot sees of its own motion and of the things that move around it, and it is the stereo
# problem without the epipolar constraint: the match of a pixel may lie anywhere near it, not
# only on its row.
#
# In this assignment you will
#
# 1. derive the **brightness constancy** constraint and see why one pixel cannot determine its
#    motion (the **aperture problem**),
# 2. compute the image **gradients** $I_x, I_y, I_t$,
# 3. solve the **Lucas-Kanade** least-squares system in every window, with a reliability test,
# 4. make it **iterative** (warping) and **coarse-to-fine** (an image pyramid) for large motions,
# 5. build a **correlation volume** in torch, the building block of learned flow networks, and
#    read flow out of it with an arg-max and a differentiable soft-arg-max,
# 6. write the **unsupervised** losses — photometric (SSIM + L1), forward-backward occlusion
#    check, edge-aware smoothness — and optimise a flow field with them,
# 7. **evaluate** your method against OpenCV's on pairs with exact ground truth.
#
# **How this notebook works.** Fill in every cell that says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line), and answer the **written questions** (marked *Written
# question*, 2 points each, 8 in all) in the text cell under each that says `YOUR ANSWER HERE`: a few
# sentences that refer to the figure or table above them. Teaching assistants grade those by hand;
# the 100 points of the code are graded automatically. After each function a cell of *visible tests* tells you
# what came, what was expected and the likely mistake. When your notebook is graded, *hidden
# tests* also compare each function with the reference solution on new random inputs, and the
# last part checks your whole method on real data. Restart the kernel and run all cells before
# you submit.
#
# Conventions used throughout (the same in `elvkit`):
#
# * images are arrays of shape `(H, W)` (gray, floats in `[0, 1]`); `x` is the column, `y` the row;
# * a **flow** has shape `(H, W, 2)`: `flow[y, x] = (u, v)` says that pixel `(x, y)` of the first
#   image is seen at `(x + u, y + v)` in the second image — `u` along columns, `v` along rows;
# * NaN marks an unknown flow.

# %% nbgrader={"grade_id": "imports", "locked": true}
import time

import cv2
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

import elvkit
from elvkit import metrics, viz
from elvkit.baselines import opencv_dis, opencv_farneback, opencv_pyramidal_lk
from elvkit.data import load_motorcycle_flow, make_affine_flow, make_chairs_flow
from elvkit.testing import assert_close, assert_shape, assert_true

elvkit.seed_everything(0)
SMOKE = elvkit.smoke()       # True under the autograder: smaller demos, same tests
DEVICE = elvkit.device()     # the GPU when there is one
print(f"elvkit {elvkit.__version__}: device {DEVICE}, smoke mode {SMOKE}")

# %% [markdown]
# ## The data
#
# Flow is hard to measure in the real world, so we mostly **generate** pairs whose flow we know
# exactly:
#
# * `make_affine_flow(seed)` — a photograph under one global affine motion (a slight rotation,
#   scale and translation), like a camera panning over a flat poster;
# * `make_chairs_flow(seed)` — in the spirit of the FlyingChairs data set: a background under
#   one motion and textured shapes under others, in front of it. Shapes hide what is behind
#   them, so some pixels of frame 1 are **occluded** in frame 2;
# * `load_motorcycle_flow()` — the real Middlebury *Motorcycle* stereo pair read as a flow: a
#   rectified right view is the left view with every pixel moved left by its disparity, so
#   $(u, v) = (-d, 0)$, measured with structured light.
#
# Each is a `FlowPair` with `image1`, `image2`, `flow` (the truth), `occlusion` and `gray(1)`,
# `gray(2)`. The colours below are the **Middlebury colour wheel**: the hue is the direction of
# motion, the saturation its length (white: no motion); the key is in the corner.

# %%
chairs = make_chairs_flow(0, shape=elvkit.budget((384, 512), (192, 256)),
                          max_motion=elvkit.budget(20.0, 10.0), background_motion=elvkit.budget(6.0, 3.0))
print(chairs)
fig, axes = plt.subplots(1, 4, figsize=(16, 3.4))
axes[0].imshow(chairs.image1)
axes[0].set_title("frame 1")
axes[1].imshow(chairs.image2)
axes[1].set_title("frame 2")
viz.show_flow(chairs.flow, ax=axes[2], title="true flow")
viz.show_mask(chairs.image1, chairs.occlusion, ax=axes[3], title="occluded in frame 2")
for ax in axes:
    ax.axis("off")

# %% [markdown]
# ## Part 1 — Brightness constancy and the aperture problem (8 points)
#
# A point keeps its brightness while it moves. If it is at $(x, y)$ at time $t$ and moves by
# $(\Delta x, \Delta y)$ during $\Delta t$,
#
# $$I(x, y, t) = I(x + \Delta x, y + \Delta y, t + \Delta t).$$
#
# For a small motion, a first-order Taylor expansion of the right-hand side gives
#
# $$I(x + \Delta x, y + \Delta y, t + \Delta t) \approx I(x, y, t) + \frac{\partial I}{\partial x}\Delta x
#   + \frac{\partial I}{\partial y}\Delta y + \frac{\partial I}{\partial t}\Delta t,$$
#
# so $\frac{\partial I}{\partial x}\Delta x + \frac{\partial I}{\partial y}\Delta y + \frac{\partial I}{\partial t}\Delta t = 0$.
# Dividing by $\Delta t$, with $I_x = \partial I / \partial x$, $I_y = \partial I / \partial y$,
# $I_t = \partial I / \partial t$ and the velocity $(u, v) = (\Delta x / \Delta t, \Delta y / \Delta t)$
# (pixels per frame):
#
# $$I_x u + I_y v + I_t = 0.$$
#
# **One equation, two unknowns.** The constraint only fixes the component of the motion along the
# gradient $\nabla I = (I_x, I_y)$: any motion along the edge (perpendicular to the gradient) leaves
# the image unchanged. Through a small opening — one pixel, or a small window on a straight edge —
# we cannot tell how an edge slides along itself: the **aperture problem**.
#
# The smallest motion that satisfies the constraint is the **normal flow**, along the gradient:
#
# $$(u_n, v_n) = -\frac{I_t}{I_x^2 + I_y^2}\,(I_x, I_y).$$
#
# Where the gradient vanishes ($I_x^2 + I_y^2 <$ `eps`) the pixel says nothing about its motion:
# return zero there.

# %% nbgrader={"grade_id": "q1-normal-flow", "solution": true}
def normal_flow(Ix, Iy, It, eps=1e-6):
    """The normal flow: the least-norm solution of Ix u + Iy v + It = 0 at every pixel.

    Parameters
    ----------
    Ix, Iy, It : ndarray, shape (H, W)
        Spatial and temporal derivatives.
    eps : float
        Where Ix**2 + Iy**2 < eps the flow is zero.

    Returns
    -------
    flow : ndarray, shape (H, W, 2), float32
        (u, v) = -It / (Ix**2 + Iy**2) * (Ix, Iy).
    """
    ### BEGIN SOLUTION
    Ix, Iy, It = (np.asarray(a, dtype=np.float64) for a in (Ix, Iy, It))
    g2 = Ix ** 2 + Iy ** 2
    scale = np.where(g2 >= eps, -It / np.maximum(g2, eps), 0.0)
    return np.stack([scale * Ix, scale * Iy], axis=-1).astype(np.float32)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q1-normal-flow-visible", "grade": true, "points": 3}
Ix = np.array([[1.0, 0.0, 0.6, 0.0]])
Iy = np.array([[0.0, 2.0, 0.8, 0.0]])
It = np.array([[-2.0, 1.0, -1.0, 5.0]])
n = normal_flow(Ix, Iy, It)
assert_shape(n, (1, 4, 2), name="normal_flow(Ix, Iy, It)", hint="Stack (u, v) along a new last axis.")
assert_close(n[0, 0], [2.0, 0.0], name="the normal flow where (Ix, Iy, It) = (1, 0, -2)",
             mistakes={"the sign is flipped: Ix u + Iy v = -It, so u = -It / Ix here.": [-2.0, 0.0],
                       "u and v are swapped: flow[..., 0] is u (along x), flow[..., 1] is v.": [0.0, 2.0]},
             hint="A vertical edge (gradient along x) that gets darker by 2 per frame moves 2 px to the right.")
assert_close(n[0, 1], [0.0, -0.5], name="the normal flow where (Ix, Iy, It) = (0, 2, 1)",
             mistakes={"the flow is divided by |grad I|, not |grad I|**2.": [0.0, -1.0]})
assert_close(n[0, 2], [0.6, 0.8], name="the normal flow where (Ix, Iy, It) = (0.6, 0.8, -1)")
assert_close(n[0, 3], [0.0, 0.0], name="the normal flow where the gradient is zero",
             hint="No gradient, no information: return 0 there (not inf or NaN).")
assert_close(Ix * n[..., 0] + Iy * n[..., 1] + It, [[0.0, 0.0, 0.0, 5.0]], name="Ix u + Iy v + It", atol=1e-5,
             hint="The normal flow must satisfy the constraint wherever the gradient is not zero.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q1-normal-flow-hidden", "grade": true, "points": 5}
# Hidden tests run here when your notebook is graded: they compare your functions with the
# reference solution on new random inputs.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "normal_flow", normal_flow)
### END HIDDEN TESTS

# %% [markdown]
# **The aperture problem, on an image.** Diagonal stripes move straight to the right by one
# pixel. Seen through any small window, a stripe could just as well be sliding along itself:
# the normal flow (yellow) points across the stripes, down and to the right, not along the true
# motion (cyan). Only where the window sees a corner — here, nowhere — is the motion determined.
# (The derivatives here are simple finite differences; you write better ones in Part 2.)

# %%
yy, xx = np.mgrid[0:64, 0:64].astype(np.float64)
stripes = lambda shift: 0.5 + 0.5 * np.sin(2 * np.pi * ((xx - shift) + yy) / 16.0)
f1, f2 = stripes(0.0), stripes(1.0)
gy, gx = np.gradient(0.5 * (f1 + f2))
nf = normal_flow(gx, gy, f2 - f1)
fig, ax = plt.subplots(figsize=(4.5, 4.5))
viz.show_flow_arrows(f1, nf, step=8, ax=ax, scale=6.0, title="normal flow (yellow) vs true motion (cyan)")
ax.quiver(np.arange(4, 64, 8), np.full(8, 60), np.full(8, 6.0), np.zeros(8), color="cyan", angles="xy",
          scale_units="xy", scale=1, width=0.006)
print(f"mean normal flow {nf.reshape(-1, 2).mean(axis=0).round(2)} px, true motion (1, 0) px")

# %% [markdown]
# ## Part 2 — Image gradients (8 points)
#
# The derivatives come from finite differences. We use **central differences**,
#
# $$I_x(x, y) = \tfrac12\big[I(x+1, y) - I(x-1, y)\big], \qquad I_y(x, y) = \tfrac12\big[I(x, y+1) - I(x, y-1)\big],$$
#
# the derivative filter $[-1, 0, 1]/2$: unlike the forward difference $I(x+1) - I(x)$ it is
# centred on the pixel (no half-pixel shift between $I_x$ and $I_t$) and exact for quadratics.
# We take the spatial derivatives of the **average** of the two frames, $\bar I = (I_1 + I_2)/2$,
# which centres them in time as well, and $I_t = I_2 - I_1$. At the image border repeat the edge
# pixel (`np.pad(..., mode="edge")`); graders do not compare the outermost pixels.

# %% nbgrader={"grade_id": "q2-gradients", "solution": true}
def image_gradients(I1, I2):
    """Spatial and temporal derivatives of a pair of frames.

    Parameters
    ----------
    I1, I2 : ndarray, shape (H, W)
        The frames at t and t + 1, floats.

    Returns
    -------
    Ix, Iy, It : ndarray, shape (H, W), float32
        Ix, Iy: central differences of (I1 + I2) / 2 along x (columns) and y (rows),
        edge pixels repeated at the border; It = I2 - I1.
    """
    ### BEGIN SOLUTION
    I1 = np.asarray(I1, dtype=np.float32)
    I2 = np.asarray(I2, dtype=np.float32)
    p = np.pad(0.5 * (I1 + I2), 1, mode="edge")
    Ix = 0.5 * (p[1:-1, 2:] - p[1:-1, :-2])
    Iy = 0.5 * (p[2:, 1:-1] - p[:-2, 1:-1])
    return Ix, Iy, I2 - I1
    ### END SOLUTION


# %% nbgrader={"grade_id": "q2-gradients-visible", "grade": true, "points": 4}
ramp = np.add.outer(10.0 * np.arange(4), np.arange(5)).astype(np.float32)   # I = x + 10 y
Ix, Iy, It = image_gradients(ramp, ramp + 0.5)
assert_shape(Ix, (4, 5), name="Ix")
assert_close(Ix[1:-1, 1:-1], np.ones((2, 3)), name="Ix of I = x + 10 y (interior)",
             mistakes={"Ix and Iy are swapped: x is the column (axis 1), y the row (axis 0).": 10 * np.ones((2, 3)),
                       "the central difference is not halved: (I(x+1) - I(x-1)) / 2.": 2 * np.ones((2, 3))})
assert_close(Iy[1:-1, 1:-1], 10 * np.ones((2, 3)), name="Iy of I = x + 10 y (interior)")
assert_close(It, np.full((4, 5), 0.5), name="It when frame 2 is frame 1 + 0.5",
             mistakes={"It has the wrong sign: It = I2 - I1 (later minus earlier).": np.full((4, 5), -0.5)})
Ix2, _, _ = image_gradients(ramp, ramp + 2 * np.arange(5, dtype=np.float32)[None, :])
assert_close(Ix2[2, 2], 2.0, name="Ix when frame 2 has a steeper ramp (x + 10 y and 3 x + 10 y)",
             mistakes={"Ix is taken from frame 1 only; use the average of the two frames.": 1.0,
                       "Ix is taken from frame 2 only; use the average of the two frames.": 3.0})
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q2-gradients-hidden", "grade": true, "points": 4}
# Hidden tests run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "image_gradients", image_gradients)
### END HIDDEN TESTS

# %% [markdown]
# The gradients of the generated pair, on one diverging colour scale centred on 0 (white: no
# change): $I_x$ responds to vertical edges, $I_y$ to horizontal ones, and $I_t$ is large where
# something textured moved. The sign says which way the intensity rises: red where it grows to
# the right (down, later), blue where it falls.

# %%
I1, I2 = chairs.gray(1), chairs.gray(2)
fig = viz.show_images(list(image_gradients(I1, I2)), ["$I_x$", "$I_y$", "$I_t$"], cols=3, size=3.6, signed=True,
                      colorbar="intensity change per pixel (blue < 0 < red)")

# %% [markdown]
# ## Part 3 — Lucas-Kanade (16 points)
#
# Lucas and Kanade resolve the aperture problem by assuming that all $N^2$ pixels
# $\mathbf{p}_1, \dots, \mathbf{p}_{N^2}$ of an $N \times N$ window move together. Each gives one
# constraint, and together they form an over-determined system $A\mathbf{u} = \mathbf{b}$:
#
# $$\begin{pmatrix} I_x(\mathbf{p}_1) & I_y(\mathbf{p}_1) \\ \vdots & \vdots \\ I_x(\mathbf{p}_{N^2}) & I_y(\mathbf{p}_{N^2}) \end{pmatrix}
#   \begin{pmatrix} u \\ v \end{pmatrix} = -\begin{pmatrix} I_t(\mathbf{p}_1) \\ \vdots \\ I_t(\mathbf{p}_{N^2}) \end{pmatrix}.$$
#
# Its least-squares solution solves the $2 \times 2$ **normal equations** $A^\top A\,\mathbf{u} = A^\top \mathbf{b}$:
#
# $$\underbrace{\begin{pmatrix} \sum I_x^2 & \sum I_x I_y \\ \sum I_x I_y & \sum I_y^2 \end{pmatrix}}_{G\ \text{(the structure tensor)}}
#   \begin{pmatrix} u \\ v \end{pmatrix} = -\begin{pmatrix} \sum I_x I_t \\ \sum I_y I_t \end{pmatrix},$$
#
# sums over the window. $G$ tells how well the window constrains the motion: both eigenvalues
# large — a corner or texture, motion determined; one small — an edge, the aperture problem is
# back; both small — a flat region. We call the flow **reliable** where the **smaller
# eigenvalue** of $G$ is at least a threshold, `min_eigenvalue`. The threshold applies to $G$ as
# defined above, made of window **sums** (not means), so its scale grows with $N^2$: a window twice
# as wide needs a threshold four times as large for the same texture.
#
# **Vectorise.** Every pixel has its own window, so every sum is a *window sum* of a
# per-pixel product: a box filter. `cv2.boxFilter(a, -1, (N, N), normalize=False,
# borderType=cv2.BORDER_CONSTANT)` sums over the part of the window inside the image (zeros
# outside), as do cumulative sums with zero padding. No Python loop over pixels.
#
# The smaller eigenvalue of a symmetric $\begin{pmatrix} a & b \\ b & c \end{pmatrix}$ is
# $\lambda_{\min} = \frac{a + c}{2} - \sqrt{\left(\frac{a - c}{2}\right)^2 + b^2}$.

# %% nbgrader={"grade_id": "q3-structure-tensor", "solution": true}
def window_sum(a, window):
    """Sum of ``a`` over the window x window square centred on every pixel (zeros outside the image).

    Parameters
    ----------
    a : ndarray, shape (H, W)
    window : int
        Odd side N of the window.

    Returns
    -------
    ndarray, shape (H, W), float32
    """
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float32)
    return cv2.boxFilter(a, -1, (window, window), normalize=False, borderType=cv2.BORDER_CONSTANT)
    ### END SOLUTION


def structure_tensor(Ix, Iy, window):
    """The structure tensor G of every window.

    Parameters
    ----------
    Ix, Iy : ndarray, shape (H, W)
    window : int
        Odd side N of the window.

    Returns
    -------
    G : ndarray, shape (H, W, 2, 2), float32
        G[y, x] = [[sum Ix^2, sum Ix Iy], [sum Ix Iy, sum Iy^2]] over the window around (x, y).
    """
    ### BEGIN SOLUTION
    sxx = window_sum(Ix * Ix, window)
    sxy = window_sum(Ix * Iy, window)
    syy = window_sum(Iy * Iy, window)
    return np.stack([np.stack([sxx, sxy], axis=-1), np.stack([sxy, syy], axis=-1)], axis=-2)
    ### END SOLUTION


def smallest_eigenvalue(G):
    """The smaller eigenvalue of each symmetric 2 x 2 matrix.

    Parameters
    ----------
    G : ndarray, shape (H, W, 2, 2)

    Returns
    -------
    ndarray, shape (H, W), float32
    """
    ### BEGIN SOLUTION
    a, b, c = G[..., 0, 0], G[..., 0, 1], G[..., 1, 1]
    return ((a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b ** 2)).astype(np.float32)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q3-structure-tensor-visible", "grade": true, "points": 2}
a = np.arange(12, dtype=np.float32).reshape(3, 4)
assert_close(window_sum(a, 3)[1, 1], a[:3, :3].sum(), name="window_sum(a, 3) at (x=1, y=1)")
assert_close(window_sum(a, 3)[0, 0], a[:2, :2].sum(), name="window_sum(a, 3) at the corner (x=0, y=0)",
             hint="Outside the image count zeros: the corner window holds only the 2x2 pixels inside.")
Ix_t = np.ones((5, 5))
Ix_t[1, 1] = 3.0                                   # one pixel of the centre's window differs
G = structure_tensor(Ix_t, 2 * np.ones((5, 5)), 3)
assert_shape(G, (5, 5, 2, 2), name="structure_tensor(Ix, Iy, 3)", hint="A 2x2 matrix per pixel: (H, W, 2, 2).")
assert_close(G[2, 2], [[17.0, 22.0], [22.0, 36.0]],
             name="G at the centre for Ix = 1 (3 at x=1, y=1), Iy = 2, 3x3 window",
             mistakes={"G holds one pixel's products, not sums over the window.": [[1.0, 2.0], [2.0, 4.0]],
                       "G holds window means, not sums.": [[17 / 9, 22 / 9], [22 / 9, 4.0]],
                       "G[0, 1] is the sum of Ix^2 * Iy^2 or of Iy^2; it is the sum of Ix * Iy.": [[17.0, 36.0], [36.0, 36.0]]},
             hint="Sum over the 9 pixels: Ix^2 gives 8 * 1 + 9 = 17, Ix Iy gives 2 * (8 + 3) = 22, Iy^2 gives 9 * 4 = 36.")
lam = smallest_eigenvalue(np.array([[[[2.0, 0.0], [0.0, 5.0]], [[3.0, 1.0], [1.0, 3.0]], [[1.0, 2.0], [2.0, 4.0]]]]))
assert_close(lam, [[2.0, 2.0, 0.0]], name="smallest_eigenvalue of diag(2, 5), [[3, 1], [1, 3]], [[1, 2], [2, 4]]",
             atol=1e-5, mistakes={"this is the largest eigenvalue: (a + c)/2 MINUS the square root.": [[5.0, 4.0, 5.0]]})
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q3-structure-tensor-hidden", "grade": true, "points": 3}
# Hidden tests run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "window_sum", window_sum)
check("02_optical_flow", "structure_tensor", structure_tensor)
check("02_optical_flow", "smallest_eigenvalue", smallest_eigenvalue)
### END HIDDEN TESTS

# %% [markdown]
# Now the solver. Solve the $2\times 2$ system of every pixel in closed form (Cramer's rule) or
# with `np.linalg.solve` on the stacked matrices, but only where it is reliable: elsewhere the
# flow is unknown (NaN).

# %% nbgrader={"grade_id": "q3-lk", "solution": true}
def lucas_kanade(I1, I2, window=15, min_eigenvalue=1e-2):
    """Dense Lucas-Kanade flow: one least-squares solve per window.

    Parameters
    ----------
    I1, I2 : ndarray, shape (H, W)
        Gray frames, floats in [0, 1].
    window : int
        Odd side N of the window.
    min_eigenvalue : float
        The flow is reliable where the smaller eigenvalue of G is >= this.

    Returns
    -------
    flow : ndarray, shape (H, W, 2), float32
        The solution of G (u, v) = -(sum Ix It, sum Iy It); NaN where unreliable.
    """
    ### BEGIN SOLUTION
    Ix, Iy, It = image_gradients(I1, I2)
    G = structure_tensor(Ix, Iy, window)
    bx, by = -window_sum(Ix * It, window), -window_sum(Iy * It, window)
    a, b, c = G[..., 0, 0], G[..., 0, 1], G[..., 1, 1]
    det = a * c - b * b
    reliable = smallest_eigenvalue(G) >= min_eigenvalue
    safe = np.where(reliable, det, 1.0)
    u = (c * bx - b * by) / safe
    v = (a * by - b * bx) / safe
    flow = np.stack([u, v], axis=-1).astype(np.float32)
    flow[~reliable] = np.nan
    return flow
    ### END SOLUTION


# %% nbgrader={"grade_id": "q3-lk-visible", "grade": true, "points": 5}
rng = np.random.default_rng(3)
smooth_texture = cv2.GaussianBlur(rng.random((48, 64)).astype(np.float32), (0, 0), 2.0)
yy, xx = np.mgrid[0:48, 0:64].astype(np.float32)
moved = cv2.remap(smooth_texture, xx - 0.4, yy - 0.2, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)  # (u, v) = (0.4, 0.2)
flow = lucas_kanade(smooth_texture, moved, window=15, min_eigenvalue=1e-6)
assert_shape(flow, (48, 64, 2), name="lucas_kanade(I1, I2)", hint="(u, v) stacked along the last axis.")
centre = np.nanmedian(flow[12:-12, 12:-12].reshape(-1, 2), axis=0)
assert_close(centre, [0.4, 0.2], atol=0.1, name="the median flow of a texture moved by (0.4, 0.2)",
             mistakes={"u and v are swapped: flow[..., 0] is u (along x).": [0.2, 0.4],
                       "the flow has the wrong sign: G u = -(sum Ix It, sum Iy It).": [-0.4, -0.2]})
edge = np.repeat((np.arange(40) >= 20).astype(np.float32)[None, :], 30, axis=0)   # a vertical edge
edge = cv2.GaussianBlur(edge, (0, 0), 1.5)
flow_edge = lucas_kanade(edge, np.roll(edge, 1, axis=1), window=7, min_eigenvalue=1e-3)
assert_true(np.isnan(flow_edge).all(axis=-1).all(),
            "On a straight vertical edge every window sees the aperture problem: the smaller eigenvalue "
            "of G is 0 and the flow must be NaN everywhere. Test the smaller eigenvalue of the window "
            "sums G, not of one pixel's products (which is always 0) and not the larger one.")
flow_flat = lucas_kanade(np.full((20, 20), 0.5), np.full((20, 20), 0.5), window=5)
assert_true(np.isnan(flow_flat).all(), "A flat image has no gradient anywhere: the flow must be NaN, not 0 or inf.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q3-lk-hidden", "grade": true, "points": 6}
# Hidden tests run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "lucas_kanade", lucas_kanade)
### END HIDDEN TESTS

# %% [markdown]
# On the generated pair: where is the flow reliable, and how good is it? Lucas-Kanade's
# linearisation only holds for motions of about a pixel; most of this pair moves by several
# pixels, so the flow is poor almost everywhere. Part 4 fixes that.

# %%
flow_lk = lucas_kanade(I1, I2)
m_lk = metrics.flow_metrics(flow_lk, chairs.flow)
print(f"Lucas-Kanade, one step: AEE {m_lk['AEE']:.2f} px on the {m_lk['density']:.0%} reliable pixels")
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
viz.show_mask(chairs.image1, np.isnan(flow_lk[..., 0]), ax=axes[0], title="unreliable (smaller eigenvalue too small)")
viz.show_flow(flow_lk, ax=axes[1], title="Lucas-Kanade, one step", max_flow=chairs.max_motion)
viz.show_flow(chairs.flow, ax=axes[2], title="true flow", max_flow=chairs.max_motion)
plt.show()

# %% [markdown]
# **Written question — where Lucas-Kanade is unreliable.** (2 points)
#
# In the figure above, which image structures are marked unreliable, and why, in terms of the two
# eigenvalues of $G$? How would a window twice as wide change the pink area, and what would it cost?

# %% [markdown] nbgrader={"grade_id": "written-reliability", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** Flat regions (both eigenvalues small: no gradient) and straight edges (one eigenvalue small: the
# aperture problem, motion along the edge unseen) are pink; corners and texture are kept. A wider window
# collects more gradient directions, so fewer windows are flat or edge-only and the pink area shrinks
# (with the threshold scaled by four, as G sums four times as many pixels), but each flow vector
# averages over a larger area: motion boundaries blur and small objects are merged with their surroundings.
#
# **Rubric.** 2: flat and edge cases tied to the eigenvalues, and the window's trade-off. 1: one of the two.
# 0: neither.
# ### END SOLUTION

# %% [markdown]
# ## Part 4 — Iterative refinement and coarse-to-fine (20 points)
#
# **Warping.** If we already have a flow estimate $\mathbf{w}$, we can undo it: sample the second
# image where each pixel is expected to go, $\tilde I_2(\mathbf{x}) = I_2(\mathbf{x} + \mathbf{w}(\mathbf{x}))$
# (*backward warping*: we read $I_2$ at the target, so every output pixel gets a value). If
# $\mathbf{w}$ were right, $\tilde I_2 = I_1$. Targets fall between pixels: interpolate
# **bilinearly** between the four neighbours. Clamp the sampling position to the image
# (repeat the border).

# %% nbgrader={"grade_id": "q4-warp", "solution": true}
def warp_image(image, flow):
    """Backward warping: out(x, y) = image(x + u, y + v), bilinear, positions clamped to the image.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
    flow : ndarray, shape (H, W, 2)

    Returns
    -------
    ndarray, the shape of ``image``, float32
    """
    ### BEGIN SOLUTION
    img = np.asarray(image, dtype=np.float32)
    h, w = img.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    X = np.clip(x + flow[..., 0], 0, w - 1)
    Y = np.clip(y + flow[..., 1], 0, h - 1)
    x0 = np.minimum(np.floor(X).astype(np.int64), max(w - 2, 0))
    y0 = np.minimum(np.floor(Y).astype(np.int64), max(h - 2, 0))
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    ax, ay = X - x0, Y - y0
    if img.ndim == 3:
        ax, ay = ax[..., None], ay[..., None]
    top = img[y0, x0] * (1 - ax) + img[y0, x1] * ax
    bottom = img[y1, x0] * (1 - ax) + img[y1, x1] * ax
    return (top * (1 - ay) + bottom * ay).astype(np.float32)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q4-warp-visible", "grade": true, "points": 3}
img = np.arange(20, dtype=np.float32).reshape(4, 5)       # value = 5 y + x
shift = np.zeros((4, 5, 2), np.float32)
shift[..., 0] = 1.0                                        # every pixel moves 1 px right
out = warp_image(img, shift)
assert_shape(out, (4, 5), name="warp_image(img, flow)")
assert_close(out[:, :4], img[:, 1:], name="warp_image with u = 1 (columns 0-3)",
             mistakes={"the image is warped the wrong way: read image(x + u), not image(x - u).": img[:, :4] - 1},
             hint="Backward warping reads the second image where each pixel goes: out(x) = image(x + 1).")
assert_close(out[:, 4], img[:, 4], name="the last column (position clamped to the image)")
half = np.zeros((4, 5, 2), np.float32)
half[..., 0], half[..., 1] = 0.5, 0.25
assert_close(warp_image(img, half)[1, 1], 5 * 1.25 + 1.5, name="warp_image at (1, 1) with (u, v) = (0.5, 0.25)",
             mistakes={"u and v are swapped: u moves along x (columns).": 5 * 1.5 + 1.25,
                       "not bilinear: the position was rounded.": 5 * 1 + 2.0},
             hint="Bilinear interpolation of a linear image is exact: 5 * 1.25 + 1.5 = 7.75.")
rgb = np.stack([img, 2 * img, 3 * img], axis=-1)
assert_close(warp_image(rgb, half)[1, 1], [7.75, 15.5, 23.25], name="warp_image of a 3-channel image at (1, 1)")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q4-warp-hidden", "grade": true, "points": 3}
# Hidden tests run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "warp_image", warp_image)
### END HIDDEN TESTS

# %% [markdown]
# **Iterative Lucas-Kanade.** Warp $I_2$ by the current flow $\mathbf{w}$, compute the gradients
# between $I_1$ and $\tilde I_2$, and solve again. Linearise every pixel $\mathbf{p}$ of a window
# about *its own* current flow: $I_x (u - w_u(\mathbf{p})) + I_y (v - w_v(\mathbf{p})) + \tilde I_t = 0$.
# Solving for the **total** flow $\mathbf{u}$ of the window (not for an increment) gives
#
# $$(G + \lambda I)\,\mathbf{u} = \sum_{\text{window}} \nabla I\,\big(\nabla I \cdot \mathbf{w} - \tilde I_t\big) + \lambda\,\mathbf{w}(\text{centre}),$$
#
# with $\nabla I = (I_x, I_y)$ and $\tilde I_t = \tilde I_2 - I_1$ at each pixel of the window. The small
# **Tikhonov** term $\lambda$ pulls the solution towards the current flow where $G$ is
# ill-conditioned (flat regions, edges), so the system is always solvable and the flow there
# keeps the estimate from the coarser level instead of jumping. Use your `image_gradients`,
# `structure_tensor`, `window_sum` and `warp_image`.

# %% nbgrader={"grade_id": "q4-refine", "solution": true}
def lk_refine(I1, I2, flow, window=15, iterations=3, tikhonov=1e-3):
    """Iterative Lucas-Kanade: warp, re-linearise, solve for the total flow; repeat.

    Parameters
    ----------
    I1, I2 : ndarray, shape (H, W)
    flow : ndarray, shape (H, W, 2)
        The initial flow w.
    window : int
        Odd side of the window.
    iterations : int
        Number of warp-and-solve steps.
    tikhonov : float
        lambda: (G + lambda I) u = sum grad I (grad I . w - It~) + lambda w.

    Returns
    -------
    flow : ndarray, shape (H, W, 2), float32
    """
    ### BEGIN SOLUTION
    flow = np.asarray(flow, dtype=np.float32).copy()
    for _ in range(iterations):
        Ix, Iy, It = image_gradients(I1, warp_image(I2, flow))
        G = structure_tensor(Ix, Iy, window)
        u, v = flow[..., 0], flow[..., 1]
        r = Ix * u + Iy * v - It
        bx = window_sum(Ix * r, window) + tikhonov * u
        by = window_sum(Iy * r, window) + tikhonov * v
        a, b, c = G[..., 0, 0] + tikhonov, G[..., 0, 1], G[..., 1, 1] + tikhonov
        det = a * c - b * b
        flow = np.stack([(c * bx - b * by) / det, (a * by - b * bx) / det], axis=-1).astype(np.float32)
    return flow
    ### END SOLUTION


# %% nbgrader={"grade_id": "q4-refine-visible", "grade": true, "points": 3}
moved = cv2.remap(smooth_texture, xx - 2.0, yy + 1.0, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)  # (2, -1)
zero = np.zeros((48, 64, 2), np.float32)
one_step = np.median(lk_refine(smooth_texture, moved, zero, iterations=1)[12:-12, 12:-12].reshape(-1, 2), axis=0)
refined = np.median(lk_refine(smooth_texture, moved, zero, iterations=6)[12:-12, 12:-12].reshape(-1, 2), axis=0)
assert_close(refined, [2.0, -1.0], atol=0.05, name="the median flow after 6 iterations, true (2, -1)",
             mistakes={"the flow grows the wrong way: warp I2 forwards, image(x + u), and solve for the total flow.":
                       [-2.0, 1.0]},
             hint="Each iteration should bring the flow closer; check warp_image and the right-hand side.")
assert_true(np.linalg.norm(refined - [2.0, -1.0]) < np.linalg.norm(one_step - [2.0, -1.0]),
            f"Iterating should improve on one step: one step gave {one_step.round(3)}, six gave {refined.round(3)}.")
exact = np.zeros((48, 64, 2), np.float32)
exact[..., 0], exact[..., 1] = 2.0, -1.0
kept = lk_refine(np.full((48, 64), 0.5, np.float32), np.full((48, 64), 0.5, np.float32), exact, iterations=2)
assert_close(kept, exact, atol=1e-4, name="lk_refine on a flat image, starting from the flow (2, -1)",
             hint="Without texture, G = 0 and the Tikhonov term must keep the initial flow.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q4-refine-hidden", "grade": true, "points": 3}
# Hidden tests run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "lk_refine", lk_refine)
### END HIDDEN TESTS

# %% [markdown]
# **Coarse-to-fine.** Iterating still needs a start within a pixel or two of the truth. A
# **Gaussian pyramid** halves the image again and again: blur with the 5-tap binomial filter
# $[1, 4, 6, 4, 1]/16$ along $x$ and along $y$, then keep the even rows and columns (0, 2, 4, …).
# At the border, **reflect without repeating the edge pixel** (… 2 1 | 0 1 2 …): `np.pad(a, 2,
# mode="reflect")`, OpenCV's `BORDER_REFLECT_101`. Write this filter yourself with numpy — five
# shifted, weighted copies per direction; the visible test checks your levels against
# `cv2.pyrDown`, which does exactly this, and the hidden tests compare whole levels with the
# reference to a relative 1e-5, borders included. Each level halves a motion: 40 px is 10 px two
# levels up and 2.5 px four levels up, within reach of Lucas-Kanade's iterations. Start at the
# coarsest level with zero flow; at each finer level, **upsample** the flow (bilinear,
# `cv2.resize(flow, (W, H), interpolation=cv2.INTER_LINEAR)`) and **scale** it — a displacement
# of 1 px at one level is 2 px at the next: multiply $u$ by $W_{\text{fine}}/W_{\text{coarse}}$ and
# $v$ by $H_{\text{fine}}/H_{\text{coarse}}$ — then refine. A 5×5 median filter of the flow after each
# level (`cv2.medianBlur` on each component) removes isolated outliers before they spread (Sun,
# Roth and Black, *Secrets of optical flow estimation*, CVPR 2010).

# %% nbgrader={"grade_id": "q4-pyramid", "solution": true}
def gaussian_pyramid(image, levels):
    """The Gaussian pyramid of ``image``, finest level first.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    levels : int
        Number of levels, the image itself included.

    Returns
    -------
    list of ndarray, float32
        Level k has shape (ceil(H / 2**k), ceil(W / 2**k)): level k - 1 blurred with
        [1, 4, 6, 4, 1] / 16 along x and y (borders reflected without repeating the edge
        pixel, BORDER_REFLECT_101), then its even rows and columns, as cv2.pyrDown.
    """
    ### BEGIN SOLUTION
    taps = np.array([1, 4, 6, 4, 1], np.float32) / 16

    def down(a):
        p = np.pad(a, 2, mode="reflect")                                   # BORDER_REFLECT_101
        h, w = a.shape
        rows = sum(t * p[:, k: k + w] for k, t in enumerate(taps))         # along x
        blurred = sum(t * rows[k: k + h] for k, t in enumerate(taps))      # along y
        return blurred[::2, ::2].astype(np.float32)

    out = [np.asarray(image, dtype=np.float32)]
    for _ in range(levels - 1):
        out.append(down(out[-1]))
    return out
    ### END SOLUTION


def upsample_flow(flow, shape):
    """Resize a flow to ``shape`` = (H, W) bilinearly and scale its vectors to the new pixel size.

    Returns
    -------
    ndarray, shape (H, W, 2), float32
        u multiplied by W / flow.shape[1], v by H / flow.shape[0].
    """
    ### BEGIN SOLUTION
    h, w = shape
    up = cv2.resize(np.asarray(flow, dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    up[..., 0] *= w / flow.shape[1]
    up[..., 1] *= h / flow.shape[0]
    return up
    ### END SOLUTION


def pyramidal_lk(I1, I2, levels=None, window=15, iterations=3, tikhonov=1e-3, min_size=16):
    """Coarse-to-fine iterative Lucas-Kanade.

    Parameters
    ----------
    I1, I2 : ndarray, shape (H, W)
    levels : int, optional
        Pyramid levels; by default as many as keep the coarsest level's shorter side >= min_size.
    window, iterations, tikhonov
        As in lk_refine, at every level.

    Returns
    -------
    flow : ndarray, shape (H, W, 2), float32
    """
    ### BEGIN SOLUTION
    I1 = np.asarray(I1, dtype=np.float32)
    I2 = np.asarray(I2, dtype=np.float32)
    if levels is None:
        levels = max(1, int(np.floor(np.log2(min(I1.shape) / min_size))) + 1)
    p1, p2 = gaussian_pyramid(I1, levels), gaussian_pyramid(I2, levels)
    flow = np.zeros(p1[-1].shape + (2,), np.float32)
    for level in range(levels - 1, -1, -1):
        if flow.shape[:2] != p1[level].shape:
            flow = upsample_flow(flow, p1[level].shape)
        flow = lk_refine(p1[level], p2[level], flow, window, iterations, tikhonov)
        flow = np.stack([cv2.medianBlur(flow[..., 0], 5), cv2.medianBlur(flow[..., 1], 5)], axis=-1)
    return flow
    ### END SOLUTION


# %% nbgrader={"grade_id": "q4-pyramid-visible", "grade": true, "points": 4}
pyr = gaussian_pyramid(np.ones((37, 50), np.float32), 3)
assert_true(len(pyr) == 3, f"gaussian_pyramid(image, 3) should return 3 levels; got {len(pyr)}.")
assert_true([p.shape for p in pyr] == [(37, 50), (19, 25), (10, 13)],
            f"The levels should have shapes (37, 50), (19, 25), (10, 13); got {[p.shape for p in pyr]}.")
impulse = np.zeros((5, 5), np.float32)
impulse[2, 2] = 1.0
level1 = gaussian_pyramid(impulse, 2)[1]
assert_close(level1[1, 1], (6 / 16) ** 2, name="level 1 of a centred impulse at (x=1, y=1)",
             hint="Output (1, 1) is input (2, 2): weight 6/16 along x times 6/16 along y.")
assert_close(level1[0, 0], (2 / 16) ** 2, name="level 1 of a centred impulse at the corner (x=0, y=0)",
             mistakes={"the border is repeated, reflected with the edge pixel or zero: reflect without repeating the "
                       "edge (np.pad mode='reflect', BORDER_REFLECT_101).": (1 / 16) ** 2},
             hint="Output (0, 0) is input (0, 0); its taps reach columns -2..2, and column -2 reflects to column 2, "
                  "where the impulse is: weight 1/16 + 1/16 along each axis.")
ramp_img = np.random.default_rng(5).random((23, 30)).astype(np.float32)
assert_close(gaussian_pyramid(ramp_img, 3)[2], cv2.pyrDown(cv2.pyrDown(ramp_img)), rtol=1e-5, atol=1e-6,
             name="gaussian_pyramid(random image, 3)[2] against cv2.pyrDown twice")
coarse = np.zeros((3, 4, 2), np.float32)
coarse[..., 0], coarse[..., 1] = 1.5, -0.5
up = upsample_flow(coarse, (6, 8))
assert_shape(up, (6, 8, 2), name="upsample_flow(flow, (6, 8))")
assert_close(up[2, 3], [3.0, -1.0], name="a constant flow (1.5, -0.5) upsampled to twice the size",
             mistakes={"the flow is resized but not scaled: one coarse pixel is two fine pixels.": [1.5, -0.5]})
texture = cv2.GaussianBlur(np.random.default_rng(4).random((96, 128)).astype(np.float32), (0, 0), 1.5)
ys, xs = np.mgrid[0:96, 0:128].astype(np.float32)
big = cv2.remap(texture, xs - 7.0, ys - 5.0, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
flow_big = pyramidal_lk(texture, big)
assert_close(np.median(flow_big[16:-16, 16:-16].reshape(-1, 2), axis=0), [7.0, 5.0], atol=0.1,
             name="pyramidal_lk: the median flow of a texture moved by (7, 5)",
             hint="7 px is far beyond one Lucas-Kanade step; the pyramid must bring it within reach.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q4-pyramid-hidden", "grade": true, "points": 4}
# Hidden tests run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "gaussian_pyramid", gaussian_pyramid)
check("02_optical_flow", "upsample_flow", upsample_flow)
check("02_optical_flow", "pyramidal_lk", pyramidal_lk)
### END HIDDEN TESTS

# %% [markdown]
# The pyramid at work on the generated pair: the same Lucas-Kanade, now dense and accurate.

# %%
start = time.perf_counter()
flow_plk = pyramidal_lk(I1, I2)
elapsed = time.perf_counter() - start
m = metrics.flow_metrics(flow_plk, chairs.flow)
print(f"pyramidal LK: AEE {m['AEE']:.2f} px, {m['Fl']:.1%} of the pixels off by more than 3 px, {elapsed:.2f} s "
      f"(one step of LK: AEE {m_lk['AEE']:.2f} px on its reliable pixels)")
fig = viz.compare_flows(chairs.image1, chairs.flow, {"pyramidal Lucas-Kanade": flow_plk})

# %% [markdown]
# ## Part 5 — Correlation volume (14 points)
#
# Learned flow networks (FlowNet, PWC-Net, RAFT) do not linearise the image; they **compare
# features**. Given feature maps $\mathbf{f}_1, \mathbf{f}_2$ of the two images (here: vectors of
# $C$ numbers per pixel), the correlation of a pixel $\mathbf{x}_1$ of image 1 with a pixel
# $\mathbf{x}_2$ of image 2 is
#
# $$c(\mathbf{x}_1, \mathbf{x}_2) = \sum_{\mathbf{o} \in [-k, k] \times [-k, k]} \langle \mathbf{f}_1(\mathbf{x}_1 + \mathbf{o}), \mathbf{f}_2(\mathbf{x}_2 + \mathbf{o}) \rangle .$$
#
# We use single-pixel patches ($k = 0$, as FlowNet and RAFT do in practice; the features already
# describe a neighbourhood), normalise by the number of channels, and compare each $\mathbf{x}_1$
# with the $(2d+1)^2$ pixels $\mathbf{x}_2 = \mathbf{x}_1 + (\Delta x, \Delta y)$,
# $|\Delta x|, |\Delta y| \le d$ — a **local** correlation volume of shape
# $H \times W \times (2d+1)^2$. Offsets are ordered row by row: index
# $(\Delta y + d)(2d + 1) + (\Delta x + d)$. Pixels $\mathbf{x}_2$ outside the image have zero
# features. Loop over the $(2d+1)^2$ offsets if you like (shift $\mathbf{f}_2$ with padding),
# never over pixels; work in torch, on the device of the input.

# %% nbgrader={"grade_id": "q5-correlation", "solution": true}
def correlation_volume(f1, f2, radius):
    """Local correlation of two feature maps.

    Parameters
    ----------
    f1, f2 : torch.Tensor, shape (C, H, W)
    radius : int
        d: offsets from -d to d along each axis.

    Returns
    -------
    corr : torch.Tensor, shape (H, W, (2d+1)**2), on f1's device
        corr[y, x, (dy + d) * (2d + 1) + (dx + d)] = sum_c f1[c, y, x] * f2[c, y + dy, x + dx] / C,
        zero where (x + dx, y + dy) is outside the image.
    """
    ### BEGIN SOLUTION
    c, h, w = f1.shape
    padded = F.pad(f2, (radius, radius, radius, radius))
    out = []
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            shifted = padded[:, radius + dy: radius + dy + h, radius + dx: radius + dx + w]
            out.append((f1 * shifted).sum(dim=0) / c)
    return torch.stack(out, dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q5-correlation-visible", "grade": true, "points": 3}
g = torch.Generator().manual_seed(0)
fa, fb = torch.randn(3, 5, 6, generator=g), torch.randn(3, 5, 6, generator=g)
corr = correlation_volume(fa, fb, 1)
assert_shape(corr, (5, 6, 9), name="correlation_volume(f1, f2, radius=1)", hint="(H, W, (2d+1)**2).")


def naive_correlation(f1, f2, d):
    C, H, W = f1.shape
    out = torch.zeros(H, W, (2 * d + 1) ** 2)
    for y in range(H):
        for x in range(W):
            for dy in range(-d, d + 1):
                for dx in range(-d, d + 1):
                    if 0 <= y + dy < H and 0 <= x + dx < W:
                        out[y, x, (dy + d) * (2 * d + 1) + dx + d] = (f1[:, y, x] * f2[:, y + dy, x + dx]).sum() / C
    return out


expected = naive_correlation(fa, fb, 1)
assert_close(corr, expected, atol=1e-5, name="correlation_volume(f1, f2, 1) against a loop over pixels",
             mistakes={"the offsets are transposed: index (dy + d) * (2d + 1) + (dx + d), dy major.":
                       expected.reshape(5, 6, 3, 3).transpose(2, 3).reshape(5, 6, 9),
                       "the correlation is not divided by the number of channels C.": 3 * expected})
corr2 = correlation_volume(fa, fb, 2)
assert_close(corr2[:, :, 12], (fa * fb).mean(dim=0), atol=1e-5, name="the centre channel (offset (0, 0)) for d = 2")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q5-correlation-hidden", "grade": true, "points": 4}
# Hidden tests run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "correlation_volume", correlation_volume)
### END HIDDEN TESTS

# %% [markdown]
# **From correlation to flow.** The best match of each pixel is the offset of largest
# correlation (**arg-max**): an integer flow, not differentiable. A network is trained by
# gradients, so it takes a **soft-arg-max** instead: turn the correlations into probabilities
# with a softmax over the offsets, $p_k = \exp(c_k / T) / \sum_j \exp(c_j / T)$, and return the
# expected offset $\sum_k p_k\,(\Delta x_k, \Delta y_k)$. The temperature $T$ sets how sharp the
# distribution is; as $T \to 0$ it becomes the arg-max.

# %% nbgrader={"grade_id": "q5-argmax", "solution": true}
def _offsets(radius, device=None, dtype=torch.float32):
    """(2d+1)**2 x 2 table of (dx, dy), in the volume's order."""
    r = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    dy, dx = torch.meshgrid(r, r, indexing="ij")
    return torch.stack([dx.reshape(-1), dy.reshape(-1)], dim=-1)


def correlation_to_flow(corr, radius):
    """Integer flow from the arg-max over offsets.

    Parameters
    ----------
    corr : torch.Tensor, shape (H, W, (2d+1)**2)
    radius : int

    Returns
    -------
    flow : torch.Tensor, shape (H, W, 2), float32, on corr's device
        (dx, dy) of the largest correlation (the first one on ties).
    """
    ### BEGIN SOLUTION
    return _offsets(radius, corr.device)[corr.argmax(dim=-1)]
    ### END SOLUTION


def soft_argmax_flow(corr, radius, temperature=1.0):
    """Differentiable flow: the expected offset under softmax(corr / temperature) over offsets.

    Returns
    -------
    flow : torch.Tensor, shape (H, W, 2), on corr's device
    """
    ### BEGIN SOLUTION
    p = torch.softmax(corr / temperature, dim=-1)
    return p @ _offsets(radius, corr.device, corr.dtype)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q5-argmax-visible", "grade": true, "points": 3}
peak = torch.zeros(2, 2, 9)
peak[0, 0, 5] = 1.0          # offset index 5 = (dy + 1) * 3 + (dx + 1): dy = 0, dx = +1
peak[0, 1, 1] = 1.0          # dy = -1, dx = 0
peak[1, 0, 6] = 1.0          # dy = +1, dx = -1
peak[1, 1, 4] = 1.0          # no motion
hard = correlation_to_flow(peak, 1)
assert_shape(hard, (2, 2, 2), name="correlation_to_flow(corr, 1)")
assert_close(hard, [[[1.0, 0.0], [0.0, -1.0]], [[-1.0, 1.0], [0.0, 0.0]]], name="the arg-max flow of four peaks",
             mistakes={"(dx, dy) are swapped: the flow is (u, v) = (dx, dy); the offset index is dy major.":
                       [[[0.0, 1.0], [-1.0, 0.0]], [[1.0, -1.0], [0.0, 0.0]]]})
soft = soft_argmax_flow(100.0 * peak, 1, temperature=1.0)
assert_close(soft, [[[1.0, 0.0], [0.0, -1.0]], [[-1.0, 1.0], [0.0, 0.0]]], atol=1e-4,
             name="soft_argmax_flow of very sharp peaks", hint="It should approach the arg-max.")
flat = soft_argmax_flow(torch.zeros(1, 1, 9), 1)
assert_close(flat, [[[0.0, 0.0]]], atol=1e-6, name="soft_argmax_flow of a flat correlation",
             hint="Equal correlations: every offset is equally likely, and their mean is (0, 0).")
two = torch.zeros(1, 1, 9)
two[0, 0, 5] = two[0, 0, 3] = 2.0      # (+1, 0) and (-1, 0) equally good
assert_close(soft_argmax_flow(two, 1, temperature=0.5)[0, 0], [0.0, 0.0], atol=1e-5,
             name="soft_argmax_flow between two equal peaks")
wide = torch.zeros(2, 3, 9)
wide[..., 5] = 1.0                     # every pixel prefers (+1, 0), mildly
assert_close(soft_argmax_flow(wide, 1)[1, 2], [(np.e - 1) / (np.e + 8), 0.0], atol=1e-5,
             name="soft_argmax_flow of a mild peak at (+1, 0), T = 1",
             hint="p = softmax over the 9 offsets of each pixel (the last axis): e / (e + 8) at (+1, 0), 1 / (e + 8) "
                  "elsewhere; the expected dx is (e - 1) / (e + 8).")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q5-argmax-hidden", "grade": true, "points": 4}
# Hidden tests run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "correlation_to_flow", correlation_to_flow)
check("02_optical_flow", "soft_argmax_flow", soft_argmax_flow)
### END HIDDEN TESTS

# %% [markdown]
# **Correlation on real textures.** Our features here are hand-made rather than learned: every
# pixel's 5×5 neighbourhood of gray levels, normalised to zero mean and a mean square of one, so
# that the correlation is the normalised cross-correlation of the two patches, in $[-1, 1]$. On
# the affine pair, downsampled to a quarter so that the motion fits in the search radius, the
# arg-max is an integer flow: its error is mostly the rounding of sub-pixel motions. The
# soft-arg-max with a well-chosen temperature recovers part of the fraction; a temperature that
# is too high blurs between offsets and pulls the flow towards zero. This runs on `DEVICE`.

# %%
def patch_features(image, size=5):
    """(size**2, H, W) features on DEVICE: each pixel's size x size patch, zero mean, mean square 1."""
    t = torch.as_tensor(image, dtype=torch.float32, device=DEVICE)[None, None]
    patches = F.unfold(F.pad(t, (size // 2,) * 4, mode="replicate"), size)[0]          # (size**2, H*W)
    patches = patches - patches.mean(dim=0, keepdim=True)
    patches = patches / patches.norm(dim=0, keepdim=True).clamp_min(1e-6) * size    # mean square 1
    return patches.reshape(size * size, *image.shape)


affine = make_affine_flow(1, shape=elvkit.budget((384, 512), (192, 256)), max_motion=elvkit.budget(8.0, 4.0))
small1 = cv2.resize(affine.gray(1), None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
small2 = cv2.resize(affine.gray(2), None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
true_small = cv2.resize(affine.flow, small1.shape[::-1], interpolation=cv2.INTER_AREA) / 4.0
R = 4
corr = correlation_volume(patch_features(small1), patch_features(small2), R)
results_corr = {"arg-max": correlation_to_flow(corr, R)}
for T in (0.05, 0.5):
    results_corr[f"soft-arg-max, T = {T}"] = soft_argmax_flow(corr, R, temperature=T)
for name, f in results_corr.items():
    print(f"{name:24s} AEE {metrics.average_endpoint_error(f, true_small):.3f} px (quarter resolution)")
fig = viz.compare_flows(cv2.resize(affine.image1, small1.shape[::-1]), true_small,
                        {k: elvkit.to_numpy(v) for k, v in results_corr.items()}, max_error=1.0)

# %% [markdown]
# **Written question — the soft-arg-max temperature.** (2 points)
#
# From the three lines printed above: why does T = 0.5 pull the flow towards zero while T = 0.05
# improves on the arg-max? What does the soft-arg-max become as T → 0 and as T → ∞, and how would you
# choose T without ground truth?

# %% [markdown] nbgrader={"grade_id": "written-temperature", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** The soft-arg-max is the expectation of the offset under softmax(corr / T). With a small T the weights
# concentrate on the best offset and its neighbours, so the expectation interpolates between them and
# recovers part of the sub-pixel motion (better than the integer arg-max). With a large T the weights
# spread over all (2R + 1)² offsets, and the mean of a nearly uniform distribution over a symmetric
# window is near 0: the flow shrinks. T → 0 gives the arg-max (a one-hot softmax); T → ∞ gives the
# window's centre, zero flow. Without ground truth: choose T on a held-out pair with known motion, or by
# the photometric loss of the warped image, or learn it.
#
# **Rubric.** 2: expectation argument for both regimes and both limits, and a way to choose T. 1: limits only or
# the regimes only. 0: neither.
# ### END SOLUTION

# %% [markdown]
# ## Part 6 — Unsupervised flow losses (20 points)
#
# Without ground truth, a flow is judged by how well it explains the images. Three terms, as in
# the lecture:
#
# **Photometric (appearance) loss.** Warp $I_2$ back with the flow, $\tilde I(\mathbf{x}) = I_2(\mathbf{x} + \mathbf{f}(\mathbf{x}))$,
# and compare with $I_1$ through SSIM (structure, robust to brightness) and L1:
#
# $$\mathcal{L}_{ph} = \frac{1}{N}\sum_{i,j} \alpha\,\frac{1 - \text{SSIM}(I_{ij}, \tilde I_{ij})}{2} + (1 - \alpha)\,\big|I_{ij} - \tilde I_{ij}\big|, \qquad \alpha = 0.85 .$$
#
# SSIM compares local means $\mu$, variances $\sigma^2$ and the covariance $\sigma_{ab}$ over a
# 3×3 window — a plain mean filter, the image padded by reflection without repeating the edge pixel
# (`F.pad(..., mode="reflect")`), and the statistics of the 9 pixels themselves:
# $\sigma_a^2 = \overline{a^2} - \mu_a^2$ and $\sigma_{ab} = \overline{ab} - \mu_a\mu_b$ (divided by 9, not 8):
# $\text{SSIM} = \frac{(2\mu_a\mu_b + C_1)(2\sigma_{ab} + C_2)}{(\mu_a^2 + \mu_b^2 + C_1)(\sigma_a^2 + \sigma_b^2 + C_2)}$,
# $C_1 = 0.01^2$, $C_2 = 0.03^2$. It lies in $[-1, 1]$, so $(1 - \text{SSIM})/2 \in [0, 1]$, the range of the L1 term.
#
# **Occlusions: forward-backward consistency.** A pixel visible in both frames goes there and back:
# the forward flow $\mathbf{f}$ and the backward flow $\mathbf{b}$ (from $I_2$ to $I_1$) cancel,
# $\mathbf{f}(\mathbf{p}) + \mathbf{b}(\mathbf{p} + \mathbf{f}(\mathbf{p})) \approx 0$. Where they do not, the pixel is
# probably occluded and is left out of the photometric loss. The lecture's criterion keeps $\mathbf{p}$ when
#
# $$\big\|\Delta\mathbf{f}(\mathbf{p})\big\|_2 < \max\{\tau, \beta\,\|\mathbf{f}(\mathbf{p})\|_2\}, \qquad \Delta\mathbf{f}(\mathbf{p}) = \mathbf{f}(\mathbf{p}) + \mathbf{b}(\mathbf{p} + \mathbf{f}(\mathbf{p})),$$
#
# with $\tau = 3$ px and $\beta = 0.05$ (a tolerance that grows with the motion). The slides write
# this threshold $\alpha$ too; here $\alpha$ is only the SSIM weight above, and the threshold is
# $\tau$ (the argument `tau`). $\mathbf{b}$ is read at $\mathbf{p} + \mathbf{f}(\mathbf{p})$ with
# `backward_warp`, border repeated: a pixel whose target leaves the frame reads the backward flow
# of the nearest border pixel and gets no special rule (it is usually inconsistent, which is right:
# it is not visible in frame 2).
#
# **Edge-aware smoothness.** Flow should be smooth, except where the image has an edge (object
# boundaries):
# $\mathcal{L}_{sm} = \frac1N \sum |\partial_x \mathbf{f}|\,e^{-\lambda|\partial_x I|} + |\partial_y \mathbf{f}|\,e^{-\lambda|\partial_y I|}$,
# with forward differences, $|\partial \mathbf{f}| = |\partial u| + |\partial v|$, each mean taken over its own
# differences. The slide's weight is $e^{-|\nabla I|}$, that is $\lambda = 1$, as in Monodepth
# (images in $[0, 1]$) and GeoNet (images in $[-1, 1]$). Our images are in $[0, 1]$ too, and we
# choose $\lambda = 10$: a step of 0.1 in intensity (a faint edge) already divides the smoothness
# penalty across it by $e \approx 2.7$, where the slide's weight would take a step of 1 (black to
# white) for that. The stronger weight lets flow boundaries follow weak edges of our generated
# scenes; $\lambda = 1$ barely distinguishes edges from texture there.
#
# All functions take torch tensors on any device, images `(H, W)` and flows `(H, W, 2)`, and must
# be differentiable with respect to the flow. Backward warping in torch is
# `F.grid_sample(image[None, None], grid[None], mode="bilinear", padding_mode="border", align_corners=True)`
# with the grid of sampling positions $\mathbf{x} + \mathbf{f}(\mathbf{x})$ scaled to $[-1, 1]$:
# $g_x = 2x/(W - 1) - 1$, $g_y = 2y/(H - 1) - 1$.

# %% nbgrader={"grade_id": "q6-warp", "solution": true}
def backward_warp(image, flow):
    """Torch backward warping: out(x, y) = image(x + u, y + v), bilinear, border repeated.

    Parameters
    ----------
    image : torch.Tensor, shape (H, W) or (C, H, W)
    flow : torch.Tensor, shape (H, W, 2)

    Returns
    -------
    torch.Tensor, the shape of ``image``, differentiable in ``flow`` (and ``image``)
    """
    ### BEGIN SOLUTION
    img = image[None, None] if image.dim() == 2 else image[None]
    h, w = flow.shape[:2]
    ys, xs = torch.meshgrid(torch.arange(h, device=flow.device, dtype=flow.dtype),
                            torch.arange(w, device=flow.device, dtype=flow.dtype), indexing="ij")
    gx = 2 * (xs + flow[..., 0]) / max(w - 1, 1) - 1
    gy = 2 * (ys + flow[..., 1]) / max(h - 1, 1) - 1
    out = F.grid_sample(img.to(flow.dtype), torch.stack([gx, gy], dim=-1)[None], mode="bilinear",
                        padding_mode="border", align_corners=True)
    return out[0, 0] if image.dim() == 2 else out[0]
    ### END SOLUTION


def ssim(a, b):
    """SSIM map of two images with a 3 x 3 mean window (reflect padding), C1 = 0.01**2, C2 = 0.03**2.

    Parameters
    ----------
    a, b : torch.Tensor, shape (H, W)

    Returns
    -------
    torch.Tensor, shape (H, W)
    """
    ### BEGIN SOLUTION
    C1, C2 = 0.01 ** 2, 0.03 ** 2
    x, y = a[None, None], b[None, None]

    def mean(t):
        return F.avg_pool2d(F.pad(t, (1, 1, 1, 1), mode="reflect"), 3, stride=1)

    mu_x, mu_y = mean(x), mean(y)
    var_x = mean(x * x) - mu_x ** 2
    var_y = mean(y * y) - mu_y ** 2
    cov = mean(x * y) - mu_x * mu_y
    s = (2 * mu_x * mu_y + C1) * (2 * cov + C2) / ((mu_x ** 2 + mu_y ** 2 + C1) * (var_x + var_y + C2))
    return s[0, 0]
    ### END SOLUTION


def photometric_loss(I, I_warped, mask=None, alpha=0.85):
    """Mean of alpha (1 - SSIM) / 2 + (1 - alpha) |I - I_warped| over the pixels where ``mask`` is True.

    Parameters
    ----------
    I, I_warped : torch.Tensor, shape (H, W)
    mask : torch.Tensor of bool, shape (H, W), optional
        Pixels to average over (all by default).
    alpha : float

    Returns
    -------
    torch.Tensor, a scalar (0-dimensional)
    """
    ### BEGIN SOLUTION
    error = alpha * (1 - ssim(I, I_warped)) / 2 + (1 - alpha) * (I - I_warped).abs()
    if mask is None:
        return error.mean()
    m = mask.to(error.dtype)
    return (error * m).sum() / m.sum().clamp_min(1.0)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q6-photometric-visible", "grade": true, "points": 4}
img = torch.arange(20, dtype=torch.float32).reshape(4, 5)
shift = torch.zeros(4, 5, 2)
shift[..., 0] = 1.0
out = backward_warp(img, shift)
assert_shape(out, (4, 5), name="backward_warp(image, flow)")
assert_close(out[:, :4], img[:, 1:], atol=1e-4, name="backward_warp with u = 1 (columns 0-3)",
             mistakes={"the image is warped the wrong way: sample at x + u, not x - u.": img[:, :4] - 1})
half = torch.zeros(4, 5, 2)
half[..., 0], half[..., 1] = 0.5, 0.25
assert_close(backward_warp(img, half)[1, 1], 7.75, atol=1e-4, name="backward_warp at (1, 1) with (u, v) = (0.5, 0.25)",
             mistakes={"u and v are swapped, or the grid is (y, x): grid_sample wants (x, y) in the last axis.": 8.75},
             hint="The same answer as warp_image: 5 * 1.25 + 1.5. Check align_corners=True and the scaling to [-1, 1].")
flow_param = torch.zeros(4, 5, 2, requires_grad=True)
backward_warp(img, flow_param).sum().backward()
assert_true(flow_param.grad is not None and flow_param.grad.abs().sum() > 0,
            "backward_warp must be differentiable with respect to the flow (use torch operations only).")
g = torch.Generator().manual_seed(1)
A = torch.rand(12, 14, generator=g)
assert_close(ssim(A, A), torch.ones(12, 14), atol=1e-5, name="ssim(A, A)", hint="An image is perfectly similar to itself.")
assert_close(photometric_loss(A, A), 0.0, atol=1e-6, name="photometric_loss(A, A)")
B = torch.rand(12, 14, generator=g)


def slow_ssim(a, b, C1=0.01 ** 2, C2=0.03 ** 2):
    """SSIM by a loop over the 3x3 windows (reflect padding): slow, obvious, independent of yours."""
    pa, pb = (np.pad(t.numpy().astype(np.float64), 1, mode="reflect") for t in (a, b))
    out = np.zeros(tuple(a.shape))
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            wa, wb = pa[y: y + 3, x: x + 3], pb[y: y + 3, x: x + 3]
            ma, mb = wa.mean(), wb.mean()
            cov = ((wa - ma) * (wb - mb)).mean()
            out[y, x] = (2 * ma * mb + C1) * (2 * cov + C2) / ((ma ** 2 + mb ** 2 + C1) * (wa.var() + wb.var() + C2))
    return torch.as_tensor(out, dtype=torch.float32)


checker = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
# By hand, at the centre (its window is the whole 3x3): means 4/9 and 5/9, variances 4/9 - (4/9)**2 = 20/81
# (the mean of the squares minus the squared mean: divide by 9, not 8), covariance 0 - (4/9)(5/9) = -20/81.
k1, k2 = 1e-4, 9e-4                                # C1 = 0.01**2, C2 = 0.03**2
by_hand = (2 * 20 / 81 + k1) * (-2 * 20 / 81 + k2) / ((41 / 81 + k1) * (40 / 81 + k2))
with_8 = (2 * 20 / 81 + k1) * (-2 * 22.5 / 81 + k2) / ((41 / 81 + k1) * (45 / 81 + k2))
s_checker = ssim(checker, 1 - checker)
assert_close(s_checker[1, 1], by_hand, atol=1e-5, name="ssim(checkerboard, 1 - checkerboard) at the centre",
             mistakes={"the variances and the covariance divide by 8 (the sample estimator); SSIM's local statistics "
                       "divide by the 9 pixels of the window: mean(x*x) - mean(x)**2.": with_8})
assert_close(s_checker[0, 0], by_hand, atol=1e-5, name="ssim(checkerboard, 1 - checkerboard) at the corner (x=0, y=0)",
             hint="With reflect padding (... 1 0 | 1 0 1 ..., not repeating the edge) the corner's window is the same "
                  "checkerboard as the centre's, so the value is the same. Zero or edge padding gives another window.")
s_ab = slow_ssim(A, B)
assert_close(ssim(A, B), s_ab, atol=1e-4, name="ssim(A, B) against a loop over the 3x3 windows",
             hint="Means, variances and the covariance over each 3x3 window, with reflect padding.")
l1 = (A - B).abs()
assert_close(photometric_loss(A, B), (0.85 * (1 - s_ab) / 2 + 0.15 * l1).mean(), atol=1e-5,
             name="photometric_loss(A, B)",
             mistakes={"the SSIM term is not halved: alpha (1 - SSIM) / 2.": (0.85 * (1 - s_ab) + 0.15 * l1).mean(),
                       "alpha weighs the wrong term: alpha goes with SSIM.": (0.15 * (1 - s_ab) / 2 + 0.85 * l1).mean()})
mask = torch.zeros(12, 14, dtype=torch.bool)
mask[:, :7] = True
assert_close(photometric_loss(A, B, mask), (0.85 * (1 - s_ab) / 2 + 0.15 * l1)[:, :7].mean(), atol=1e-5,
             name="photometric_loss(A, B, mask)", hint="Average over the masked pixels only.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q6-photometric-hidden", "grade": true, "points": 4}
# Hidden tests run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "backward_warp", backward_warp)
check("02_optical_flow", "ssim", ssim)
check("02_optical_flow", "photometric_loss", photometric_loss)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "q6-fb-smooth", "solution": true}
def forward_backward_mask(flow_fw, flow_bw, tau=3.0, beta=0.05):
    """Forward-backward consistency: True where the pixel is probably visible in both frames.

    Parameters
    ----------
    flow_fw : torch.Tensor, shape (H, W, 2)
        Flow from frame 1 to frame 2.
    flow_bw : torch.Tensor, shape (H, W, 2)
        Flow from frame 2 to frame 1.

    Returns
    -------
    torch.Tensor of bool, shape (H, W)
        ||f(p) + b(p + f(p))||_2 < max(tau, beta ||f(p)||_2), with b read by backward_warp
        (border repeated: targets outside the frame read the nearest border pixel).
    """
    ### BEGIN SOLUTION
    b_at = backward_warp(flow_bw.permute(2, 0, 1), flow_fw).permute(1, 2, 0)
    diff = torch.linalg.vector_norm(flow_fw + b_at, dim=-1)
    return diff < torch.clamp(beta * torch.linalg.vector_norm(flow_fw, dim=-1), min=tau)
    ### END SOLUTION


def smoothness_loss(flow, image, edge_weight=10.0):
    """Edge-aware first-order smoothness.

    Parameters
    ----------
    flow : torch.Tensor, shape (H, W, 2)
    image : torch.Tensor, shape (H, W)
    edge_weight : float
        lambda in exp(-lambda |dI|).

    Returns
    -------
    torch.Tensor, a scalar:
        mean((|du/dx| + |dv/dx|) exp(-lambda |dI/dx|)) + mean((|du/dy| + |dv/dy|) exp(-lambda |dI/dy|)),
        forward differences (H, W-1) along x and (H-1, W) along y.
    """
    ### BEGIN SOLUTION
    dfx = (flow[:, 1:] - flow[:, :-1]).abs().sum(dim=-1)
    dfy = (flow[1:] - flow[:-1]).abs().sum(dim=-1)
    wx = torch.exp(-edge_weight * (image[:, 1:] - image[:, :-1]).abs())
    wy = torch.exp(-edge_weight * (image[1:] - image[:-1]).abs())
    return (dfx * wx).mean() + (dfy * wy).mean()
    ### END SOLUTION


# %% nbgrader={"grade_id": "q6-fb-smooth-visible", "grade": true, "points": 3}
fw = torch.zeros(3, 6, 2)
fw[..., 0] = 2.0                                   # everything moves 2 px right
bw = torch.zeros(3, 6, 2)
bw[..., 0] = -2.0                                  # and back
bw[1, 4] = torch.tensor([3.0, 4.0])                # one pixel of frame 2 disagrees: |(2 + 3, 4)| = 6.4
bw[2, 3] = torch.tensor([0.5, 0.5])                # |(2.5, 0.5)| = 2.55 (L1 norm 3.0)
mask = forward_backward_mask(fw, bw)
assert_shape(mask, (3, 6), name="forward_backward_mask(fw, bw)")
assert_true(mask.dtype == torch.bool, f"The mask should be boolean; got {mask.dtype}.")
expected = torch.ones(3, 6, dtype=torch.bool)
expected[1, 2] = False                             # pixel (2, 1) lands on frame-2 pixel (4, 1)
assert_close(mask, expected, name="forward_backward_mask with one inconsistent pixel",
             mistakes={"the backward flow is read at p, not at p + f(p): it must be warped by the forward flow.":
                       torch.tensor([[True] * 6, [True] * 4 + [False, True], [True] * 6])},
             hint="Pixel (x=2, y=1) moves to (4, 1), where the backward flow (3, 4) does not bring it back.")
expected_l2 = expected.clone()
assert_close(forward_backward_mask(fw, bw, tau=2.8), expected_l2, name="forward_backward_mask(fw, bw, tau=2.8)",
             mistakes={"the norm is the L1 norm |dx| + |dy|; the lecture's criterion uses the L2 (Euclidean) norm.":
                       torch.tensor([[True] * 6, [True, True, False, True, True, True], [True, False, True, True, True, True]])},
             hint="Pixel (x=1, y=2) lands on (3, 2): Delta f = (2.5, 0.5), |Delta f|_2 = 2.55 < 2.8.")
flat = torch.zeros(4, 4)
ramp = torch.zeros(4, 4, 2)
ramp[..., 0] = torch.arange(4.0)                   # u grows by 1 per column
assert_close(smoothness_loss(ramp, flat), 1.0, atol=1e-6, name="smoothness of u = x on a flat image",
             hint="|du/dx| = 1 everywhere along x, 0 along y: mean 1 + mean 0.")
edge = torch.zeros(4, 4)
edge[:, 2:] = 1.0
assert_close(smoothness_loss(ramp, edge), (2 + np.exp(-10.0)) / 3, atol=1e-5,
             name="smoothness of u = x on an image with a vertical edge",
             mistakes={"the edge weight is exp(+lambda |dI|); it must shrink at edges: exp(-lambda |dI|).":
                       (2 + np.exp(10.0)) / 3,
                       "the image gradient is not used: the penalty must be weaker across edges.": 1.0})
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q6-fb-smooth-hidden", "grade": true, "points": 4}
# Hidden tests run here when your notebook is graded.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("02_optical_flow", "forward_backward_mask", forward_backward_mask)
check("02_optical_flow", "smoothness_loss", smoothness_loss)
### END HIDDEN TESTS

# %% [markdown]
# **Optimising a flow field with these losses.** No network yet: the flow of one pair is itself
# the parameter, a tensor `(H, W, 2)` with `requires_grad`, and Adam minimises
#
# $$\mathcal{L} = \mathcal{L}_{ph}(I_1, \tilde I_2; M_f) + \mathcal{L}_{ph}(I_2, \tilde I_1; M_b)
#   + \lambda_{sm}\,\big[\mathcal{L}_{sm}(\mathbf{f}, I_1) + \mathcal{L}_{sm}(\mathbf{b}, I_2)\big]$$
#
# over the forward flow $\mathbf{f}$ and the backward flow $\mathbf{b}$ together, with
# $\tilde I_2$ = `backward_warp(I2, f)`, $\tilde I_1$ = `backward_warp(I1, b)` and the occlusion
# masks $M_f$ = `forward_backward_mask(f, b)`, $M_b$ = `forward_backward_mask(b, f)` (computed without
# gradient, `torch.no_grad()`). Gradient descent only sees a pixel's neighbourhood, so, as in
# Part 4, go **coarse to fine**: downsample both images `levels - 1` times by 2 (`F.avg_pool2d(x, 2,
# ceil_mode=True)`), start with zero flows at the coarsest level, run `steps // levels` Adam steps
# per level, and upsample the flows to the next level (bilinear, `F.interpolate`, vectors scaled
# as in `upsample_flow`). Use the masks at the finest level only (at coarse levels the flow is still
# too rough to tell occlusions). Record the loss at each step.
#
# Precisely, as the hidden tests assume: a **new** `torch.optim.Adam([f, b], lr=lr)` at every level
# (its moment estimates belong to the previous level's pixels); `steps // levels` steps per level
# (the remainder is not run); upsampling with `F.interpolate(..., mode="bilinear",
# align_corners=False)`, which treats pixels as squares like `F.avg_pool2d` did, while
# `backward_warp` samples with `align_corners=True` (pixel centres at $-1$ and $1$, the formula above).

# %% nbgrader={"grade_id": "q6-optimise", "solution": true}
def optimise_flow(I1, I2, steps=300, levels=4, lr=0.1, smooth=0.2):
    """Estimate the flow of a pair by minimising the unsupervised loss, coarse to fine.

    Parameters
    ----------
    I1, I2 : torch.Tensor, shape (H, W)
        Gray frames on the device to work on.
    steps : int
        Adam steps in all, split evenly over the levels.
    levels : int
        Resolutions: full, 1/2, ..., 1/2**(levels-1).
    lr : float
        Adam's learning rate.
    smooth : float
        lambda_sm.

    Returns
    -------
    flow : torch.Tensor, shape (H, W, 2)
        The forward flow, detached, on the input's device.
    losses : list of float
        The loss at every step.
    """
    ### BEGIN SOLUTION
    def down(img):
        return F.avg_pool2d(img[None, None], 2, ceil_mode=True)[0, 0]

    def up(flow, shape):
        h, w = shape
        out = F.interpolate(flow.permute(2, 0, 1)[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        scale = torch.tensor([w / flow.shape[1], h / flow.shape[0]], device=flow.device, dtype=flow.dtype)
        return out.permute(1, 2, 0) * scale

    p1, p2 = [I1], [I2]
    for _ in range(levels - 1):
        p1.append(down(p1[-1]))
        p2.append(down(p2[-1]))
    fw = torch.zeros(p1[-1].shape + (2,), device=I1.device, dtype=I1.dtype)
    bw = torch.zeros_like(fw)
    losses = []
    for level in range(levels - 1, -1, -1):
        A, B = p1[level], p2[level]
        if fw.shape[:2] != A.shape:
            fw, bw = up(fw, A.shape), up(bw, A.shape)
        fw, bw = fw.clone().requires_grad_(True), bw.clone().requires_grad_(True)
        opt = torch.optim.Adam([fw, bw], lr=lr)
        for _ in range(steps // levels):
            mask_f = mask_b = None
            if level == 0:
                with torch.no_grad():
                    mask_f, mask_b = forward_backward_mask(fw, bw), forward_backward_mask(bw, fw)
            loss = (photometric_loss(A, backward_warp(B, fw), mask_f)
                    + photometric_loss(B, backward_warp(A, bw), mask_b)
                    + smooth * (smoothness_loss(fw, A) + smoothness_loss(bw, B)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        fw, bw = fw.detach(), bw.detach()
    return fw, losses
    ### END SOLUTION


# %% [markdown]
# A smaller chairs-style pair, on `DEVICE`. We never show the optimiser the true flow; we only
# use it to watch the error fall.

# %%
unsup = make_chairs_flow(1, shape=elvkit.budget((192, 256), (96, 128)), max_motion=elvkit.budget(10.0, 6.0),
                         background_motion=elvkit.budget(3.0, 2.0))
J1 = torch.as_tensor(unsup.gray(1), device=DEVICE)
J2 = torch.as_tensor(unsup.gray(2), device=DEVICE)
start = time.perf_counter()
flow_unsup, losses = optimise_flow(J1, J2, steps=elvkit.budget(400, 200))
flow_unsup = elvkit.to_numpy(flow_unsup)
aee_start = metrics.average_endpoint_error(np.zeros_like(unsup.flow), unsup.flow)
aee_end = metrics.average_endpoint_error(flow_unsup, unsup.flow)
print(f"{len(losses)} steps in {time.perf_counter() - start:.1f} s: AEE {aee_start:.2f} px (zero flow) "
      f"-> {aee_end:.2f} px; loss {losses[0]:.3f} -> {losses[-1]:.3f}")
fig, axes = plt.subplots(1, 3, figsize=(14, 3.4))
viz.plot_curves({"unsupervised loss": losses}, ax=axes[0], title="loss (jumps: a new, finer level)", xlabel="Adam step")
viz.show_flow(flow_unsup, ax=axes[1], title=f"optimised flow, AEE {aee_end:.2f} px", max_flow=unsup.max_motion)
viz.show_flow(unsup.flow, ax=axes[2], title="true flow", max_flow=unsup.max_motion)
plt.show()

# %% [markdown]
# **Does the forward-backward check find occlusions?** It must compare *one* method's two
# directions: here your pyramidal Lucas-Kanade from frame 1 to frame 2 and from frame 2 to frame 1.
# (Comparing two different methods would mark where they disagree — whole moving objects — not
# where pixels disappear.) Left: $\|\Delta\mathbf{f}\|_2$ per pixel with the pair's **true** occlusion
# mask outlined in white; right: the pixels the check rejects. The printed precision is the share of
# rejected pixels that are truly occluded, the recall the share of occluded pixels that are rejected;
# the second line applies the same check to the pair's true forward and backward flows, the best the
# check can do. The gap between the two lines is the estimator's: a Lucas-Kanade window that straddles
# a moving boundary gives the occluded background the foreground's motion in *both* directions, so the
# two flows agree there and the check cannot see the occlusion — it only finds occlusions that the
# flows themselves got right enough to contradict.

# %%
flow_f = pyramidal_lk(unsup.gray(1), unsup.gray(2))
flow_b = pyramidal_lk(unsup.gray(2), unsup.gray(1))
with torch.no_grad():
    f_t, b_t = torch.as_tensor(flow_f, device=DEVICE), torch.as_tensor(flow_b, device=DEVICE)
    delta = elvkit.to_numpy(torch.linalg.vector_norm(f_t + backward_warp(b_t.permute(2, 0, 1), f_t).permute(1, 2, 0), dim=-1))
    fb = elvkit.to_numpy(forward_backward_mask(f_t, b_t))
    fb_true = elvkit.to_numpy(forward_backward_mask(torch.as_tensor(unsup.flow, device=DEVICE),
                                                    torch.as_tensor(unsup.flow_backward, device=DEVICE)))
occluded = unsup.occlusion
rejected = ~fb


def precision_recall(rejected):
    hit = (rejected & occluded).sum()
    return hit / max(rejected.sum(), 1), hit / max(occluded.sum(), 1)


print(f"truly occluded: {occluded.mean():.1%} of the pixels")
for name, r in (("your pyramidal LK, both directions", rejected), ("the true flows, both directions", ~fb_true)):
    precision, recall = precision_recall(r)
    print(f"{name:36s} rejects {r.mean():5.1%}: precision {precision:4.0%}, recall {recall:4.0%}")
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
shown = axes[0].imshow(np.minimum(delta, 10.0), cmap="magma", vmin=0, vmax=10.0)
axes[0].contour(occluded, levels=[0.5], colors="white", linewidths=0.8)
axes[0].set_title("$\\|\\Delta f\\|_2$ (white outline: truly occluded)")
axes[0].axis("off")
fig.colorbar(shown, ax=axes[0], fraction=0.046, pad=0.02, label="forward-backward disagreement [px] (clipped at 10)")
viz.show_mask(unsup.image1, rejected, ax=axes[1], title=f"rejected by the check (tau = 3 px): {rejected.mean():.1%}")
plt.show()

# %% nbgrader={"grade_id": "q6-e2e-optimise", "grade": true, "points": 5}
# Graded on new data too: the same method runs on a pair generated for your grading only, and the
# grader scores the result against its exact flow.
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _e2e(I1, I2):
    flow, losses = optimise_flow(torch.as_tensor(I1, device=DEVICE), torch.as_tensor(I2, device=DEVICE), steps=200)
    return elvkit.to_numpy(flow), [float(loss) for loss in losses]


check("02_optical_flow", "e2e_optimise", _e2e)
### END HIDDEN TESTS
assert_true(len(losses) >= 0.9 * elvkit.budget(400, 200), f"optimise_flow should record one loss per step; got {len(losses)}.")
assert_true(np.isfinite(losses).all(), "The loss became NaN or inf: check the masks (an empty mask divides by 0).")
assert_true(aee_end < 0.6 * aee_start,
            f"Optimising the unsupervised loss should bring the flow much closer to the truth: AEE {aee_start:.2f} px "
            f"(zero flow) -> {aee_end:.2f} px; a correct coarse-to-fine optimisation reaches about a third of the start.")
assert_true(np.mean(losses[-10:]) < np.mean(losses[: max(1, len(losses) // 10)]),
            "The loss should fall during the optimisation.")
print(f"AEE {aee_start:.2f} -> {aee_end:.2f} px")

# %% [markdown]
# **Written question — the forward-backward check.** (2 points)
#
# Compare the two lines printed above (your Lucas-Kanade in both directions, and the true flows)
# and the figure: why does the check miss most occlusions with Lucas-Kanade's flows? What does this mean
# for a photometric loss that uses the mask during training, and what would you change?

# %% [markdown] nbgrader={"grade_id": "written-occlusion-check", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** With the true flows the check finds the occlusions almost exactly; with LK's flows, the window that
# straddles a moving boundary gives the occluded background the foreground's motion in both directions,
# so f and b agree there and ||Δf|| stays under τ; the disagreements the figure shows are spread along
# boundaries, partly on visible pixels. A loss masked this way still penalises many occluded pixels
# (they cannot match) and drops some visible ones, so training is pushed towards wrong flows at
# boundaries. Improve the flows first (smaller windows or the optimised flow near boundaries), use the
# mask only after a warm-up, or estimate occlusion from where the backward flow lands (range maps).
#
# **Rubric.** 2: explains the agreement of two smoothed flows at boundaries and the consequence for training, with
# a remedy. 1: one of these. 0: none.
# ### END SOLUTION

# %% [markdown]
# ## Part 7 — Evaluation (14 points)
#
# The **average endpoint error** (AEE) is the mean of $\|\mathbf{f} - \mathbf{f}_{gt}\|_2$ over the
# pixels with ground truth; **Fl-3px** is the share of pixels whose endpoint error exceeds 3 px, and
# **Fl (KITTI)** the KITTI 2015 outlier rate, which also requires the error to exceed 5 % of the true
# motion's length (`metrics.flow_outlier_rate(..., relative=0.05)`; the 5 % clause only matters for
# motions over 60 px, so on these pairs, whose motions stay under 60 px, the two columns agree). Both
# count *gross* errors: a pixel whose true motion is under 3 px is never an outlier, even for the zero
# flow, so Fl says little about small motions — read it beside the median and largest motion the
# table prints, and read AEE for fine accuracy. We compare your pyramidal Lucas-Kanade with three
# OpenCV methods on the three kinds of pairs: Farneback (polynomial expansion), OpenCV's pyramidal Lucas-Kanade
# (Bouguet's, here tracking every pixel of a grid) and DIS (dense inverse search, a fast modern
# patch method).

# %% nbgrader={"grade_id": "q7-evaluation", "locked": true}
def evaluate(pairs, methods):
    """AEE, Fl and time per method and pair: {pair name: {method: metrics}}."""
    table = {}
    for name, p in pairs.items():
        g1, g2 = p.gray(1), p.gray(2)
        table[name] = {}
        for method, fn in methods.items():
            start = time.perf_counter()
            flow = fn(p, g1, g2)
            m = metrics.flow_metrics(flow, p.flow)
            m["time"] = time.perf_counter() - start
            m["Fl KITTI"] = metrics.flow_outlier_rate(flow, p.flow, relative=0.05)
            m["flow"] = flow
            table[name][method] = m
    return table


eval_pairs = {          # full size in smoke mode too: these methods take a fraction of a second
    "affine": make_affine_flow(0, shape=(384, 512)),
    "chairs-style": make_chairs_flow(0, shape=(384, 512)),
    "Motorcycle": load_motorcycle_flow(),
}
methods = {
    "your pyramidal LK": lambda p, g1, g2: pyramidal_lk(g1, g2),
    "OpenCV Farneback": lambda p, g1, g2: opencv_farneback(p.image1, p.image2),
    "OpenCV pyramidal LK": lambda p, g1, g2: opencv_pyramidal_lk(p.image1, p.image2, step=elvkit.budget(1, 4)),
    "OpenCV DIS medium": lambda p, g1, g2: opencv_dis(p.image1, p.image2),
}
table = evaluate(eval_pairs, methods)
print(f"{'pair':14s} {'method':22s} {'AEE px':>7s} {'Fl-3px':>7s} {'Fl KITTI':>9s} {'time s':>7s}")
for name, row in table.items():
    motion = np.linalg.norm(eval_pairs[name].flow, axis=-1)
    print(f"{name} (true motion: median {np.nanmedian(motion):.1f} px, largest {np.nanmax(motion):.1f} px)")
    for method, m in row.items():
        print(f"{'':14s} {method:22s} {m['AEE']:7.2f} {m['Fl']:7.1%} {m['Fl KITTI']:9.1%} {m['time']:7.2f}")
p = eval_pairs["Motorcycle"]
fig = viz.compare_flows(p.image1, p.flow, {k: m["flow"] for k, m in table["Motorcycle"].items()}, max_error=10.0)

# %% [markdown]
# **Reading the table.** Each row is one method on one pair; AEE in pixels, the two outlier rates as
# fractions of the pixels, the time on this machine's CPU. What it shows:
#
# * **Affine pair** (one smooth motion, at most 15 px): every method but Farneback is within a third of a
#   pixel; the outlier rates are near 0 because almost no error reaches 3 px — compare AEE here.
# * **Chairs-style pair** (independent objects, 4 % occluded): errors concentrate at object boundaries
#   and occlusions (see the last part); DIS, which matches patches without a smoothness window
#   straddling the boundary, is best; the Lucas-Kanade methods smear motion across boundaries.
# * **Motorcycle** (motions of 39 px in the median, 60 px at most): Farneback fails (AEE around 25 px)
#   because its pyramid here has 3 levels, the image included (OpenCV's `levels` counts the image), so
#   the coarsest level, a quarter of the size, still sees motions of up to 60 / 4 = 15 px, and one
#   polynomial expansion of a 5-pixel neighbourhood cannot follow a displacement three times its size;
#   it settles on a wrong, smaller motion. Your pyramid has as many levels as keep the coarsest side at
#   least 16 px (5 here, the coarsest at 1/16 of the size), where 60 px becomes under 4 px.
# * Times: OpenCV's pyramidal LK tracks every pixel as a separate feature point (a sparse tracker used
#   densely), hence its seconds; the others are dense by design.

# %% nbgrader={"grade_id": "q7-e2e-accuracy", "grade": true, "points": 8}
# Graded on new data too: the same method runs on pairs generated for your grading only, and the
# grader scores the result against their exact flow.
### BEGIN HIDDEN TESTS
from autograder.hidden import check


check("02_optical_flow", "e2e_accuracy", pyramidal_lk)
### END HIDDEN TESTS
aee = {name: row["your pyramidal LK"]["AEE"] for name, row in table.items()}
limits = {"affine": 0.5, "chairs-style": 3.5, "Motorcycle": 6.0}
for name, limit in limits.items():
    assert_true(np.isfinite(aee[name]) and aee[name] <= limit,
                f"Your pyramidal Lucas-Kanade reaches AEE {aee[name]:.2f} px on the {name} pair; a correct one stays "
                f"below {limit} px. Check the pyramid (flow scaled when upsampled?) and lk_refine.")
assert_true(all(table[name]["your pyramidal LK"]["density"] == 1.0 for name in table),
            "pyramidal_lk should give a flow at every pixel (the Tikhonov term keeps the system solvable).")
print("AEE: " + ", ".join(f"{k} {v:.2f} px" for k, v in aee.items()))

# %% nbgrader={"grade_id": "q7-e2e-baselines", "grade": true, "points": 6}
# Graded on new data too: the same method runs on pairs generated for your grading only, and the
# grader scores the result against their exact flow.
### BEGIN HIDDEN TESTS
from autograder.hidden import check


check("02_optical_flow", "e2e_baselines", pyramidal_lk)
### END HIDDEN TESTS
for name, row in table.items():
    mine, farneback = row["your pyramidal LK"]["AEE"], row["OpenCV Farneback"]["AEE"]
    assert_true(mine < farneback, f"On the {name} pair your pyramidal LK (AEE {mine:.2f} px) should beat OpenCV's "
                                  f"Farneback ({farneback:.2f} px).")
print("Your pyramidal LK beats Farneback on every pair.")

# %% [markdown]
# ### Where brightness constancy and Lucas-Kanade fail
#
# Three failure cases, each with the assumption it breaks:
#
# * **Large motion without the pyramid**: one level only, so the linearisation never gets
#   within reach of motions of tens of pixels (Motorcycle's disparities reach 60 px).
# * **Occlusion**: pixels hidden in frame 2 have no match, so their error is much larger — the
#   reason for the forward-backward mask.
# * **Brightness change**: frame 2 is 30 % brighter; $I_t$ now mixes motion and lighting.

# %%
moto = eval_pairs["Motorcycle"]
flat_lk = pyramidal_lk(moto.gray(1), moto.gray(2), levels=1)
chairs_eval = eval_pairs["chairs-style"]
epe = metrics.endpoint_error(table["chairs-style"]["your pyramidal LK"]["flow"], chairs_eval.flow)
bright = make_affine_flow(0, shape=eval_pairs["affine"].shape, brightness=0.3)
flow_bright = pyramidal_lk(bright.gray(1), bright.gray(2))
rows = [("Motorcycle, no pyramid", metrics.average_endpoint_error(flat_lk, moto.flow), aee["Motorcycle"]),
        ("chairs-style, occluded vs visible pixels", float(epe[chairs_eval.occlusion].mean()),
         float(epe[~chairs_eval.occlusion].mean())),
        ("affine, 30% brighter frame 2", metrics.average_endpoint_error(flow_bright, bright.flow), aee["affine"])]
print(f"{'case':44s} {'failing AEE':>12s} {'normal AEE':>11s}")
for name, bad, good in rows:
    print(f"{name:44s} {bad:12.2f} {good:11.2f}")
fig, axes = plt.subplots(1, 3, figsize=(16, 3.6))
viz.show_flow(flat_lk, ax=axes[0], title="Motorcycle without a pyramid", max_flow=60)
axes[1].imshow(np.minimum(epe, 10), cmap="magma")
axes[1].set_title("chairs-style: endpoint error (occlusions light up)")
axes[1].axis("off")
viz.show_flow(flow_bright, ax=axes[2], title="affine, brighter frame 2", max_flow=bright.max_motion)
plt.show()

# %% [markdown]
# **Written question — which assumption breaks.** (2 points)
#
# For each of the three failure cases in the table above, name the assumption that breaks and the
# part of this notebook (a function or a loss) that addresses it, or why none does. For the brighter
# frame, would the photometric loss of Part 6 be fooled as much as Lucas-Kanade is? Why?

# %% [markdown] nbgrader={"grade_id": "written-assumptions", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** No pyramid: the linearisation of brightness constancy holds only for motions of about a pixel;
# the pyramid (Part 4) addresses it. Occlusion: every pixel has a match; the forward-backward mask
# (Part 6) removes such pixels from the loss (Lucas-Kanade itself has no remedy). Brighter frame:
# brightness constancy itself; none of the LK functions addresses it, since It mixes motion with the
# global change. The photometric loss is fooled less: SSIM compares local structure after removing each
# window's mean and normalising by its variance, so a gain and offset change it little, while the L1
# term (weight 0.15) still sees the change.
#
# **Rubric.** 2: the three assumptions with their remedies, and SSIM's normalisation as the reason. 1: two of
# three, or no reason. 0: one or none.
# ### END SOLUTION

# %% [markdown]
# ## Before you submit
#
# * Restart the kernel and run all cells: every visible test must pass.
# * Answer the four written questions in their cells (a blank answer gets 0 points).
# * Do not rename the notebook or the functions, and do not edit or delete the test cells: they
#   are restored from the original when grading.
# * Keep long experiments behind `if not SMOKE:` — under the autograder the notebook runs in the
#   small budget, with a time limit per cell and per notebook.
