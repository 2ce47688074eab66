# ---
# jupyter:
#   elvkit:
#     title: "Assignment 3: self-supervised representations"
#     questions:
#       q1: Augmentations
#       q2: The contrastive loss (NT-Xent)
#       q3: Encoder and evaluation on frozen features
#       q4: Collapse, and how non-contrastive methods avoid it
#       q5: Your training loop, end to end
#       written: Written analysis (graded by TAs)
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 3 — Self-supervised representations: SimCLR, and how DINO avoids collapse
#
# A robot sees far more images than anyone will ever label. **Self-supervised learning** turns
# unlabelled images into a training signal: the lecture's recipe is to *match the same image under
# severe augmentation*. Two heavily changed **views** of one image should get nearby embeddings
# (a *joint embedding*: the loss lives on the embeddings, not on pixels); two different images
# should not — or, in the non-contrastive methods, something else must stop every image from
# getting the same embedding.
#
# In this assignment you will
#
# 1. write the **augmentations** as batched tensor operations (crop and resize, flip, intensity
#    jitter, blur, noise) and draw two views of every image,
# 2. write the **contrastive loss** of SimCLR (NT-Xent, Chen et al. 2020) exactly as on the slide,
#    vectorised and numerically stable,
# 3. build an **encoder and a projection head**, train them with SimCLR, and **evaluate** the
#    frozen features with a linear probe and a k-nearest-neighbour classifier,
# 4. measure **what matters**: the temperature, the batch size, which augmentations,
# 5. see **collapse** happen: SimSiam without its stop-gradient, and DINO with centring only or
#    sharpening only — then write the pieces that prevent it,
# 6. check that your training loop works **end to end**: trained in two minutes of CPU, ten labels per
#    class classify digits better than the pixels do,
# 7. look at what a Vision Transformer trained with **DINO** attends to: the [CLS] token's attention
#    per head, and the attention from a location you choose, on scenes of several objects.
#
# **How this notebook works.** Fill in every cell that says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line), and answer the **written questions** (marked *Written
# question*, 2 points each, 10 in all) in the text cell under each that says `YOUR ANSWER HERE`: a few
# sentences that refer to the figure or table above them. Teaching assistants grade those by hand;
# the 100 points of the code are graded automatically. After each function a cell of *visible tests*
# tells you what came, what was expected and the likely mistake. When your notebook is graded,
# *hidden tests* also compare each function with the reference solution on new random inputs, and
# the last part trains your SimCLR on a schedule the grader chooses. Restart the kernel and run all
# cells before you submit.
#
# Conventions used throughout:
#
# * a batch of images is a tensor of shape `(B, C, H, W)` (here `C = 1`, gray, values in `[0, 1]`);
#   `x` is the column, `y` the row;
# * the two views of a batch are `(view1, view2)`; their embeddings are `z1, z2` of shape `(N, D)`,
#   and row `i` of `z1` and row `i` of `z2` come from the same image — a **positive pair**;
# * everything that trains runs on `DEVICE` (the GPU when there is one). Training runs in a small
#   budget when the notebook is graded (`SMOKE` is True); the numbers quoted in the text are from
#   the full-size run on a 2-core CPU.
#
# **Time.** Plan for 10–14 hours: this is the longest of the course's assignments for the same 100 code
# points (Normalized Cuts took students 6–9 hours, slot attention 7–10). Work in the `SMOKE` budget and
# run the full-size notebook (about 45 minutes on a busy 2-core machine) once, at the end.

# %% nbgrader={"grade_id": "imports", "locked": true}
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

import elvkit
from elvkit import viz
from elvkit.contrastive import nt_xent_loop
from elvkit.data import load_digits
from elvkit.testing import assert_close, assert_shape, assert_true

elvkit.seed_everything(0)
SMOKE = elvkit.smoke()       # True under the autograder: shorter training, same tests
DEVICE = elvkit.device()     # the GPU when there is one
torch.set_num_threads(max(1, min(4, torch.get_num_threads())))

#: SimCLR's augmentations for 8x8 digits (Part 1; the experiments of Part 4 switch them off one by one)
AUGMENT = dict(min_scale=0.3, ratio=(3 / 4, 4 / 3), flip=0.0, brightness=0.4, contrast=0.4, blur_p=0.5, sigma=1.0,
               noise=0.05)
#: no augmentation at all: both views are the image itself
IDENTITY = dict(min_scale=1.0, ratio=(1.0, 1.0), flip=0.0, brightness=0.0, contrast=0.0, blur_p=0.0, sigma=1.0,
                noise=0.0)
print(f"elvkit {elvkit.__version__}: device {DEVICE}, smoke mode {SMOKE}")

# %% [markdown]
# ## The data
#
# We learn from **real handwritten digits**: the 1,797 images of 8 × 8 pixels that ship with
# scikit-learn (16 grey levels, scanned from forms filled in by 43 people). They are tiny, so that
# a network trains on a laptop CPU in minutes, but they are real: people write a 7 with and without
# its bar, a 1 with and without its flag. `load_digits()` splits them once for everyone: 1,198
# **training** images, whose labels self-supervised learning never sees, and 599 **test** images
# that only the evaluation uses.

# %%
digits = load_digits()
print(digits)
X_train = torch.as_tensor(digits.train_images, device=DEVICE)
y_train = torch.as_tensor(digits.train_labels, device=DEVICE)
X_test = torch.as_tensor(digits.test_images, device=DEVICE)
y_test = torch.as_tensor(digits.test_labels, device=DEVICE)
two_each = [i for c in range(10) for i in np.flatnonzero(digits.train_labels == c)[:2]]
mosaic = digits.train_images[two_each, 0].reshape(10, 2, 8, 8).transpose(1, 2, 0, 3).reshape(16, 80)
fig, ax = plt.subplots(figsize=(12, 2.8))
ax.imshow(np.pad(mosaic, 1, constant_values=0.25), cmap="gray_r", vmin=0, vmax=1)
ax.set_xticks(np.arange(10) * 8 + 4.5, [str(c) for c in range(10)])
ax.set_yticks([])
fig.suptitle("two training images of each class (the labels are for us, not for the learner)")
plt.show()

# %% [markdown]
# ## Part 1 — Augmentations (20 points)
#
# *Match the same image under severe augmentation*: the augmentations decide what the embedding
# must ignore. Whatever changes between two views of one image, the network learns to be blind to;
# so the augmentations must change everything **except** what makes the image what it is. We write
# them as operations on a whole batch at once, on the device — one Python loop over images would
# make the data pipeline, not the network, the slowest part of training.
#
# **Crop and resize.** A crop is a box $(x_0, y_0, x_1, y_1)$ in pixel-edge coordinates of the input
# (the image spans $[0, W] \times [0, H]$; pixel $(x, y)$ covers $[x, x+1] \times [y, y+1]$, its centre
# is at $x + \tfrac12$). Resizing the box to `size × size` means: output pixel $(i, j)$ reads the input,
# bilinearly, at the centre of the $i$-th of `size` equal columns of the box. PyTorch's
# `F.affine_grid` and `F.grid_sample` do exactly this sampling, with coordinates normalised to
# $[-1, 1]$ across the image (`align_corners=False`: $-1$ and $1$ are the outer *edges* of the border
# pixels). The affine map `theta` takes the output's normalised coordinate $u \in [-1, 1]$ to the
# input's: for the box above,
#
# $$x_{\text{norm}} = \frac{x_1 - x_0}{W}\,u + \left(\frac{x_0 + x_1}{W} - 1\right), \qquad
#   y_{\text{norm}} = \frac{y_1 - y_0}{H}\,v + \left(\frac{y_0 + y_1}{H} - 1\right).$$
#
# (Check it: $u = -1$ gives $2x_0/W - 1$, the box's left edge.) A box with $x_0 > x_1$ is the same
# crop **mirrored** left-right: the horizontal flip comes for free. Sample outside the image as the
# nearest border pixel (`padding_mode="border"`).

# %% nbgrader={"grade_id": "q1-crop", "solution": true}
def resized_crop(images, boxes, size):
    """Crop every image of a batch to its own box and resize the crop to size x size, bilinearly.

    Parameters
    ----------
    images : tensor, shape (B, C, H, W)
    boxes : tensor, shape (B, 4)
        (x0, y0, x1, y1) per image, in pixel-edge coordinates of the input; x0 > x1 mirrors the crop.
    size : int
        The output's height and width.

    Returns
    -------
    tensor, shape (B, C, size, size), on the images' device and dtype
    """
    ### BEGIN SOLUTION
    images = torch.as_tensor(images)
    boxes = torch.as_tensor(boxes, dtype=images.dtype, device=images.device)
    B, C, H, W = images.shape
    x0, y0, x1, y1 = boxes.unbind(-1)
    theta = torch.zeros(B, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = (x1 - x0) / W
    theta[:, 0, 2] = (x0 + x1) / W - 1
    theta[:, 1, 1] = (y1 - y0) / H
    theta[:, 1, 2] = (y0 + y1) / H - 1
    grid = F.affine_grid(theta, [B, C, size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q1-crop-visible", "grade": true, "points": 3}
ramp = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)      # value = 8 y + x
crop = resized_crop(ramp, torch.tensor([[2.0, 1.0, 6.0, 5.0]]), 4)
assert_shape(crop, (1, 1, 4, 4), name="resized_crop(ramp, box, 4)")
assert_close(crop[0, 0], ramp[0, 0, 1:5, 2:6], name="the 4x4 crop of the box (2, 1, 6, 5) at its own size",
             axes=("row", "column"),
             mistakes={"x and y are swapped: the box is (x0, y0, x1, y1), x along the columns (theta's first row).":
                       ramp[0, 0, 2:6, 1:5],
                       "the offset uses the box's start only: the centre of the box is (x0 + x1) / W - 1 in "
                       "normalised coordinates.": ramp[0, 0, 1:5, 2:6] - 17.0},
             hint="A box aligned with pixel edges, resized to its own size, is exactly those pixels.")
assert_close(resized_crop(ramp, torch.tensor([[6.0, 1.0, 2.0, 5.0]]), 4)[0, 0], ramp[0, 0, 1:5, 2:6].flip(-1),
             name="the crop of the mirrored box (6, 1, 2, 5)", axes=("row", "column"))
assert_close(resized_crop(ramp, torch.tensor([[0.0, 0.0, 8.0, 8.0]]), 4)[0, 0, 0],
             torch.tensor([4.5, 6.5, 8.5, 10.5]), name="the first row of the whole image resized to 4x4",
             hint="Each output pixel reads the centre of its quarter of the box: x = 1, 3, 5, 7 and y = 1, "
                  "i.e. the mean of a 2x2 block here.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q1-crop-hidden", "grade": true, "points": 4}
# Hidden tests run here when your notebook is graded: they compare your functions with the
# reference solution on new random inputs.
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("03_self_supervised", "resized_crop", resized_crop)
### END HIDDEN TESTS

# %% [markdown]
# **Intensity jitter.** Digits are gray, so SimCLR's colour jitter becomes brightness and contrast:
# per image, subtract its mean intensity $\mu$ (over all its pixels and channels), scale by the
# contrast factor $c$, add back $\mu$ plus the brightness shift $b$, and clip to $[0, 1]$:
#
# $$x' = \operatorname{clip}\big((x - \mu)\,c + \mu + b,\; 0,\; 1\big).$$

# %% nbgrader={"grade_id": "q1-jitter", "solution": true}
def intensity_jitter(images, brightness, contrast):
    """Per-image brightness shift and contrast scaling about the image's mean, clipped to [0, 1].

    Parameters
    ----------
    images : tensor, shape (B, C, H, W)
    brightness, contrast : tensor, shape (B,)
        b is added, c scales the deviation from the image's mean.
    """
    ### BEGIN SOLUTION
    images = torch.as_tensor(images)
    b = torch.as_tensor(brightness, dtype=images.dtype, device=images.device).reshape(-1, 1, 1, 1)
    c = torch.as_tensor(contrast, dtype=images.dtype, device=images.device).reshape(-1, 1, 1, 1)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return ((images - mean) * c + mean + b).clamp(0, 1)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q1-jitter-visible", "grade": true, "points": 2}
two = torch.tensor([[0.2, 0.4], [0.6, 0.8]]).reshape(1, 1, 2, 2).repeat(2, 1, 1, 1)
jit = intensity_jitter(two, torch.tensor([0.0, 0.1]), torch.tensor([2.0, 0.5]))
assert_close(jit[0, 0], torch.tensor([[0.0, 0.3], [0.7, 1.0]]),
             name="contrast 2 about the mean 0.5 (image 0)", axes=("row", "column"),
             mistakes={"the contrast scales the intensities themselves, not their deviation from the image's "
                       "mean.": torch.tensor([[0.4, 0.8], [1.0, 1.0]]),
                       "the result is not clipped to [0, 1].": torch.tensor([[-0.1, 0.3], [0.7, 1.1]])})
assert_close(jit[1, 0], torch.tensor([[0.45, 0.55], [0.65, 0.75]]), name="contrast 0.5 and brightness +0.1 "
             "(image 1)", axes=("row", "column"),
             hint="Each image has its own factors: reshape (B,) to (B, 1, 1, 1) so that they broadcast.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q1-jitter-hidden", "grade": true, "points": 2}
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("03_self_supervised", "intensity_jitter", intensity_jitter)
### END HIDDEN TESTS

# %% [markdown]
# **Gaussian blur, a different $\sigma$ per image, without a loop.** A Gaussian is separable: blur
# the rows with the 1-D kernel $g_\sigma(t) \propto e^{-t^2 / 2\sigma^2}$ for $t = -r, \dots, r$
# (normalised to sum to 1), then the columns with the same kernel. With one kernel per image, a
# grouped convolution does the whole batch at once: reshape the batch to `(1, B·C, H, W)` and give
# `F.conv2d` `B·C` kernels with `groups=B·C`. Pad by reflection (`F.pad(..., mode="reflect")`,
# the border pixel is not repeated), so that a blurred image keeps its size and its mean near the
# border. $\sigma = 0$ means no blur (clamp $\sigma$ to at least $10^{-3}$ to avoid dividing by 0).

# %% nbgrader={"grade_id": "q1-blur", "solution": true}
def gaussian_blur(images, sigma, radius=2):
    """Blur each image with its own Gaussian: separable, normalised, reflect-padded, no loop over images.

    Parameters
    ----------
    images : tensor, shape (B, C, H, W)
    sigma : tensor, shape (B,)
        Standard deviation per image, in pixels; 0 leaves the image unchanged.
    radius : int
        The kernel has 2 * radius + 1 taps.
    """
    ### BEGIN SOLUTION
    images = torch.as_tensor(images)
    B, C, H, W = images.shape
    s = torch.as_tensor(sigma, dtype=images.dtype, device=images.device).reshape(-1, 1).clamp_min(1e-3)
    t = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device).reshape(1, -1)
    kernel = torch.exp(-t ** 2 / (2 * s ** 2))
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(C, dim=0)     # (B*C, 2r+1)
    out = F.pad(images.reshape(1, B * C, H, W), (radius, radius, radius, radius), mode="reflect")
    out = F.conv2d(out, kernel.reshape(B * C, 1, 1, -1), groups=B * C)
    out = F.conv2d(out, kernel.reshape(B * C, 1, -1, 1), groups=B * C)
    return out.reshape(B, C, H, W)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q1-blur-visible", "grade": true, "points": 2}
impulse = torch.zeros(2, 1, 7, 7)
impulse[:, 0, 3, 3] = 1.0
blurred = gaussian_blur(impulse, torch.tensor([0.0, 1.0]))
g = torch.exp(-torch.arange(-2.0, 3.0) ** 2 / 2)
g = g / g.sum()
assert_close(blurred[0, 0], impulse[0, 0], name="the impulse blurred with sigma = 0", axes=("row", "column"),
             hint="sigma = 0 must leave the image unchanged: clamp sigma to 1e-3 before dividing by it.")
assert_close(blurred[1, 0, 1:6, 1:6], torch.outer(g, g), name="the impulse blurred with sigma = 1 (its 5x5 "
             "centre)", axes=("row", "column"),
             mistakes={"the kernel is not normalised to sum to 1.": torch.outer(g, g) * float(torch.exp(
                 -torch.arange(-2.0, 3.0) ** 2 / 2).sum()) ** 2,
                       "only the rows are blurred: a separable blur filters the rows, then the columns.":
                       torch.zeros(5, 5).index_put_((torch.tensor([2] * 5), torch.arange(5)), g)})
assert_close(gaussian_blur(torch.ones(1, 1, 5, 6), torch.tensor([0.8])), torch.ones(1, 1, 5, 6),
             name="a constant image blurred", hint="A normalised kernel with reflect padding keeps a constant "
             "image constant, borders included.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q1-blur-hidden", "grade": true, "points": 3}
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("03_self_supervised", "gaussian_blur", gaussian_blur)
### END HIDDEN TESTS

# %% [markdown]
# **Two views.** `two_views` draws, for every image and **independently for each of the two
# views**, the parameters of a random augmentation, and applies them in this order:
#
# 1. a random crop: area a fraction $s \sim U[\text{min\_scale}, 1]$ of the image, aspect ratio
#    $r = e^{U[\log r_0,\, \log r_1]}$ with $(r_0, r_1)$ = `ratio` (width $W\sqrt{s r}$, height $H\sqrt{s / r}$, each at most the
#    image's), placed uniformly inside the image, mirrored with probability `flip`, resized back to
#    `H × W`;
# 2. intensity jitter with $b \sim U[-\text{brightness}, \text{brightness}]$ and
#    $c \sim U[1 - \text{contrast}, 1 + \text{contrast}]$;
# 3. with probability `blur_p`, a blur with $\sigma \sim U[0.1, \text{sigma}]$ (else $\sigma = 0$);
# 4. Gaussian noise of standard deviation `noise`, then a clip to $[0, 1]$.
#
# Every random number comes from `generator` (a `torch.Generator`, or an integer seed to make one),
# so the same seed gives the same views: experiments are reproducible and a bug can be replayed.
# Draw on the CPU generator and move the parameters to the images' device.

# %% nbgrader={"grade_id": "q1-views", "solution": true}
def random_augment(images, generator, config):
    """One random augmentation per image (crop and resize with a possible flip, jitter, blur, noise)."""
    ### BEGIN SOLUTION
    B, C, H, W = images.shape
    dev, dt = images.device, images.dtype

    def uniform(lo, hi):
        return (lo + (hi - lo) * torch.rand(B, generator=generator)).to(dev, dt)

    scale = uniform(config["min_scale"], 1.0)
    ratio = torch.exp(uniform(math.log(config["ratio"][0]), math.log(config["ratio"][1])))
    w = (W * torch.sqrt(scale * ratio)).clamp(max=W)
    h = (H * torch.sqrt(scale / ratio)).clamp(max=H)
    x0 = uniform(0.0, 1.0) * (W - w)
    y0 = uniform(0.0, 1.0) * (H - h)
    x1, y1 = x0 + w, y0 + h
    flip = (torch.rand(B, generator=generator) < config["flip"]).to(dev)
    boxes = torch.stack([torch.where(flip, x1, x0), y0, torch.where(flip, x0, x1), y1], dim=1)
    if H != W:
        raise ValueError(f"images must be square, got H x W = {H} x {W}")
    out = resized_crop(images, boxes, H)
    out = intensity_jitter(out, uniform(-config["brightness"], config["brightness"]),
                           uniform(1 - config["contrast"], 1 + config["contrast"]))
    blur = (torch.rand(B, generator=generator) < config["blur_p"]).to(dev)
    out = gaussian_blur(out, torch.where(blur, uniform(0.1, config["sigma"]), torch.zeros((), device=dev, dtype=dt)))
    noise = torch.randn(out.shape, generator=generator).to(dev, dt) * config["noise"]
    return (out + noise).clamp(0, 1)
    ### END SOLUTION


def two_views(images, generator, config=AUGMENT):
    """Two independently augmented views of every image of the batch.

    Parameters
    ----------
    images : tensor, shape (B, C, H, W)
    generator : torch.Generator or int
        Where every random number comes from (an int seeds a new CPU generator).
    config : dict
        min_scale, ratio, flip, brightness, contrast, blur_p, sigma, noise (AUGMENT, in the imports cell).

    Returns
    -------
    (view1, view2) : two tensors shaped like ``images``
    """
    ### BEGIN SOLUTION
    if not isinstance(generator, torch.Generator):
        generator = torch.Generator().manual_seed(int(generator))
    images = torch.as_tensor(images)
    return random_augment(images, generator, config), random_augment(images, generator, config)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q1-views-visible", "grade": true, "points": 2}
batch = torch.as_tensor(load_digits().train_images[:64])
v1, v2 = two_views(batch, 7)
assert_shape(v1, tuple(batch.shape), name="view 1")
assert_close(two_views(batch, 7)[0], v1, name="view 1 drawn again with the same seed",
             hint="Draw every random number from the generator (torch.rand(..., generator=generator)), never "
                  "from the global one.")
assert_true(float((v1 - v2).abs().mean()) > 0.05,
            "The two views are (nearly) identical: each view must draw its own augmentation. With identical "
            "views the positive pair is trivial and the network learns nothing.")
assert_true(float(v1.min()) >= 0 and float(v1.max()) <= 1, "The views must stay in [0, 1]: clip after the noise.")
assert_close(two_views(batch, 3, IDENTITY)[1], batch, name="a view with no augmentation (IDENTITY)", atol=1e-5,
             hint="With min_scale = 1, ratio (1, 1), no jitter, no blur and no noise every step is the identity; a full-image "
                  "box (0, 0, W, H) resized to H x W must give the image back.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q1-views-hidden", "grade": true, "points": 2}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _views_properties(images, seed, config):
    a1, a2 = two_views(images, seed, config)
    b1, _ = two_views(images, seed, config)
    return a1, a2, b1


check("03_self_supervised", "two_views", _views_properties)
### END HIDDEN TESTS

# %% [markdown]
# **What the network will see.** Each column below is one training image and six of its views.
# Everything that differs along a column is what SimCLR teaches the encoder to ignore.

# %%
gallery = torch.as_tensor(digits.train_images[[np.flatnonzero(digits.train_labels == c)[0] for c in range(10)]])
rows = [gallery] + [two_views(gallery, 100 + k)[0] for k in range(6)]
grid = torch.stack(rows).cpu()[:, :, 0]                      # (7 rows, 10 columns, 8, 8)
grid = torch.nn.functional.pad(grid, (1, 1, 1, 1), value=0.25).permute(0, 2, 1, 3).reshape(7 * 10, 10 * 10)
fig, ax = plt.subplots(figsize=(10, 7.2))
ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1)
ax.set_xticks([])
ax.set_yticks(np.arange(7) * 10 + 5, ["original"] + [f"view {r}" for r in range(1, 7)])
plt.show()

# %% [markdown]
# **Written question — augmentations.** (2 points)
#
# `AUGMENT` sets `flip=0.0` for digits, although SimCLR flips ImageNet images half of the time.
# Using the gallery above, name two augmentations that are safe for digits and one that is not
# (besides the flip), and say what would go wrong in the embedding if a digit's views could
# change its class.

# %% [markdown] nbgrader={"grade_id": "written-augmentations", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** Moderate crops and intensity jitter, blur and noise keep a digit's identity (a thicker,
# lighter or slightly shifted 3 is still a 3). Flips change classes or make non-digits (a mirrored 2 resembles
# a 5, a mirrored 7 no digit), and so would large rotations (6 and 9) or crops so small that only a stroke
# is left (a 1 and the stem of a 7). If two views of one image may belong to different classes, the loss
# pulls those classes' embeddings together: the encoder learns to be invariant to exactly the difference a
# classifier needs, and the probe confuses them.
#
# **Rubric.** 2: two safe augmentations, one unsafe with the reason (class change), and the consequence for
# the embedding (invariance to a class difference). 1: the examples without the consequence. 0: neither.
# ### END SOLUTION

# %% [markdown]
# ## Part 2 — The contrastive loss (20 points)
#
# A batch of $N$ images gives $2N$ views: $\mathbf{z}_1, \dots, \mathbf{z}_N$ from the first views and
# $\mathbf{z}_{N+1}, \dots, \mathbf{z}_{2N}$ from the second, so view $i$'s positive is $j = i + N$
# (and $i - N$ for the second half). With the cosine similarity
# $\operatorname{sim}(\mathbf{u}, \mathbf{v}) = \mathbf{u}^\top \mathbf{v} / (\|\mathbf{u}\|\|\mathbf{v}\|)$ and a
# temperature $\tau$, the lecture's loss of the pair $(i, j)$ is
#
# $$\ell_{i,j} = -\log \frac{\exp(\operatorname{sim}(\mathbf{z}_i, \mathbf{z}_j) / \tau)}
#   {\sum_{k=1}^{2N} \mathbb{1}_{[k \neq i]} \exp(\operatorname{sim}(\mathbf{z}_i, \mathbf{z}_k) / \tau)},$$
#
# a softmax cross-entropy: among the $2N - 1$ other views, classify which one is the positive. The
# **NT-Xent** loss (normalised temperature-scaled cross-entropy) is the mean of $\ell_{i,j}$ over all
# $2N$ views, each view once as the anchor $i$.
#
# Written directly, $\exp(1/\tau)$ overflows float16 already at $\tau = 0.09$ ($e^{11.1} > 65504$). Write
# it as a cross-entropy over **logits** instead: $\ell_{i,j} = \operatorname{logsumexp}_{k \ne i}(s_{ik})
# - s_{ij}$ with $s_{ik} = \operatorname{sim}(\mathbf{z}_i, \mathbf{z}_k)/\tau$, which subtracts the
# largest logit before exponentiating. Leave $k = i$ out by setting $s_{ii} = -\infty$ (`masked_fill`):
# then it contributes $e^{-\infty} = 0$ and no gradient. (Multiplying the exponentials by a 0/1 mask
# after `exp` gives the same value and the same gradient in float64 — the 0 stops the gradient through
# $s_{ii}$ too — but it has to form $e^{s_{ii}} = e^{1/\tau}$, the largest term of every row, first: in
# float16 that is $\infty$ already at $\tau = 0.09$, and $\infty \cdot 0$ is NaN. A $-\infty$ logit
# never forms that product.)
#
# `elvkit.contrastive.nt_xent_loop`, printed below, is the formula as a double loop in float64: slow,
# but a direct transcription of the slide. Your vectorised version must agree with it, gradient included.

# %%
import inspect

print(inspect.getsource(nt_xent_loop).split('"""', 2)[0] + inspect.getsource(nt_xent_loop).split('"""', 2)[2])


# %% nbgrader={"grade_id": "q2-nt-xent", "solution": true}
def nt_xent(z1, z2, tau=0.5):
    """SimCLR's NT-Xent loss of two batches of embeddings, vectorised and numerically stable.

    Parameters
    ----------
    z1, z2 : tensor, shape (N, D)
        Row i of z1 and row i of z2 are the two views of image i (not normalised).
    tau : float
        The temperature.

    Returns
    -------
    tensor, shape ()
        The mean of l(i, j) over the 2N views, in the dtype of z1.
    """
    ### BEGIN SOLUTION
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    logits = z @ z.T / tau
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(eye, float("-inf"))
    rows = torch.arange(2 * n, device=z.device)
    positive = (rows + n) % (2 * n)
    return (torch.logsumexp(logits, dim=1) - logits[rows, positive]).mean()
    ### END SOLUTION


# %% nbgrader={"grade_id": "q2-nt-xent-visible", "grade": true, "points": 5}
gen = torch.Generator().manual_seed(0)
za = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
zb = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
loss = nt_xent(za, zb, 0.5)
truth = nt_xent_loop(za.detach(), zb.detach(), 0.5)
assert_shape(loss, (), name="nt_xent(z1, z2, 0.5)", hint="Return the mean over the 2N views: a scalar tensor.")
both = torch.cat([za, zb]).detach()
unit = F.normalize(both, dim=1)
positive_sim = (unit[:5] * unit[5:]).sum(1)              # cos(z1_i, z2_i), the positives' similarities
with_self = (torch.logsumexp(unit @ unit.T / 0.5, dim=1) - positive_sim.repeat(2) / 0.5).mean()
raw_logits = (both @ both.T / 0.5).masked_fill(torch.eye(10, dtype=torch.bool), float("-inf"))
not_normalised = (torch.logsumexp(raw_logits, dim=1) - (both[:5] * both[5:]).sum(1).repeat(2) / 0.5).mean()
same_index = (torch.logsumexp((unit @ unit.T / 0.5).masked_fill(torch.eye(10, dtype=torch.bool), float("-inf")),
                              dim=1) - 1 / 0.5).mean()
assert_close(loss, truth, name="NT-Xent of 5 pairs in 3-D, tau = 0.5", rtol=1e-6, atol=1e-9,
             mistakes={"the anchor itself is left in the denominator (k = i): mask the diagonal with -inf.":
                       with_self,
                       "the embeddings are not normalised: sim is the cosine, u.v / (|u| |v|).": not_normalised,
                       "the positive of view i is taken as view i itself: it is view i + N (and i - N for the "
                       "second half).": same_index})
for tau in (0.05, 2.0):
    assert_close(nt_xent(za.detach(), zb.detach(), tau), nt_xent_loop(za.detach(), zb.detach(), tau),
                 name=f"NT-Xent at tau = {tau}", rtol=1e-6, atol=1e-9,
                 hint="Divide the similarities by tau exactly once.")
print("All visible tests passed.")

# %% [markdown]
# The gradient and the stability are judged on **your own** loss below, so they earn their points even while the
# value above is not yet right: autograd's gradient along a random direction must equal the finite difference of
# your `nt_xent` (a part computed outside the graph breaks it), and your loss in float16 at $\tau = 0.05$ must be
# finite and within 2 % of your own float64 value.

# %% nbgrader={"grade_id": "q2-nt-xent-parts-visible", "grade": true, "points": 3}
gen = torch.Generator().manual_seed(0)                   # the inputs of the cell above
za = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
zb = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
da, db = torch.randn(5, 3, generator=gen, dtype=torch.float64), torch.randn(5, 3, generator=gen, dtype=torch.float64)
loss = nt_xent(za, zb, 0.5)
unit = F.normalize(torch.cat([za, zb]).detach(), dim=1)
eye = torch.eye(10, dtype=torch.bool)
candidates = [nt_xent_loop(za.detach(), zb.detach(), 0.5),                       # the loss, or a common mistake's
              (torch.logsumexp(unit @ unit.T / 0.5, dim=1) - (unit[:5] * unit[5:]).sum(1).repeat(2) / 0.5).mean(),
              (torch.logsumexp((unit @ unit.T / 0.5).masked_fill(eye, float("-inf")), dim=1) - 1 / 0.5).mean()]
raw = torch.cat([za, zb]).detach()
candidates.append((torch.logsumexp((raw @ raw.T / 0.5).masked_fill(eye, float("-inf")), dim=1)
                   - (raw[:5] * raw[5:]).sum(1).repeat(2) / 0.5).mean())
assert_true(any(bool(torch.isclose(loss.detach(), c, rtol=1e-6, atol=1e-9)) for c in candidates),
            "These parts are judged on an NT-Xent (right, or with one of the mistakes the cell above names): your "
            "loss is neither yet.")
loss.backward()
assert_true(za.grad is not None and zb.grad is not None, "No gradient reached z1 or z2: is the loss computed from "
            "detached tensors (.detach(), .data, .item(), NumPy)?")
eps = 1e-6
with torch.no_grad():
    numeric = (nt_xent(za + eps * da, zb + eps * db, 0.5) - nt_xent(za - eps * da, zb - eps * db, 0.5)) / (2 * eps)
assert_close((za.grad * da).sum() + (zb.grad * db).sum(), numeric, rtol=1e-5, atol=1e-8,
             name="the gradient along a random direction (autograd against a finite difference of your loss)",
             hint="Part of the loss is computed outside the graph (.detach(), .data, .item(), NumPy), or a tensor "
                  "is changed in place after it was used.")
low = nt_xent(za.detach().half(), zb.detach().half(), 0.05)
assert_true(bool(torch.isfinite(low)), f"NT-Xent in float16 at tau = 0.05 is {float(low)}: exp(20) overflows "
            "float16 (max 65504). Use torch.logsumexp on the logits (or F.cross_entropy), never exp then log.")
assert_close(low.float(), nt_xent(za.detach(), zb.detach(), 0.05).float(), rtol=2e-2, atol=2e-2,
             name="your NT-Xent in float16 against your float64 value at tau = 0.05")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q2-nt-xent-hidden", "grade": true, "points": 5}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _graph_size(tensor):
    seen, todo = set(), [getattr(tensor, "grad_fn", None)]
    while todo:
        node = todo.pop()
        if node is not None and node not in seen:
            seen.add(node)
            todo.extend(n for n, _ in node.next_functions)
    return len(seen)


def _nt_xent_and_gradient(z1, z2, tau):
    graph = z1.dtype in (torch.float64, torch.float32)
    z1 = z1.detach().clone().requires_grad_(graph)
    z2 = z2.detach().clone().requires_grad_(graph)
    loss = nt_xent(z1, z2, tau)
    size = _graph_size(loss) if graph else 0
    if z1.dtype != torch.float64:
        return loss.detach().float(), None, None, size
    g1, g2 = torch.autograd.grad(loss, [z1, z2])
    return loss.detach(), g1, g2, size


check("03_self_supervised", "nt_xent", _nt_xent_and_gradient)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "q2-nt-xent-gradient-hidden", "grade": true, "points": 3}
### BEGIN HIDDEN TESTS
from autograder.hidden import check

check("03_self_supervised", "nt_xent_gradient", _nt_xent_and_gradient)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "q2-nt-xent-float16-hidden", "grade": true, "points": 2}
### BEGIN HIDDEN TESTS
from autograder.hidden import check

check("03_self_supervised", "nt_xent_low_precision", _nt_xent_and_gradient)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "q2-nt-xent-vectorised-hidden", "grade": true, "points": 2}
### BEGIN HIDDEN TESTS
from autograder.hidden import check

check("03_self_supervised", "nt_xent_vectorised", _nt_xent_and_gradient)
### END HIDDEN TESTS

# %% [markdown]
# **The temperature.** The loss of a batch whose positives are perfectly aligned and whose
# negatives are spread at random on the sphere, against one where every embedding is random:
# the lower $\tau$, the more the loss separates the two — and the more it is dominated by the
# few hardest negatives (the closest ones), which is what the lecture's *softmax* does as $\tau$
# falls. At $\tau = 1$ the loss barely tells a perfect encoder from a random one.

# %%
gen = torch.Generator().manual_seed(1)
base = torch.randn(256, 32, generator=gen)
taus = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]
aligned = [float(nt_xent(base, base, t)) for t in taus]
random_pairs = [float(nt_xent(base, torch.randn(256, 32, generator=gen), t)) for t in taus]
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(taus, random_pairs, "o-", label="random positives")
ax.plot(taus, aligned, "o-", label="positives aligned")
ax.axhline(math.log(2 * 256 - 1), color="gray", ls=":", label="log(2N - 1): chance")
ax.set_xscale("log")
ax.set_xlabel("temperature tau")
ax.set_ylabel("NT-Xent")
ax.legend()
ax.set_title("NT-Xent of 256 pairs in 32-D")
plt.show()
for t, a, r in zip(taus, aligned, random_pairs):
    print(f"tau = {t:4}: aligned {a:6.3f}, random {r:6.3f}, chance log(511) = {math.log(511):.3f}")

# %% [markdown]
# The printed numbers: with aligned positives the loss goes to 0 as $\tau \to 0$ (the positive's logit
# $1/\tau$ dwarfs every negative's); with random positives it *rises above* chance, $\log(2N - 1) = 6.24$,
# at small $\tau$ (11.7 at $\tau = 0.05$), because some negative is then closer than the positive and the
# softmax puts nearly all its weight on it; at $\tau = 2$ both are within 0.5 of chance.

# %% [markdown]
# ## Part 3 — Encoder, projection head, and evaluation on frozen features (25 points)
#
# **The networks.** The encoder $f$ maps an image to its **representation** $\mathbf{h} = f(x)$, the
# features we keep; the projection head $g$ maps $\mathbf{h}$ to the **embedding**
# $\mathbf{z} = g(\mathbf{h})$ that the loss sees. Chen et al. found that the loss on $\mathbf{z}$
# throws away what the augmentations change (position, intensity), and that $\mathbf{h}$, one layer
# before, keeps more of it and is the better representation on ImageNet — we will see how it goes on
# digits.
#
# Build, for 8 × 8 images:
#
# * `Encoder(width=32)`: three 3 × 3 convolutions with padding 1 — 1 → `width` channels (stride 1),
#   `width` → `2·width` (stride 2), `2·width` → `4·width` (stride 2) — each followed by a BatchNorm and
#   a ReLU (a convolution's bias is optional: the BatchNorm after it subtracts any constant; both are
#   accepted), then the mean over the remaining 2 × 2 positions: $\mathbf{h} \in \mathbb{R}^{4 \cdot
#   \text{width}}$ (128 for the default); the attribute `out_dim` says how many;
# * `ProjectionHead(in_dim, out_dim=64)`: Linear(`in_dim`, `in_dim`), ReLU, Linear(`in_dim`, `out_dim`).

# %% nbgrader={"grade_id": "q3-networks", "solution": true}
class Encoder(nn.Module):
    """A small CNN for 8x8 images: (B, 1, 8, 8) -> (B, 4 * width) representations."""

    def __init__(self, width=32):
        super().__init__()
        ### BEGIN SOLUTION
        layers, channels = [], [1, width, 2 * width, 4 * width]
        for i in range(3):
            layers += [nn.Conv2d(channels[i], channels[i + 1], 3, padding=1, stride=1 if i == 0 else 2),
                       nn.BatchNorm2d(channels[i + 1]), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.out_dim = 4 * width
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.net(x).mean(dim=(2, 3))
        ### END SOLUTION


class ProjectionHead(nn.Module):
    """SimCLR's projection head g: Linear, ReLU, Linear."""

    def __init__(self, in_dim, out_dim=64):
        super().__init__()
        ### BEGIN SOLUTION
        self.net = nn.Sequential(nn.Linear(in_dim, in_dim), nn.ReLU(), nn.Linear(in_dim, out_dim))
        ### END SOLUTION

    def forward(self, h):
        ### BEGIN SOLUTION
        return self.net(h)
        ### END SOLUTION


# %% [markdown]
# Try them (not graded here: the hidden test below and the training of Part 5 grade them).

# %%
_enc, _head = Encoder(), ProjectionHead(128)
_h = _enc(torch.as_tensor(digits.train_images[:4]))
print(f"h: {tuple(_h.shape)}, z: {tuple(_head(_h).shape)}, "
      f"{sum(p.numel() for p in _enc.parameters()):,} encoder parameters")
assert_shape(_h, (4, 128), name="Encoder()(a batch of 4 digits)")
assert_shape(_head(_h), (4, 64), name="ProjectionHead(128)(h)")

# %% nbgrader={"grade_id": "q3-networks-hidden", "grade": true, "points": 7}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _networks(images, width, seed):
    torch.random.manual_seed(int(seed))
    encoder = Encoder(int(width)).to(images.device)
    head = ProjectionHead(encoder.out_dim).to(images.device)
    encoder.eval(), head.eval()
    with torch.no_grad():
        h = encoder(images)
        z = head(h)
    parameters = sum(p.numel() for p in encoder.parameters()) + sum(p.numel() for p in head.parameters())
    return h, z, float(parameters)


check("03_self_supervised", "networks", _networks)
### END HIDDEN TESTS

# %% [markdown]
# **Training.** One step: draw two views of a batch, embed both through $g(f(\cdot))$, compute
# `nt_xent`, take an Adam step. The learning rate follows a **cosine schedule** from `lr` down to 0
# over `steps` steps (`torch.optim.lr_scheduler.CosineAnnealingLR`): large steps while the embedding
# is still taking shape, small ones at the end. Batches are drawn without replacement from a random
# order of the images, a new order each epoch (when fewer than `batch_size` images are left, start
# the next epoch). Keep every random number on the one generator.

# %% nbgrader={"grade_id": "q3-train", "solution": true}
def train_simclr(encoder, head, images, steps, batch_size=256, tau=0.5, lr=2e-3, seed=0, config=AUGMENT,
                 progress=True):
    """Train encoder and head with NT-Xent on two views of each batch; returns the loss of every step.

    Parameters
    ----------
    encoder, head : nn.Module
        Trained in place, on the images' device.
    images : tensor, shape (N, C, H, W)
    steps, batch_size : int
    tau, lr : float
    seed : int
        Seeds the one torch.Generator every batch order and augmentation is drawn from.
    config : dict
        The augmentations (AUGMENT).

    Returns
    -------
    list of float, one loss per step
    """
    ### BEGIN SOLUTION
    generator = torch.Generator().manual_seed(int(seed))
    params = list(encoder.parameters()) + list(head.parameters())
    optimiser = torch.optim.Adam(params, lr=lr, weight_decay=1e-6)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
    encoder.train(), head.train()
    order, at, losses = torch.randperm(len(images), generator=generator), 0, []
    batch_size = min(batch_size, len(images))
    for _ in tqdm(range(steps), desc="SimCLR", disable=not progress, leave=False):
        if at + batch_size > len(images):
            order, at = torch.randperm(len(images), generator=generator), 0
        batch = images[order[at: at + batch_size].to(images.device)]
        at += batch_size
        view1, view2 = two_views(batch, generator, config)
        loss = nt_xent(head(encoder(view1)), head(encoder(view2)), tau)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
    encoder.eval(), head.eval()
    return losses
    ### END SOLUTION


# %% [markdown]
# **Evaluation on frozen features.** A representation is good if a *simple* classifier trained on
# it with *few* labels does well. Two standard ones, both on features we do not train any more:
#
# * the **linear probe**: multinomial logistic regression. Standardise each feature with the mean
#   and standard deviation of the *training* features (the test features are standardised with the
#   same numbers; add $10^{-6}$ to the standard deviation), append a constant 1 for the bias, and
#   minimise the mean cross-entropy plus $\lambda \|\mathbf{W}\|^2$ over the weights (not the bias)
#   with full-batch L-BFGS to convergence (`torch.optim.LBFGS`, `line_search_fn="strong_wolfe"`,
#   `max_iter=500`, in float64). The problem is strictly convex, so every correct solver reaches the
#   same minimiser. Return the predicted class of every test feature.
# * the **k-nearest-neighbour classifier** with cosine similarity (Wu et al. 2018): normalise the
#   features, take the `k` training features most similar to each test feature, and let each vote for
#   its class with weight $\exp(\operatorname{sim}/T)$; predict the class with the largest total (if
#   there are fewer than `k` training features, all of them vote).
#
# Both must use the training labels only. The test labels are for measuring the accuracy — a probe
# fitted on them measures nothing.

# %% nbgrader={"grade_id": "q3-probe", "solution": true}
def linear_probe(train_features, train_labels, test_features, weight_decay=1e-2, num_classes=10):
    """Multinomial logistic regression on standardised features (L-BFGS, float64); the test predictions.

    Returns
    -------
    tensor, shape (M,), int64 : the predicted class of each test feature
    """
    ### BEGIN SOLUTION
    ftr = torch.as_tensor(train_features).detach().double()
    fte = torch.as_tensor(test_features).detach().double().to(ftr.device)
    ytr = torch.as_tensor(train_labels).to(ftr.device).long()
    mean, std = ftr.mean(0), ftr.std(0) + 1e-6

    def design(f):
        return torch.cat([(f - mean) / std, torch.ones(len(f), 1, dtype=f.dtype, device=f.device)], dim=1)

    A = design(ftr)
    W = torch.zeros(A.shape[1], num_classes, dtype=A.dtype, device=A.device, requires_grad=True)
    optimiser = torch.optim.LBFGS([W], lr=1, max_iter=500, tolerance_grad=1e-9, tolerance_change=1e-12,
                                  history_size=20, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = F.cross_entropy(A @ W, ytr) + weight_decay * (W[:-1] ** 2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        return (design(fte) @ W).argmax(dim=1)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q3-probe-visible", "grade": true, "points": 4}
gen = torch.Generator().manual_seed(2)
centres = torch.tensor([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]])
lab = torch.arange(3).repeat_interleave(8)
feat = centres[lab] + 0.5 * torch.randn(24, 2, generator=gen)
queries = torch.tensor([[2.5, 0.5], [0.2, 2.0], [-2.0, -2.5], [10.0, -1.0]])
pred = linear_probe(feat, lab, queries, num_classes=3)
assert_shape(pred, (4,), name="linear_probe(...) on 4 test features", hint="Return one class per test feature.")
assert_close(pred, torch.tensor([0, 1, 2, 0]), name="the probe's classes of 3 well-separated clusters",
             hint="Three clusters that a line separates: fit on the training features and labels; predict with "
                  "the argmax of the logits.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q3-probe-hidden", "grade": true, "points": 6}
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("03_self_supervised", "linear_probe", linear_probe)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "q3-knn", "solution": true}
def knn_classify(train_features, train_labels, test_features, k=20, temperature=0.1, num_classes=10):
    """Weighted k-NN with cosine similarity: each of the k most similar training features votes
    exp(sim / temperature) for its class. Returns the predicted class of each test feature (int64)."""
    ### BEGIN SOLUTION
    ftr = F.normalize(torch.as_tensor(train_features).detach().float(), dim=1)
    fte = F.normalize(torch.as_tensor(test_features).detach().float().to(ftr.device), dim=1)
    ytr = torch.as_tensor(train_labels).to(ftr.device).long()
    sim, idx = (fte @ ftr.T).topk(min(k, len(ftr)), dim=1)
    votes = torch.zeros(len(fte), num_classes, device=ftr.device)
    votes.scatter_add_(1, ytr[idx], torch.exp(sim / temperature))
    return votes.argmax(dim=1)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q3-knn-visible", "grade": true, "points": 3}
train_f = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 1.0], [0.2, 0.9], [-1.0, 0.1]])
train_l = torch.tensor([0, 0, 1, 1, 1, 2])
test_f = torch.tensor([[10.0, 1.0], [0.05, 0.5], [-3.0, 0.0], [1.0, 0.75]])
assert_close(knn_classify(train_f, train_l, test_f, k=3, temperature=0.1, num_classes=3),
             torch.tensor([0, 1, 2, 0]), name="the 3-NN classes of 4 test features",
             mistakes={"the neighbours are the most *distant* (topk of the distance, or of minus the similarity)":
                       torch.tensor([1, 0, 0, 2]),
                       "the votes are not weighted: with k = 3 the test feature (-3, 0) has one very close "
                       "neighbour of class 2 (cosine 0.995, weight exp(sim / T) = e^9.95) and two far ones of class 1 "
                       "(cosines 0 and -0.1): weighted, class 2 wins; counted, class 1.": torch.tensor([0, 1, 1, 0])},
             hint="Cosine similarity: normalise both sets of features; (10, 1) is as near to (1, 0) as (1, 0.1).")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q3-knn-hidden", "grade": true, "points": 5}
### BEGIN HIDDEN TESTS
from autograder.hidden import check
check("03_self_supervised", "knn_classify", knn_classify)
### END HIDDEN TESTS

# %% [markdown]
# **Baselines first.** Before training anything: how well do the raw pixels do, and the features of
# an encoder that was never trained (random weights)? `evaluate` probes a set of features with 10
# labels per class (the mean over 5 draws of the 100 labelled images; ± their standard deviation)
# and with all 1,198 labels.

# %%
def features_of(encoder, images, batch=512):
    """The encoder's representations h of many images, without gradients, in eval mode."""
    encoder.eval()
    with torch.no_grad():
        return torch.cat([encoder(images[i: i + batch]) for i in range(0, len(images), batch)])


def evaluate(train_features, test_features, draws=elvkit.budget(5, 2), methods=("linear probe", "k-NN")):
    """Linear-probe and k-NN accuracy with 10 labels per class (mean and std over draws) and all labels."""
    result = {}
    for name, classify in (("linear probe", linear_probe), ("k-NN", knn_classify)):
        if name not in methods:
            continue
        few = []
        for d in range(draws):
            idx = torch.as_tensor(digits.few_shot(10, seed=d), device=train_features.device)
            pred = classify(train_features[idx], y_train[idx], test_features)
            few.append(float((pred.to(y_test.device) == y_test).float().mean()))
        full = float("nan")
        if not SMOKE:        # the probe on all 1,198 labels takes seconds: for people, not for the autograder
            full = float((classify(train_features, y_train, test_features).to(y_test.device) == y_test).float().mean())
        result[name] = (float(np.mean(few)), float(np.std(few)), full)
    return result


def show_evaluation(rows):
    print(f"{'features':34s} {'probe, 10/class':>16s} {'k-NN, 10/class':>16s} {'probe, all':>11s} {'k-NN, all':>10s}")
    for name, r in rows.items():
        (pm, ps, pf), (km, ks, kf) = r["linear probe"], r["k-NN"]
        print(f"{name:34s} {pm:9.3f} ± {ps:.3f} {km:9.3f} ± {ks:.3f} {pf:11.3f} {kf:10.3f}")


table = {"raw pixels (64)": evaluate(X_train.flatten(1), X_test.flatten(1))}
torch.manual_seed(0)
random_encoder = Encoder().to(DEVICE)
table["random-init encoder h (128)"] = evaluate(features_of(random_encoder, X_train), features_of(random_encoder, X_test))
show_evaluation(table)

# %% [markdown]
# **Train SimCLR.** At full size this takes about one minute on a 2-core CPU (600 steps of 256
# images; `SMOKE` uses fewer). Then the same evaluation on the trained encoder's $\mathbf{h}$, and on
# the projection head's $\mathbf{z}$ for comparison.

# %%
STEPS = elvkit.budget(600, 20)
torch.manual_seed(0)
encoder, head = Encoder().to(DEVICE), ProjectionHead(128).to(DEVICE)
start = time.perf_counter()
losses = train_simclr(encoder, head, X_train, steps=STEPS, batch_size=256, tau=0.5, seed=0)
took = time.perf_counter() - start
print(f"{STEPS} steps in {took:.0f} s ({2 * 256 * STEPS / took:,.0f} views per second on {DEVICE}); "
      f"loss {np.mean(losses[:10]):.3f} -> {np.mean(losses[-10:]):.3f}")
viz.plot_curves({"NT-Xent": losses}, title="SimCLR training loss", xlabel="step", ylabel="loss")
plt.show()
h_train, h_test = features_of(encoder, X_train), features_of(encoder, X_test)
with torch.no_grad():
    z_train, z_test = head(h_train), head(h_test)
table["SimCLR encoder h (128)"] = evaluate(h_train, h_test)
table["SimCLR projection z (64)"] = evaluate(z_train, z_test)
show_evaluation(table)
h_row, z_row = table["SimCLR encoder h (128)"], table["SimCLR projection z (64)"]
print(f"h against z: probe, 10/class {h_row['linear probe'][0]:.3f} vs {z_row['linear probe'][0]:.3f}; "
      f"k-NN, 10/class {h_row['k-NN'][0]:.3f} vs {z_row['k-NN'][0]:.3f}; "
      f"probe, all labels {h_row['linear probe'][2]:.3f} vs {z_row['linear probe'][2]:.3f}")

# %% [markdown]
# **Reading the table.** Each row probes one set of frozen features; the columns are the test
# accuracy of a linear probe and of the 20-NN classifier trained on 10 labels per class (100 images;
# mean ± standard deviation over 5 draws of those images) and on all 1,198 training labels. At full
# size (measured on a 2-core CPU) SimCLR's $\mathbf{h}$ reaches 0.94 with 10 labels per class,
# against 0.87 for the pixels and 0.83 for the random encoder: self-supervision did much of the work
# that the 1,098 missing labels would have done. With all labels the gap is smaller (0.98 against
# 0.94): digits are easy to classify with labels; the representation matters most when labels are
# few. The line under the table compares $\mathbf{h}$ and $\mathbf{z}$ (full size: 0.942 and 0.944 for the
# probe with 10 labels per class, 0.909 and 0.951 for k-NN, 0.982 and 0.968 for the probe with all labels).
# With 10 labels they are about equal for the probe, and $\mathbf{z}$ is better for k-NN: the loss shapes
# $\mathbf{z}$'s cosine geometry directly, which is what k-NN uses. With all labels $\mathbf{h}$ is
# ahead, as Chen et al. found: the head discards what the loss does not need (here, what tells apart two
# views of one digit), and some of that helps a classifier that has the labels to use it; their larger
# advantage of $\mathbf{h}$ comes with large images, long training and augmentations that remove much more.
# Under `SMOKE` training is thirty times shorter and the probe on all labels is skipped (`nan`).

# %% [markdown]
# **Accuracy against labels.** The table gives two points of a curve: 10 labels per class and all of them.
# The whole curve says how much each label is worth on each representation: below, the linear probe on 1,
# 5, 10 and 50 labels per class (the mean over 5 draws of the labelled images) and on all 1,198, for the
# pixels, the random encoder and SimCLR's $\mathbf{h}$.

# %%
SHOTS = elvkit.budget((1, 5, 10, 50), (1, 10))
CURVE_DRAWS = elvkit.budget(5, 1)
curve_features = {"raw pixels": (X_train.flatten(1), X_test.flatten(1)),
                  "random-init encoder h": (features_of(random_encoder, X_train), features_of(random_encoder, X_test)),
                  "SimCLR encoder h": (h_train, h_test)}
curve = {}
with tqdm(total=len(curve_features) * len(SHOTS) * CURVE_DRAWS, desc="probes") as bar:
    for name, (ftr, fte) in curve_features.items():
        curve[name] = []
        for shots in SHOTS:
            draws = []
            for d in range(CURVE_DRAWS):
                idx = torch.as_tensor(digits.few_shot(shots, seed=d), device=ftr.device)
                draws.append(float((linear_probe(ftr[idx], y_train[idx], fte).to(y_test.device) == y_test)
                                   .float().mean()))
                bar.update()
            curve[name].append(float(np.mean(draws)))
all_rows = {"raw pixels": "raw pixels (64)", "random-init encoder h": "random-init encoder h (128)",
            "SimCLR encoder h": "SimCLR encoder h (128)"}
per_class = len(y_train) / 10                                  # "all" is about 120 labels per class
fig, ax = plt.subplots(figsize=(6.4, 3.8))
for name, accs in curve.items():
    xs, ys = list(SHOTS), list(accs)
    full = table[all_rows[name]]["linear probe"][2]
    if np.isfinite(full):
        xs, ys = xs + [per_class], ys + [full]
    ax.plot(xs, ys, "o-", label=name)
ax.set_xscale("log")
ax.set_xticks(list(SHOTS) + [per_class], [str(k) for k in SHOTS] + ["all"])
ax.set_xlabel("labels per class (log scale)")
ax.set_ylabel("test accuracy, linear probe")
ax.set_title("What a label is worth on each representation")
ax.grid(alpha=0.3)
ax.legend()
plt.show()
print(f"{'labels per class':22s}" + "".join(f"{k:>8d}" for k in SHOTS) + f"{'all':>8s}")
for name, accs in curve.items():
    print(f"{name:22s}" + "".join(f"{v:8.3f}" for v in accs) + f"{table[all_rows[name]]['linear probe'][2]:8.3f}")

# %% [markdown]
# **Reading the curve.** At full size (measured on a 2-core CPU) the linear probe on SimCLR's $\mathbf{h}$
# reaches 0.79 with a single label per class, where the pixels reach 0.54 and the random encoder 0.51;
# 0.93 with 5 (pixels 0.83), 0.94 with 10 (0.87), 0.98 with 50 (0.93) and with all (0.94). The gap is
# widest at one label and shrinks as labels are added: each label is worth most on a representation
# where a class is already grouped, and given enough labels a linear probe carves the classes out of the
# pixels too. The random encoder is *below* the pixels with few labels and level with them with all:
# random convolutions keep the information but spread it, and only many labels undo that.

# %% [markdown]
# **Where do the classes go?** A 2-D view of the test set's representations (PCA of $\mathbf{h}$,
# coloured by the labels the learner never saw).

# %%
def pca_2d(features):
    f = features - features.mean(0)
    _, _, v = torch.linalg.svd(f, full_matrices=False)
    return (f @ v[:2].T).cpu().numpy()


fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
for ax, (name, f) in zip(axes, (("random-init encoder", features_of(random_encoder, X_test)),
                                ("SimCLR encoder", h_test))):
    p = pca_2d(f)
    sc = ax.scatter(p[:, 0], p[:, 1], c=digits.test_labels, cmap="tab10", s=8, vmin=-0.5, vmax=9.5)
    ax.set_title(name)
    ax.set_xticks([]), ax.set_yticks([])
fig.suptitle("test features h, first two principal components")
fig.colorbar(sc, ax=axes, ticks=range(10), label="digit (not used in training)")
plt.show()
for name, f in (("random-init encoder", features_of(random_encoder, X_test)), ("SimCLR encoder", h_test)):
    s = torch.linalg.svdvals(f - f.mean(0))
    print(f"{name}: the two components shown hold {float((s[:2] ** 2).sum() / (s ** 2).sum()):.0%} of the "
          "test features' variance")

# %% [markdown]
# **Reading the picture.** A 2-D view flatters nothing here: the two components shown hold about a third of
# the variance (32 % for both encoders at full size), and the classes overlap in both panels. SimCLR's panel
# is more grouped than the random encoder's -- a 5-nearest-neighbour classifier on these two coordinates
# alone gets 0.59 of the test digits right against 0.46 -- but the grouping the probe uses lives in the other
# 126 dimensions too. Judge representations by the curve above, not by this picture.

# %% [markdown]
# **Written question — labels.** (2 points)
#
# In the curve, the gain of SimCLR over the pixels is largest with one label per class and shrinks as
# labels are added. Explain why, using what a linear probe needs from the features, and say which point
# of the curve you would report to argue that a representation is good, and why.

# %% [markdown] nbgrader={"grade_id": "written-labels", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** With about 120 labels per class a linear classifier can carve the classes out of the pixels
# even though they are spread and entangled there (the digits are nearly linearly separable given enough
# examples: 0.94); with one to ten labels it cannot estimate those boundaries, and it needs features in which
# the images of a class already lie close together and apart from the others -- which SimCLR produced without
# labels, in its 128 dimensions (the two-component PCA view holds only about a third of the variance and
# shows the classes overlapping; the few-label probe is the better measure of that grouping). Report the
# few-label end of the curve (1-10 labels per class): it measures the representation, while the all-label
# point mostly measures the classifier and the amount of labelled data, and hides the difference.
#
# **Rubric.** 2: the sample-complexity argument (few labels need classes already grouped) and the few-label
# end chosen with its reason. 1: one of the two. 0: neither.
# ### END SOLUTION

# %% [markdown]
# ## Part 4 — What matters (not graded; written question below)
#
# The lecture says *severe* augmentation; Chen et al. found the temperature and the batch size
# matter too. Each row below trains SimCLR from the same initialisation and seed and changes one
# thing; the column is the 10-labels-per-class linear probe on $\mathbf{h}$. At full size the table
# takes about two and a half minutes on a 2-core CPU (each run is half the one above); under `SMOKE`
# each run is a few steps and the table shows only that the code runs.

# %%
ABLATION_STEPS = elvkit.budget(300, 2)


def probe_after(steps, batch_size=256, tau=0.5, config=AUGMENT):
    torch.manual_seed(0)
    enc, hd = Encoder().to(DEVICE), ProjectionHead(128).to(DEVICE)
    train_simclr(enc, hd, X_train, steps=steps, batch_size=batch_size, tau=tau, seed=0, config=config,
                 progress=False)
    return evaluate(features_of(enc, X_train), features_of(enc, X_test), draws=elvkit.budget(3, 1),
                    methods=("linear probe",))["linear probe"][0]


experiments = {
    "AUGMENT, tau 0.5, batch 256 (the default)": {},
    "tau 0.1": {"tau": 0.1},
    "tau 2.0": {"tau": 2.0},
    "batch 32": {"batch_size": 32},
    "no crop (min_scale 1, ratio 1)": {"config": {**AUGMENT, "min_scale": 1.0, "ratio": (1.0, 1.0)}},
    "no intensity jitter": {"config": {**AUGMENT, "brightness": 0.0, "contrast": 0.0}},
    "crop only": {"config": {**IDENTITY, "min_scale": AUGMENT["min_scale"], "ratio": AUGMENT["ratio"]}},
    "with flips (p = 0.5)": {"config": {**AUGMENT, "flip": 0.5}},
}
ablation = {name: probe_after(ABLATION_STEPS, **kw) for name, kw in tqdm(experiments.items(), desc="ablation")}
fig, ax = plt.subplots(figsize=(7, 3.6))
names = list(ablation)
ax.barh(names[::-1], [ablation[n] for n in names[::-1]], color=["C0"] * (len(names) - 1) + ["C1"])
ax.axvline(table["raw pixels (64)"]["linear probe"][0], color="gray", ls=":", label="raw pixels")
shown_values = list(ablation.values()) + [table["raw pixels (64)"]["linear probe"][0]]
ax.set_xlim(max(0.0, min(shown_values) - 0.02), min(1.0, max(shown_values) + 0.01))   # zoomed: the bars differ little
for y, n in enumerate(names[::-1]):
    ax.text(ablation[n], y, f" {ablation[n]:.3f}", va="center", fontsize=8)
ax.set_xlabel("linear probe accuracy, 10 labels per class (axis zoomed)")
ax.legend(loc="lower right")
plt.show()
for n, acc in ablation.items():
    print(f"{n:44s} {acc:.3f}")

# %% [markdown]
# **Reading the table.** One run per row, same seed: differences of half a point or less are
# within the noise of a single run (the ± of the table above is about 1.5 points for 10 labels
# per class; here 3 draws). Measured at full size: removing the crop hurts most (0.889 against
# 0.926 for the default, near the pixels' 0.87), and a batch of 32 costs 2.3 points (0.903). The
# temperature away from 0.5 costs less than a point (0.923 at 0.1, 0.919 at 2.0) at this length.
# Intensity jitter and blur do *not* help on gray digits: without jitter the probe is 0.929, with
# the crop alone 0.938 — unlike colour jitter on photographs, where Chen et al. found colour the
# second most important augmentation (colour histograms identify a photograph's views; a digit's
# gray levels carry almost no identity). Flips cost a little (0.918).

# %% [markdown]
# **Written question — what matters.** (2 points)
#
# From the table: which change hurts most, and why does removing that augmentation let the encoder
# "cheat" on the contrastive task? Why does a batch of 32 give a harder or an easier task than a batch
# of 256, and what does that do to the representation?

# %% [markdown] nbgrader={"grade_id": "written-ablation", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** Removing the crop hurts most (0.889 against 0.926): without it two views differ only in
# intensity, blur and noise, so low-level cues (the exact position of strokes, the pixel pattern) identify the
# positive, and the encoder need not learn the shape of the digit. With 32 images the positive competes with 62
# negatives instead of 510: the task is easier (fewer near-duplicates to tell apart), the gradient pushes
# away fewer and less similar negatives, and the representation separates classes less well.
#
# **Rubric.** 2: the most harmful change with the shortcut it opens, and the batch size's effect through the
# number of negatives. 1: one of the two. 0: neither.
# ### END SOLUTION

# %% [markdown]
# ## Part 5 — Collapse, and how non-contrastive methods avoid it (20 points)
#
# Why do we need negatives at all? Minimise only $\|\mathbf{z}_1 - \mathbf{z}_2\|^2$ and the answer is
# trivial: map every image to the same point. That is **collapse** — a loss of 0 and a useless
# representation. Non-contrastive methods avoid it without negatives, by making the two branches
# **asymmetric**:
#
# * **SimSiam** (Chen & He 2021): a predictor $h$ on one branch, and a **stop-gradient** on the other:
#   $\mathcal{D}(\mathbf{p}_1, \mathbf{z}_2) = -\frac{\mathbf{p}_1}{\|\mathbf{p}_1\|}\cdot
#   \frac{\operatorname{sg}(\mathbf{z}_2)}{\|\operatorname{sg}(\mathbf{z}_2)\|}$ with $\mathbf{p} = h(\mathbf{z})$,
#   symmetrised: $\mathcal{L} = \tfrac12 \mathcal{D}(\mathbf{p}_1, \mathbf{z}_2) + \tfrac12 \mathcal{D}(\mathbf{p}_2,
#   \mathbf{z}_1)$, each averaged over the batch. `sg` is `.detach()`: the target branch receives no gradient.
# * **DINO** (Caron et al. 2021): a student $g_{\theta_s}$ and a teacher $g_{\theta_t}$ output $K$ logits
#   each; the student's softmax with temperature $\tau_s$,
#   $p_s(x)_i = \frac{\exp(g_{\theta_s}(x)_i/\tau_s)}{\sum_k \exp(g_{\theta_s}(x)_k/\tau_s)}$, is trained to match
#   the teacher's, $\min_{\theta_s} H(p_t, p_s) = -\sum_i p_t{}_i \log p_s{}_i$, across views (the teacher sees
#   view 1, the student view 2, and the other way round). The teacher gets **no gradient**; its weights are
#   an **exponential moving average** of the student's, $\theta_t \leftarrow m\,\theta_t + (1-m)\,\theta_s$.
#   Two more tricks prevent the two collapses of the lecture: **centring**, $p_t(x)_i =
#   \frac{\exp((g_{\theta_t}(x)_i - c_i)/\tau_t)}{\sum_k \exp((g_{\theta_t}(x)_k - c_k)/\tau_t)}$ with the running
#   mean $c \leftarrow m\,c + (1-m)\frac1B\sum_{i=1}^B g_{\theta_t}(x_i)$ of the teacher's outputs (no unit can
#   dominate for every image), and **sharpening**, a low teacher temperature $\tau_t < \tau_s$ (the target
#   cannot be uniform).

# %% nbgrader={"grade_id": "q4-simsiam", "solution": true}
def simsiam_loss(p1, p2, z1, z2, stop_gradient=True):
    """SimSiam's symmetrised negative cosine similarity, with the stop-gradient on the targets z.

    p1, p2 : tensor (N, D), the predictor's outputs of views 1 and 2; z1, z2 : tensor (N, D), the projections.
    stop_gradient=False leaves the gradient through z (the ablation that collapses). Returns a scalar tensor.
    """
    ### BEGIN SOLUTION
    if stop_gradient:
        z1, z2 = z1.detach(), z2.detach()

    def D(p, z):
        return -(F.normalize(p, dim=1) * F.normalize(z, dim=1)).sum(dim=1).mean()

    return 0.5 * D(p1, z2) + 0.5 * D(p2, z1)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q4-simsiam-visible", "grade": true, "points": 3}
p1 = torch.tensor([[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
p2 = torch.tensor([[0.0, 1.0], [1.0, 1.0]], requires_grad=True)
z1 = torch.tensor([[2.0, 0.0], [0.0, 1.0]], requires_grad=True)
z2 = torch.tensor([[1.0, 1.0], [0.0, -3.0]], requires_grad=True)
ls = simsiam_loss(p1, p2, z1, z2)
expected = -0.5 * ((2 ** -0.5 - 1) / 2) - 0.5 * ((0 + 2 ** -0.5) / 2)
assert_close(ls, torch.tensor(expected), name="the SimSiam loss of a 2-pair example",
             mistakes={"the pairs are not crossed: D(p1, z2) and D(p2, z1), view 1's prediction against view 2's "
                       "projection.": torch.tensor(-0.5 * ((1 + 1) / 2) - 0.5 * ((2 ** -0.5 - 2 ** -0.5) / 2)),
                       "the cosine similarity is not negated: the loss is minus the similarity.":
                       torch.tensor(-expected)})
ls.backward()
assert_true(z1.grad is None or float(z1.grad.abs().max()) == 0.0,
            "z1 received a gradient: the targets z must be detached (stop-gradient), only p is trained by D.")
assert_true(p1.grad is not None and float(p1.grad.abs().max()) > 0,
            "p1 received no gradient: the stop-gradient belongs on z, not on the prediction p.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q4-simsiam-hidden", "grade": true, "points": 3}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _simsiam_and_gradients(p1, p2, z1, z2, stop_gradient):
    leaves = [t.detach().clone().requires_grad_(True) for t in (p1, p2, z1, z2)]
    loss = simsiam_loss(*leaves, stop_gradient=stop_gradient)
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return loss.detach(), [torch.zeros_like(t) if g is None else g for t, g in zip(leaves, grads)]


check("03_self_supervised", "simsiam_loss", _simsiam_and_gradients)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "q4-dino", "solution": true}
def dino_loss(student_logits, teacher_logits, center, tau_s=0.1, tau_t=0.04):
    """DINO's cross-entropy between the teacher's centred, sharpened softmax and the student's softmax.

    Parameters
    ----------
    student_logits, teacher_logits : tensor, shape (2, N, K)
        The outputs g(x) of the two views [view 1, view 2] of N images.
    center : tensor, shape (K,)
        Subtracted from the teacher's logits.
    tau_s, tau_t : float
        Student and teacher temperatures.

    Returns
    -------
    tensor, shape ()
        The mean over images of H(p_t(view 1), p_s(view 2)) and H(p_t(view 2), p_s(view 1)), averaged; no
        gradient flows into the teacher.
    """
    ### BEGIN SOLUTION
    p_t = F.softmax((teacher_logits.detach() - center) / tau_t, dim=-1)
    log_p_s = F.log_softmax(student_logits / tau_s, dim=-1)
    h_12 = -(p_t[0] * log_p_s[1]).sum(dim=-1).mean()
    h_21 = -(p_t[1] * log_p_s[0]).sum(dim=-1).mean()
    return 0.5 * (h_12 + h_21)
    ### END SOLUTION


def update_center(center, teacher_logits, momentum=0.9):
    """The running mean of the teacher's outputs: m * c + (1 - m) * mean over every view and image of g.
    No gradient flows through it. teacher_logits: (2, N, K) or (B, K); returns (K,)."""
    ### BEGIN SOLUTION
    g = teacher_logits.detach().reshape(-1, teacher_logits.shape[-1])
    return momentum * center.detach() + (1 - momentum) * g.mean(dim=0)
    ### END SOLUTION


def ema(teacher_params, student_params, momentum=0.996):
    """The teacher's new weights: m * teacher + (1 - m) * student, for each pair of tensors, without gradient.
    Returns a list of new tensors (the caller copies them into the teacher)."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        return [momentum * t.detach() + (1 - momentum) * s.detach() for t, s in zip(teacher_params, student_params)]
    ### END SOLUTION


# %% nbgrader={"grade_id": "q4-dino-visible", "grade": true, "points": 3}
s_logits = torch.tensor([[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]], requires_grad=True)
t_logits = torch.tensor([[[0.0, 0.2, 0.0]], [[0.2, 0.0, 0.0]]], requires_grad=True)
centre = torch.tensor([0.0, 0.1, 0.0])
ld = dino_loss(s_logits, t_logits, centre, tau_s=0.5, tau_t=0.1)
pt = F.softmax((t_logits.detach() - centre) / 0.1, dim=-1)
ps = F.log_softmax(s_logits.detach() / 0.5, dim=-1)
right = -0.5 * ((pt[0] * ps[1]).sum() + (pt[1] * ps[0]).sum())
assert_close(ld, right, name="the DINO loss of one image", rtol=1e-5, atol=1e-6,
             mistakes={"the teacher and the student see the same view: DINO crosses them, H(p_t(view 1), "
                       "p_s(view 2)).": -0.5 * ((pt[0] * ps[0]).sum() + (pt[1] * ps[1]).sum()),
                       "the centre is subtracted from the student's logits instead of the teacher's.":
                       -0.5 * ((F.softmax(t_logits.detach()[0] / 0.1, -1) * F.log_softmax((s_logits.detach()[1] - centre) / 0.5, -1)).sum()
                               + (F.softmax(t_logits.detach()[1] / 0.1, -1) * F.log_softmax((s_logits.detach()[0] - centre) / 0.5, -1)).sum()),
                       "the temperatures are swapped: the teacher's is the low one (sharpening).":
                       -0.5 * ((F.softmax((t_logits.detach()[0] - centre) / 0.5, -1) * F.log_softmax(s_logits.detach()[1] / 0.1, -1)).sum()
                               + (F.softmax((t_logits.detach()[1] - centre) / 0.5, -1) * F.log_softmax(s_logits.detach()[0] / 0.1, -1)).sum())})
ld.backward()
assert_true(t_logits.grad is None or float(t_logits.grad.abs().max()) == 0.0,
            "The teacher's logits received a gradient: detach the teacher (stop-gradient; it learns only by EMA).")
assert_close(update_center(torch.tensor([1.0, 0.0, 0.0]), t_logits, momentum=0.9), torch.tensor([0.91, 0.01, 0.0]),
             name="update_center(c = (1, 0, 0), the teacher's logits above, m = 0.9)",
             mistakes={"the momentum weights the batch mean instead of the old centre: c = m c + (1 - m) mean.":
                       torch.tensor([0.19, 0.09, 0.0])})
new = ema([torch.tensor([1.0, 2.0])], [torch.tensor([3.0, 0.0])], momentum=0.75)
assert_close(new[0], torch.tensor([1.5, 1.5]), name="ema(teacher = (1, 2), student = (3, 0), m = 0.75)",
             mistakes={"the EMA moves the student towards the teacher: theta_t = m theta_t + (1 - m) theta_s.":
                       torch.tensor([2.5, 0.5])})
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q4-dino-hidden", "grade": true, "points": 5}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _dino_and_gradients(student_logits, teacher_logits, center, tau_s, tau_t):
    s = student_logits.detach().clone().requires_grad_(True)
    t = teacher_logits.detach().clone().requires_grad_(True)
    loss = dino_loss(s, t, center, tau_s, tau_t)
    gs, gt = torch.autograd.grad(loss, [s, t], allow_unused=True)
    return loss.detach(), gs, torch.zeros_like(t) if gt is None else gt


check("03_self_supervised", "dino_loss", _dino_and_gradients)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "q4-center-hidden", "grade": true, "points": 3}
### BEGIN HIDDEN TESTS
from autograder.hidden import check

check("03_self_supervised", "update_center", update_center)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "q4-ema-hidden", "grade": true, "points": 3}
### BEGIN HIDDEN TESTS
from autograder.hidden import check

check("03_self_supervised", "ema", ema)
### END HIDDEN TESTS

# %% [markdown]
# **Collapse, measured.** Short runs on the digits, each from the same start:
#
# * SimSiam (encoder, a projector with BatchNorm, a predictor) with and without the stop-gradient. The
#   measure is SimSiam's (Chen and He 2021): the **standard deviation of the normalised embeddings** over the batch,
#   averaged over dimensions — $1/\sqrt{D} \approx 0.125$ for embeddings spread over the sphere, 0 when
#   every image maps to the same point.
# * DINO (student and EMA teacher, $K = 64$ outputs) with centring and sharpening, with centring only
#   ($\tau_t = \tau_s$), and with sharpening only ($c = 0$). The measures are DINO's: the **entropy** of
#   the teacher's output (uniform: $\log K = 4.16$; one unit: 0) and the **KL divergence** between
#   teacher and student (0 when the student has nothing left to learn).

# %%
COLLAPSE_STEPS = elvkit.budget(300, 4)


class Predictor(nn.Module):
    def __init__(self, dim=64, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, z):
        return self.net(z)


def projector(in_dim=128, out_dim=64):
    return nn.Sequential(nn.Linear(in_dim, in_dim), nn.BatchNorm1d(in_dim), nn.ReLU(), nn.Linear(in_dim, out_dim),
                         nn.BatchNorm1d(out_dim))


def run_simsiam(stop_gradient, steps=COLLAPSE_STEPS, batch_size=256, seed=0):
    torch.manual_seed(seed)
    enc, proj, pred = Encoder().to(DEVICE), projector().to(DEVICE), Predictor().to(DEVICE)
    params = [*enc.parameters(), *proj.parameters(), *pred.parameters()]
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-4)
    generator, spread = torch.Generator().manual_seed(seed), []
    for _ in tqdm(range(steps), desc=f"SimSiam, stop-gradient {stop_gradient}", leave=False):
        batch = X_train[torch.randint(len(X_train), (batch_size,), generator=generator).to(DEVICE)]
        v1, v2 = two_views(batch, generator)
        z1, z2 = proj(enc(v1)), proj(enc(v2))
        loss = simsiam_loss(pred(z1), pred(z2), z1, z2, stop_gradient=stop_gradient)
        opt.zero_grad()
        loss.backward()
        opt.step()
        spread.append(float(F.normalize(z1.detach(), dim=1).std(dim=0).mean()))
    return spread


def entropy(p):
    return float(-(p * torch.log(p.clamp_min(1e-12))).sum(-1).mean())


def run_dino(centring, tau_t, tau_s=0.1, steps=COLLAPSE_STEPS, batch_size=256, K=64, seed=0):
    torch.manual_seed(seed)
    student = nn.Sequential(Encoder(), nn.Linear(128, 128), nn.GELU(), nn.Linear(128, K)).to(DEVICE)
    teacher = nn.Sequential(Encoder(), nn.Linear(128, 128), nn.GELU(), nn.Linear(128, K)).to(DEVICE)
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(student.parameters(), lr=1e-3)
    center = torch.zeros(K, device=DEVICE)
    generator, log = torch.Generator().manual_seed(seed), {"entropy": [], "KL": []}
    for _ in tqdm(range(steps), desc=f"DINO, centring {centring}, tau_t {tau_t}", leave=False):
        batch = X_train[torch.randint(len(X_train), (batch_size,), generator=generator).to(DEVICE)]
        v1, v2 = two_views(batch, generator)
        s = torch.stack([student(v1), student(v2)])
        with torch.no_grad():
            t = torch.stack([teacher(v1), teacher(v2)])
        loss = dino_loss(s, t, center if centring else torch.zeros_like(center), tau_s, tau_t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        new = ema(list(teacher.parameters()), list(student.parameters()), momentum=0.99)
        with torch.no_grad():
            for p, n in zip(teacher.parameters(), new):
                p.copy_(n)
            for bt, bs in zip(teacher.buffers(), student.buffers()):
                bt.copy_(bs)
        if centring:
            center = update_center(center, t, momentum=0.9)
        with torch.no_grad():
            p_t = F.softmax((t - (center if centring else 0)) / tau_t, dim=-1)
            p_s = F.softmax(s.detach() / tau_s, dim=-1)
        log["entropy"].append(entropy(p_t))
        log["KL"].append(float((p_t * (torch.log(p_t.clamp_min(1e-12)) - torch.log(p_s.clamp_min(1e-12))))
                               .sum(-1).mean()))
    return log


simsiam_runs = {f"stop-gradient {sg}": run_simsiam(sg) for sg in (True, False)}
dino_runs = {"centring and sharpening (tau_t 0.04)": run_dino(True, 0.04),
             "centring only (tau_t = tau_s = 0.1)": run_dino(True, 0.1),
             "sharpening only (c = 0, tau_t 0.04)": run_dino(False, 0.04)}
fig, axes = plt.subplots(1, 3, figsize=(16, 3.8))
viz.plot_curves(simsiam_runs, ax=axes[0], title="SimSiam: std of normalised z", ylabel="std over the batch")
axes[0].axhline(1 / math.sqrt(64), color="gray", ls=":", label="1/sqrt(D): spread over the sphere")
axes[0].legend(fontsize=8)
viz.plot_curves({k: v["entropy"] for k, v in dino_runs.items()}, ax=axes[1], title="DINO: teacher entropy",
                ylabel="nats")
axes[1].axhline(math.log(64), color="gray", ls=":", label="log K: uniform output")
axes[1].legend(fontsize=8)
viz.plot_curves({k: v["KL"] for k, v in dino_runs.items()}, ax=axes[2], title="DINO: KL(teacher || student)",
                ylabel="nats")
plt.show()
for name, spread in simsiam_runs.items():
    print(f"SimSiam, {name:38s} std of z at the end: {np.mean(spread[-10:]):.4f} (1/sqrt(D) = {1 / 8:.3f})")
for name, log in dino_runs.items():
    print(f"DINO, {name:40s} teacher entropy {np.mean(log['entropy'][-10:]):.3f} (log K = {math.log(64):.2f}), "
          f"KL {np.mean(log['KL'][-10:]):.4f}")

# %% [markdown]
# **Reading the figure.** The numbers printed are the mean over the last 10 steps. Measured at full
# size: without the stop-gradient, SimSiam's spread falls to 0.02 — both branches are pulled together
# and the cheapest way is one point for every image; with it, the spread stays at $1/\sqrt{D} = 0.125$.
# For DINO, centring alone drives the teacher's entropy to $\log K$ (4.158 of 4.159: every output
# uniform; the student copies a uniform target and the KL falls to 0.0001), sharpening alone drives it
# down (0.45: one unit wins for almost every image), and with both the entropy stays in between
# (2.39) and the KL stays well above 0 (0.16): the student still has something to learn. Under `SMOKE`
# the runs are too short to show it.

# %% [markdown]
# **Written question — collapse.** (2 points)
#
# Centring and sharpening push the teacher's output in opposite directions. Using the entropy curves,
# explain which collapse each one prevents and which it causes on its own, and why a KL near 0 is a
# symptom of collapse rather than of success.

# %% [markdown] nbgrader={"grade_id": "written-collapse", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** Centring subtracts the running mean of the teacher's logits, so no unit can be large for every
# image: it prevents the one-unit collapse, but alone it flattens the output towards uniform (entropy towards
# log K). Sharpening (a low teacher temperature) makes the target peaked: it prevents the uniform collapse, but
# alone it lets one unit win everywhere (entropy towards 0). Together they balance, and the entropy stays in
# between. In both collapses the teacher's output no longer depends on the image, so the student can match it
# exactly: KL near 0 means there is nothing left to learn about the images, not that the task was solved.
#
# **Rubric.** 2: both pairings (centring prevents one unit / causes uniform; sharpening the reverse) and the KL
# argument. 1: the pairings without the KL or the reverse. 0: neither.
# ### END SOLUTION

# %% [markdown]
# ## Part 6 — SimCLR end to end (15 points)
#
# The grader judges your `train_simclr` here, and only it: it runs your loop with its own networks (the
# architecture of Part 3), views and NT-Xent in place of yours, so that a mistake in an earlier part costs
# points once, in that part's cells. It trains from its own seed and on its own order of the training digits,
# for a short schedule (100 steps of 256 images, about ten seconds on 2 CPU cores), keeps the trained
# **weights**, rebuilds the networks with them in its own process, and computes the representations there:
# the test digits' for the reference's linear probe with 10 labels per class, and the NT-Xent of fresh views
# of the training digits against an untrained network's. It checks that the loss falls and that the probe
# reaches 0.90 (the raw pixels reach 0.87).

# %% [markdown]
# The same run with *your* networks, views and loss, on your notebook's own seed (a shorter schedule under
# `SMOKE`): where the grader's check passes and this one does not, the earlier parts are where to look.

# %%
E2E_STEPS = elvkit.budget(100, 10)
torch.manual_seed(1)
enc_e2e, head_e2e = Encoder().to(DEVICE), ProjectionHead(128).to(DEVICE)
losses_e2e = np.array(train_simclr(enc_e2e, head_e2e, X_train, steps=E2E_STEPS, batch_size=256, tau=0.5, seed=1))
f_train, f_test = features_of(enc_e2e, X_train), features_of(enc_e2e, X_test)
accs = []
for d in range(5):
    idx = torch.as_tensor(digits.few_shot(10, seed=d), device=f_train.device)
    accs.append(float((linear_probe(f_train[idx], y_train[idx], f_test).to(y_test.device) == y_test).float().mean()))
print(f"{E2E_STEPS} steps: loss {losses_e2e[:10].mean():.3f} -> {losses_e2e[-10:].mean():.3f}; "
      f"10-shot linear probe {np.mean(accs):.3f} (raw pixels: {table['raw pixels (64)']['linear probe'][0]:.3f}; "
      "the grader asks for at least 0.90 after 100 steps)")

# %% nbgrader={"grade_id": "q5-e2e-simclr", "grade": true, "points": 15}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _simclr_end_to_end(train_images, noise, steps, seed):
    # The grader's own networks, views and loss stand in for Parts 1-3 while your train_simclr runs: this check
    # judges the training loop, and each earlier part is judged in its own cells (its mistakes cost points there).
    import torch.nn.functional as F_g

    notes = {"accumulated": 0, "same_pair": 0}

    class _EncoderG(nn.Module):                     # the architecture of Part 3
        def __init__(self):
            super().__init__()
            width = 32
            sizes, layers = [1, width, 2 * width, 4 * width], []
            for i in range(3):
                layers += [nn.Conv2d(sizes[i], sizes[i + 1], 3, padding=1, stride=1 if i == 0 else 2),
                           nn.BatchNorm2d(sizes[i + 1]), nn.ReLU()]
            self.net, self.out_dim = nn.Sequential(*layers), 4 * width
            first, arrived = self.net[0].weight, {}        # what the loop does to .grad: for the feedback's wording
            first.register_hook(lambda g: arrived.update(g=g.detach().clone()))
            first.register_post_accumulate_grad_hook(
                lambda p: notes.update(accumulated=notes["accumulated"] + int(not torch.equal(p.grad, arrived["g"]))))

        def forward(self, x):
            return self.net(x).mean(dim=(2, 3))

    def _views_g(batch_g, generator, config=None):
        batch_g = torch.as_tensor(batch_g)
        if not isinstance(generator, torch.Generator):
            generator = torch.Generator().manual_seed(int(generator))

        def one():
            B, C, H, W = batch_g.shape
            u = torch.rand(7, B, generator=generator).to(batch_g.device, batch_g.dtype)
            scale, ratio = 0.3 + 0.7 * u[0], torch.exp((2 * u[1] - 1) * math.log(4 / 3))
            w, h = (torch.sqrt(scale * ratio)).clamp(max=1), (torch.sqrt(scale / ratio)).clamp(max=1)
            theta = torch.zeros(B, 2, 3, dtype=batch_g.dtype, device=batch_g.device)
            theta[:, 0, 0], theta[:, 1, 1] = w, h
            theta[:, 0, 2], theta[:, 1, 2] = (2 * u[2] - 1) * (1 - w), (2 * u[3] - 1) * (1 - h)
            grid = F_g.affine_grid(theta, [B, C, H, W], align_corners=False)
            out = F_g.grid_sample(batch_g, grid, padding_mode="border", align_corners=False)
            mean = out.mean(dim=(1, 2, 3), keepdim=True)
            out = ((out - mean) * (0.6 + 0.8 * u[4]).view(-1, 1, 1, 1) + mean + (0.8 * u[5] - 0.4).view(-1, 1, 1, 1))
            sigma = torch.where(u[6] < 0.5, 0.1 + 0.9 * u[6] * 2, torch.full_like(u[6], 1e-3)).view(-1, 1)
            offsets = torch.arange(-2.0, 3.0, device=batch_g.device, dtype=batch_g.dtype)
            taps = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
            taps = (taps / taps.sum(1, keepdim=True)).repeat_interleave(C, 0)
            out = F_g.pad(out.clamp(0, 1).reshape(1, B * C, H, W), (2, 2, 2, 2), mode="reflect")
            out = F_g.conv2d(F_g.conv2d(out, taps.view(B * C, 1, 1, 5), groups=B * C), taps.view(B * C, 1, 5, 1),
                             groups=B * C).reshape(B, C, H, W)
            return (out + 0.05 * torch.randn(out.shape, generator=generator).to(out.device, out.dtype)).clamp(0, 1)

        return one(), one()

    def _loss_g(z1, z2, tau=0.5):
        notes["same_pair"] += int(z1.shape == z2.shape and torch.equal(z1, z2))
        z = F_g.normalize(torch.cat([z1, z2]), dim=1)
        n = len(z1)
        logits = (z @ z.T / tau).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
        return F_g.cross_entropy(logits, (torch.arange(2 * n, device=z.device) + n) % (2 * n))

    saved = {name: globals()[name] for name in ("two_views", "nt_xent") if name in globals()}
    globals().update(two_views=_views_g, nt_xent=_loss_g)
    try:
        torch.random.manual_seed(int(seed))
        encoder_g = _EncoderG().to(train_images.device)
        head_g = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64)).to(train_images.device)
        start_g = encoder_g.net[0].weight.detach().clone()
        losses_g = train_simclr(encoder_g, head_g, train_images, steps=int(steps), batch_size=256, tau=0.5,
                                seed=int(seed), progress=False)
    finally:
        globals().update(saved)
    encoder_g.eval(), head_g.eval()
    with torch.no_grad():
        h_g, n_g = encoder_g(train_images[:64]), encoder_g(noise)
        return (torch.as_tensor(losses_g), dict(encoder_g.state_dict()), dict(head_g.state_dict()), h_g,
                head_g(h_g), n_g, torch.tensor([notes["accumulated"], notes["same_pair"],
                                                   int(torch.equal(start_g, encoder_g.net[0].weight))]))


check("03_self_supervised", "e2e_simclr", _simclr_end_to_end)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 7 — What a ViT trained with DINO looks at (not graded; a written question)
#
# The lecture's last slides ("Visualizing Attention") show the [CLS] token's attention in the last
# layer of a ViT trained with DINO: without a label, different **heads** attend to different objects or
# parts, and the attention outlines them. We reproduce it at the course's scale.
#
# * **The model** — `elvkit.models.course_vit()`: a small ViT (64 × 64 images cut into 8 × 8 patches,
#   so an 8 × 8 grid of 64 patch tokens plus [CLS]; width 96, 4 blocks, **3 heads**), trained by the
#   course with DINO — the loss, centring and EMA teacher you wrote in Part 5, plus DINO's
#   **multi-crop**: the student also sees small local crops and must match the teacher's view of the
#   whole scene (local-to-global correspondence; on photographs, DINO's ablations credit it with better
#   features, not here with objects in the attention maps). The course's training
#   script is deterministic given its seed; it is not in your copy of the course, because it holds the
#   Part 5 answers. The checkpoint's sha256, recipe and scores are recorded beside it in elvkit
#   (`elvkit/models/weights/vit_tiny_dino.json`), and `course_vit()` checks the file against them.
# * **The data** — `elvkit.data.make_object_scenes`: 2–6 textured objects (ellipses, rectangles,
#   triangles, rings) that **share their colours** with each other and with the background, with exact
#   instance masks. Grouping pixels by colour does not find these objects (measured below).
#
# For one image, `inspect` returns every layer's attention `(heads, 1 + P, 1 + P)`: row 0 is what
# [CLS] attends to; row `1 + r·8 + c` what the patch at grid row `r`, column `c` attends to.

# %%
from elvkit.baselines import kmeans_colours
from elvkit.data import make_object_scenes
from elvkit.metrics import adjusted_rand_index
from elvkit.models import course_vit, vit_tiny

scenes = make_object_scenes(elvkit.budget(256, 16), seed=10_000)      # scenes the ViT never saw
vit = course_vit().to(DEVICE)
torch.manual_seed(0)
untrained = vit_tiny().to(DEVICE).eval()                                 # the same ViT, random weights
print(scenes)


def last_attention(model, images):
    """The last block's attention (B, heads, 1 + P, 1 + P) and the patch grid (h, w)."""
    with torch.no_grad():
        out = model.inspect(torch.as_tensor(images, device=DEVICE))
    return out["attention"][-1], out["grid"]


def cls_maps(model, images):
    """[CLS] -> patch attention of every head of the last block, (B, heads, h, w)."""
    attention, (h, w) = last_attention(model, images)
    return attention[:, :, 0, 1:].reshape(len(attention), -1, h, w)


def query_maps(model, images, rows, cols):
    """Attention of the patch at grid (rows[b], cols[b]) of each image, averaged over the heads, (B, h, w)."""
    attention, (h, w) = last_attention(model, images)
    token = 1 + torch.as_tensor(rows) * w + torch.as_tensor(cols)
    picked = attention[torch.arange(len(attention)), :, token.to(attention.device), 1:]
    return picked.mean(1).reshape(len(attention), h, w)


def head_segments(maps, size):
    """Each pixel's label: the head whose [CLS] attention is largest at its patch (upsampled to pixels)."""
    return F.interpolate(maps, size=size, mode="nearest").argmax(1).cpu().numpy()


show = [0, 1, 2, 3]
images = scenes.images[show]
maps = cls_maps(vit, images).cpu().numpy()
# the query: the patch under the pixel of each scene's largest object nearest to that object's centre
# (a ring's centre is in its hole)
rows, cols = [], []
for i in show:
    ids, counts = np.unique(scenes.masks[i][scenes.masks[i] > 0], return_counts=True)
    ys, xs = np.nonzero(scenes.masks[i] == ids[counts.argmax()])
    k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
    rows.append(int(ys[k]) // vit.patch)
    cols.append(int(xs[k]) // vit.patch)
queries = query_maps(vit, images, rows, cols).cpu().numpy()
vmax = float(max(maps.max(), queries.max()))         # every attention panel on one colour scale
fig, axes = plt.subplots(len(show), 6, figsize=(15.5, 2.6 * len(show)))
for r, i in enumerate(show):
    axes[r, 0].imshow(images[r].transpose(1, 2, 0))
    axes[r, 1].imshow(scenes.masks[i], cmap="tab10", interpolation="nearest")
    for h in range(3):
        shown = axes[r, 2 + h].imshow(maps[r, h], cmap="inferno", vmin=0, vmax=vmax, extent=(0, 64, 64, 0))
    axes[r, 5].imshow(images[r].transpose(1, 2, 0))
    axes[r, 5].imshow(queries[r], cmap="inferno", vmin=0, vmax=vmax, alpha=0.6, extent=(0, 64, 64, 0))
    axes[r, 5].plot((cols[r] + 0.5) * vit.patch, (rows[r] + 0.5) * vit.patch, "c+", ms=14, mew=3)
titles = ["scene", "true objects", "[CLS] head 1", "[CLS] head 2", "[CLS] head 3", "patch at the +\n(heads' mean)"]
for ax, title in zip(axes[0], titles):
    ax.set_title(title)
for ax in axes.ravel():
    ax.set_xticks([]), ax.set_yticks([])
fig.colorbar(shown, ax=axes[:, 2:].ravel().tolist(), shrink=0.6,
             label=f"attention weight (uniform over the {maps.shape[-1] * maps.shape[-2]} patches: "
                   f"{1 / (maps.shape[-1] * maps.shape[-2]):.3f})")
fig.suptitle("last-layer attention of the course's ViT trained with DINO, on scenes it never saw")
plt.show()

size = scenes.images.shape[-2:]
fg_trained = adjusted_rand_index(scenes.masks, head_segments(cls_maps(vit, scenes.images), size))
fg_random = adjusted_rand_index(scenes.masks, head_segments(cls_maps(untrained, scenes.images), size))
fg_colour = adjusted_rand_index(scenes.masks, np.stack([kmeans_colours(im, int(k) + 1)
                                                         for im, k in zip(scenes.images, scenes.num_objects)]))
print(f"FG-ARI over {len(scenes)} new scenes (1 = the objects exactly, 0 = chance):")
print(f"  arg-max over the 3 [CLS] heads, DINO ViT   {fg_trained.mean():.3f}")
print(f"  the same, random-init ViT                  {fg_random.mean():.3f}")
print(f"  k-means on pixel colour (k = objects + 1)  {fg_colour.mean():.3f}")

# %% [markdown]
# **Reading the figure and the numbers.** FG-ARI (the foreground adjusted Rand index) compares two
# groupings of the objects' pixels: 1 when they are the same partition, about 0 for a random one, and it
# does not care which label is which. Each pixel is given the head whose [CLS] attention is largest at its
# patch — with 3 heads and 8 × 8-pixel patches a coarse segmentation at best. In the figure every
# attention panel shares one colour scale (the bar): a row of [CLS] heads is a distribution over the 64
# patches, so a flat panel sits at 1/64 ≈ 0.016 and a bright patch holds several times its share.
#
# Measured on 256 new scenes: the trained ViT's heads reach FG-ARI 0.145, the same ViT with random
# weights 0.099 (its attention is nearly uniform, so its arg-max is noise), and k-means on colour 0.256.
# (Under `SMOKE` 16 scenes are used and the numbers move by a few hundredths.) So this small model has
# learnt something about the scenes' layout, but **less than colour clustering finds** — read the figure
# to see what. The heads' attention sits mostly on the **background**, often along the image's border, and
# is dark where the objects are: the heads separate figure from ground more than one object from another.
# That is what DINO asks for here. The student must match the teacher's output from a crop of the scene,
# and the background's texture is what a random crop most often shares with the whole scene, so the
# [CLS] token learns to summarise it. The query maps are weaker still: a patch of an object attends to
# patches of similar texture, its own object's and others'.
#
# How far this is from the lecture's pictures is itself the lesson. DINO's attention maps come from
# ViT-S/16 trained for 300 epochs of ImageNet on 8–16 GPUs (Caron et al. 2021); ours is a 0.45-million-
# parameter ViT trained for 50 CPU-minutes. Clustering the last layer's keys of this
# model with k-means gives FG-ARI 0.233 (random weights: 0.175) — the features the next assignment's
# MaskCut starts from.
#
# **The lecture's pictures, with DINO's own ViT-S/16.** When an instructor has downloaded DINO's published
# weights once (`python -m elvkit.data download dino`, 83 MB, then `python -m elvkit.data hash` and the
# printed sha256 committed in `data/registry.toml`: a checkpoint is a pickle, read only against a committed
# hash), the cell below draws the same [CLS] attention of its 6 last-layer heads on photographs that ship
# with the course (scikit-image's, and the Motorcycle's left view), normalised as DINO was trained, 224 ×
# 224 in a 14 × 14 grid of patches; the cyan outline keeps the patches holding 60 % of the heads' mean
# attention, as the paper's figures do. There the heads find the astronaut, the cat, the cup, the rocket:
# what 300 ImageNet epochs on photographs teach. Without the weights the cell says so, and the figure above
# is all this notebook can show: a small model on generated scenes, which separates figure from ground more
# than objects.

# %%
from elvkit.data import load_photographs
from elvkit.models import dino_available, dino_vit, imagenet_normalise

if dino_available("vits16"):
    photos = load_photographs(224)
    dino = dino_vit("vits16").to(DEVICE)
    with torch.no_grad():
        out = dino.inspect(imagenet_normalise(torch.as_tensor(photos.images, device=DEVICE)))
    gh, gw = out["grid"]
    dino_maps = out["attention"][-1][:, :, 0, 1:].reshape(len(photos), -1, gh, gw).cpu().numpy()
    viz.show_attention_heads(photos.images, dino_maps, titles=photos.names,
                             suptitle="[CLS] attention of the last layer of DINO's ViT-S/16, 6 heads")
    plt.show()
else:
    print("DINO's ViT-S/16 is not on this machine (or its sha256 is not committed in data/registry.toml): the "
          "figure above, the course's small ViT, stands in. An instructor runs `python -m elvkit.data download "
          "dino` once, then commits the hash `python -m elvkit.data hash` prints.")

# %% [markdown]
# **Written question — attention.** (2 points)
#
# Describe where the three [CLS] heads attend in the figure, and where they do not. Using the FG-ARI
# numbers and what DINO's loss asks of the student (match the teacher's view of the scene from a
# crop), explain why this model's attention outlines the background more than the objects, and name
# one change to the data or the training that should make it attend to objects.

# %% [markdown] nbgrader={"grade_id": "written-attention", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** The heads attend mostly to background patches, often near the border, and are dark on the
# objects; they differ in which part of the background they pick, so their arg-max splits figure from ground
# rather than one object from another (FG-ARI 0.145: above a random ViT's 0.099, below colour k-means' 0.256).
# DINO trains the student to predict the teacher's output for the whole scene from any crop; the background's
# texture covers most of the image, so it is what crops share most often, and summarising it is the cheapest
# way to agree. Changes that make objects matter: backgrounds that vary less (or plain ones) so that the
# objects carry the scene's identity, more and smaller local crops centred on objects, smaller patches (finer
# grid), more heads, or much longer training on more scenes.
#
# **Rubric.** 2: background vs objects described, the argument from what crops share, and one sensible change.
# 1: two of the three. 0: a description of the picture without an argument.
# ### END SOLUTION
