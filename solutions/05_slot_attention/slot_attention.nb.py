# ---
# jupyter:
#   elvkit:
#     title: "Assignment 5: slot attention"
#     questions:
#       q1: The encoder and the position embedding
#       q2: The slot-attention module
#       q3: The decoder and the mixture
#       q4: Foreground adjusted Rand index (FG-ARI)
#       q5: Training
#       written: Written analysis (graded by TAs)
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 5 — Slot attention: learning to find objects, end to end
#
# The lecture asked: *can we learn clustering as an end-to-end operation?* Normalized Cuts (Assignment 4)
# clusters with a fixed rule on fixed features. **Slot attention** (Locatello et al., NeurIPS 2020)
# makes the clustering a differentiable module inside a network: a few **slots** compete for the
# pixels of an image, each slot gathers the features of the pixels it wins, and the network is trained
# only to **reconstruct the image from its slots**. No label says what an object is; if the slots end up
# holding one object each, it is because that is the cheapest way to reconstruct.
#
# In this assignment you will
#
# 1. build the **encoder**: a small CNN, the paper's **soft position embedding**, and the features
#    flattened to $x \in \mathbb{R}^{N \times D}$;
# 2. build the **slot-attention module** exactly as on the slides — with the paper's two additions, the
#    weighted mean over the inputs and the residual MLP — and check that it treats slots as a *set*;
# 3. build the **spatial-broadcast decoder** and the **mixture** that turns each slot into an RGB image
#    and a mask;
# 4. write the **FG-ARI** that the object-discovery papers report, vectorised over a batch;
# 5. write the **training step** (learning-rate warm-up and decay, gradient clipping, and the implicit
#    differentiation trick of Chang et al. 2022) and fine-tune the course's checkpoint;
# 6. look inside: attention per iteration, slots swapped between scenes, more or fewer slots than in
#    training, the failure cases — and measure how much of what slot attention finds is just colour.
#
# **How this notebook works.** Fill in every cell that says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line) and answer the **written questions** (2 points each, 8 in all)
# in the text cell under each that says `YOUR ANSWER HERE`: a few sentences about the figure or table
# above them, graded by the teaching assistants. The 100 points of the code are graded automatically:
# after each function a cell of *visible tests* tells you what came, what was expected and the likely
# mistake; when your notebook is graded, *hidden tests* load the grader's own weights into your modules
# and compare their outputs with the reference solution's on new inputs. Restart the kernel and run all
# cells before you submit.
#
# Conventions used throughout:
#
# * a batch of images is a tensor `(B, 3, H, W)`, values in $[0, 1]$; a batch of masks `(B, H, W)`;
# * the encoder's output for one image is $x \in \mathbb{R}^{N \times D}$, one row per position of the
#   feature map ($N = H W$ here: the encoder keeps the resolution); a batch of them `(B, N, D)`;
# * $M$ slots of $D$ numbers each, $m \in \mathbb{R}^{M \times D}$; a batch `(B, M, D)`;
# * attention `(B, M, N)`: entry $[b, j, i]$ is $a_{ij}$, how much input $i$ goes to slot $j$;
# * the **names of the modules' parts are fixed** (they are given in each part): the course's trained
#   checkpoint loads into your model by those names, and so do the grader's test weights.
#
# Everything runs on `DEVICE` (the GPU when there is one). Training slot attention to the published
# numbers takes hundreds of thousands of steps on a GPU; here we fine-tune the course's checkpoint for a
# few hundred steps on the CPU. When the notebook is graded (`SMOKE` is True) every loop is shorter; the
# numbers quoted in the text are from the full-size run on a 2-core laptop.
#
# **Time.** Plan for 7–10 hours for the same 100 code points as every assignment (self-supervised learning
# took students 10–14, Normalized Cuts 6–9); the full-size notebook runs in about 30 minutes on a busy
# 2-core machine.

# %% nbgrader={"grade_id": "imports", "locked": true}
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from tqdm.auto import tqdm

import elvkit
from elvkit.baselines import kmeans_colours
from elvkit.data import make_object_scenes
from elvkit.models import course_state
from elvkit.testing import assert_close, assert_shape, assert_true

elvkit.seed_everything(0)
SMOKE = elvkit.smoke()        # True under the autograder: shorter loops, same tests
DEVICE = elvkit.device()
torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
# full float32 on GPUs too (no TensorFloat-32 in convolutions and products): the hidden tests compare your
# modules' outputs with the reference's computed on the CPU
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
#: the scenes' side, the slots of the course's model, and how many new scenes the evaluations use
SIZE, NUM_SLOTS = 32, 5
EVAL_SCENES = elvkit.budget(256, 32)
print(f"elvkit {elvkit.__version__}: device {DEVICE}, smoke mode {SMOKE}")

# %% [markdown]
# ## The data
#
# `make_object_scenes` draws scenes of 2–4 objects (ellipses, rectangles, triangles, rings; later ones
# occlude earlier ones) with **exact instance masks**: 0 is the background, 1, 2, … the objects. It has
# two variants, and this notebook compares them:
#
# * **palette**: flat colours from a small shared palette on a dark ground, like DeepMind's
#   Multi-dSprites and Tetrominoes, where slot attention was first shown to work;
# * **colour-proof**: textured objects whose colours are shared with each other and with the
#   background, so that the colour of a pixel does not say which object it belongs to.
#
# The course's model was trained on palette scenes of 32 × 32 pixels with 5 slots (up to 4 objects and
# the ground). The scenes below were never seen in training (their seed is not the training seed).

# %%
palette = make_object_scenes(EVAL_SCENES, seed=10_000, size=SIZE, objects=(2, 4), variant="palette")
textured = make_object_scenes(EVAL_SCENES, seed=10_000, size=SIZE, objects=(2, 4), variant="colour-proof")
fig, axes = plt.subplots(2, 6, figsize=(12, 4.4))
for j in range(3):
    for r, (name, s) in enumerate((("palette", palette), ("colour-proof", textured))):
        axes[r, 2 * j].imshow(s.images[j].transpose(1, 2, 0))
        axes[r, 2 * j].set_title(f"{name} {j}")
        axes[r, 2 * j + 1].imshow(s.masks[j], cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
        axes[r, 2 * j + 1].set_title(f"{s.num_objects[j]} objects + ground")
for ax in axes.flat:
    ax.set_axis_off()
plt.tight_layout()

# %% [markdown]
# ## Part 1 — The encoder and the position embedding (15 points)
#
# Slot attention treats its inputs as a **set**: nothing in it knows where input $i$ came from. A CNN's
# features say *what* is at a position, not *where*; the paper therefore adds a **soft position
# embedding** before flattening: a 4-channel grid holding, at each position, $(x, y, 1 - x, 1 - y)$ with
# $x$ and $y$ running from 0 at the first column (row) to 1 at the last, mapped by a learnt linear layer to
# $D$ channels and **added** to the features. The four channels let a linear map reach each of the four
# borders with a positive weight.
#
# Write `position_grid(h, w)`: a tensor `(h, w, 4)` whose entry `[r, c]` is $(x_c, y_r, 1 - x_c, 1 - y_r)$
# with $x_c = c / (w - 1)$ and $y_r = r / (h - 1)$ (as `torch.linspace(0, 1, n)` spaces them).

# %% nbgrader={"grade_id": "q1-grid", "solution": true}
def position_grid(h, w, device=None):
    """The 4-channel coordinate grid (x, y, 1 - x, 1 - y), each running over [0, 1]: shape (h, w, 4)."""
    ### BEGIN SOLUTION
    ys, xs = torch.meshgrid(torch.linspace(0, 1, h, device=device), torch.linspace(0, 1, w, device=device),
                            indexing="ij")
    return torch.stack([xs, ys, 1 - xs, 1 - ys], dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q1-grid-visible", "grade": true, "points": 2}
g = position_grid(3, 5)
assert_shape(g, (3, 5, 4), name="position_grid(3, 5)", hint="One row of the grid per image row: (h, w, 4).")
assert_close(g[:, :, 0], torch.linspace(0, 1, 5).expand(3, 5), name="channel 0 (x) of position_grid(3, 5)",
             axes=("row", "column"), mistakes={"channels 0 and 1 are swapped: channel 0 is x, the column, and "
                                               "channel 1 is y, the row.": torch.linspace(0, 1, 3)[:, None].expand(3, 5)})
assert_close(g[:, :, 1], torch.linspace(0, 1, 3)[:, None].expand(3, 5), name="channel 1 (y) of position_grid(3, 5)",
             axes=("row", "column"))
assert_close(g[..., 2:], 1 - g[..., :2], name="channels 2 and 3 (1 - x, 1 - y)", axes=("row", "column", "channel"))
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q1-grid-hidden", "grade": true, "points": 3}
### BEGIN HIDDEN TESTS
from autograder.hidden import check

check("05_slot_attention", "position_grid", position_grid)
### END HIDDEN TESTS

# %% [markdown]
# Now the encoder, with these names (the checkpoint's):
#
# * `SoftPositionEmbed(dim)`: a `nn.Linear(4, dim)` called `proj`; `forward(x)` takes features
#   `(B, h, w, dim)` (channels last) and returns `x + proj(position_grid(h, w))`;
# * `Encoder(dim=64, channels=32)`:
#   * `cnn`: four 3 × 3 convolutions with padding 1, each followed by a ReLU: 3 → `channels` →
#     `channels` → `channels` → `dim` (stride 1: the feature map keeps the image's size);
#   * `pos`: a `SoftPositionEmbed(dim)`;
#   * `mlp`: `LayerNorm(dim)`, `Linear(dim, dim)`, ReLU, `Linear(dim, dim)`, as one `nn.Sequential`;
#   * `forward(images)` for images `(B, 3, H, W)`: the CNN, then channels last `(B, H, W, dim)`, the
#     position embedding, the MLP, and the positions flattened row by row: `(B, N = H·W, dim)`.
#
# Build the submodules in the order listed (the random initialisation of a module depends on it, and
# the checks below compare with the course's initialisation).

# %% nbgrader={"grade_id": "q1-encoder", "solution": true}
class SoftPositionEmbed(nn.Module):
    """Adds a learnt linear map of the coordinate grid to channels-last features (B, h, w, dim)."""

    def __init__(self, dim):
        super().__init__()
        ### BEGIN SOLUTION
        self.proj = nn.Linear(4, dim)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return x + self.proj(position_grid(x.shape[1], x.shape[2], x.device))
        ### END SOLUTION


class Encoder(nn.Module):
    """CNN -> soft position embedding -> MLP -> flattened: (B, 3, H, W) images to (B, H*W, dim) inputs."""

    def __init__(self, dim=64, channels=32):
        super().__init__()
        ### BEGIN SOLUTION
        self.cnn = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, dim, 3, padding=1), nn.ReLU())
        self.pos = SoftPositionEmbed(dim)
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        ### END SOLUTION

    def forward(self, images):
        ### BEGIN SOLUTION
        x = self.cnn(images).permute(0, 2, 3, 1)
        return self.mlp(self.pos(x)).flatten(1, 2)
        ### END SOLUTION


# %% [markdown]
# Visible tests (not graded here: the hidden test below loads the grader's weights into your encoder).

# %%
torch.manual_seed(0)
enc = Encoder(dim=16, channels=8)
x_demo = torch.rand(2, 3, 8, 12)
out = enc(x_demo)
assert_shape(out, (2, 96, 16), name="Encoder(16, 8) on images (2, 3, 8, 12)",
             hint="Keep the resolution (padding 1, stride 1) and flatten the H x W positions: N = 8 * 12 = 96.")
names = sorted(k for k in enc.state_dict())
assert_true("pos.proj.weight" in names and "cnn.0.weight" in names and "mlp.0.weight" in names,
            f"The encoder's parameters are named {names[:6]}...; expected cnn.*, pos.proj.*, mlp.* (the checkpoint "
            "loads by these names).")
pe = SoftPositionEmbed(16)
with torch.no_grad():
    pe.proj.weight.zero_(), pe.proj.bias.zero_()
    pe.proj.weight[0, 0] = 1.0                     # channel 0 of the output gets x
feat = torch.zeros(1, 8, 12, 16)
assert_close(pe(feat)[0, :, :, 0], torch.linspace(0, 1, 12).expand(8, 12), name="a position embedding whose channel "
             "0 copies x", axes=("row", "column"), hint="Add proj(position_grid(h, w)) to the features (channels last).")
# the position embedding must be used: where the CNN's features are the same everywhere, the inputs must still differ


class _SameEverywhere(nn.Module):
    def forward(self, images):
        return images.new_zeros(images.shape[0], 16, images.shape[2], images.shape[3])


enc.cnn = _SameEverywhere()
with torch.no_grad():
    same = enc(x_demo)
assert_true(float(same.std(dim=1).mean()) > 1e-4, "Where the CNN's features are identical at every position the "
            "encoder's outputs are identical too: the position embedding is not added (before the MLP), so slot "
            "attention cannot tell where a pixel is.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q1-encoder-hidden", "grade": true, "points": 10}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _encode(images, state, dim, channels):
    module = Encoder(int(dim), int(channels)).to(images.device)
    module.load_state_dict(state)
    with torch.no_grad():
        return module(images)


check("05_slot_attention", "encoder", _encode)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 2 — The slot-attention module (30 points)
#
# The slides give one iteration $t = 1, \dots, T$ of the module, for inputs $x \in \mathbb{R}^{N \times D}$
# and slots $m_{t-1} \in \mathbb{R}^{M \times D}$:
#
# 1. normalise the slots, $\tilde m_{t-1} = \mathrm{LN}(m_{t-1})$ (the inputs are normalised once,
#    before the first iteration, with their own LayerNorm);
# 2. **attention over the slots**: $a_{t,i,j} = \dfrac{\exp\big(\tfrac{1}{\sqrt D}\, k(x_i) \cdot
#    q(\tilde m_j)\big)}{\sum_{j'} \exp\big(\tfrac{1}{\sqrt D}\, k(x_i) \cdot q(\tilde m_{j'})\big)}$ — a
#    softmax over $j$, the slots, for each input $i$ (the slide writes the ratio without the
#    exponentials; the paper, and any softmax, has them). This is where slots **compete**: an input given
#    to one slot is taken from the others. A transformer's attention normalises over the inputs instead,
#    and then every slot may take every pixel;
# 3. **updates** $u_{t,j} = \sum_i a_{t,i,j}\, v(x_i)$;
# 4. **write into the slots** with a GRU whose hidden state is the slot, and a residual MLP.
#
# $k$, $q$, $v$ are linear maps without bias. The paper departs from the slide's simplified form in two
# places, and we follow the paper:
#
# * the update is a **weighted mean**, not a sum: $u_{t,j} = \sum_i w_{ij} v(x_i)$ with
#   $w_{ij} = \dfrac{a_{t,i,j} + \epsilon}{\sum_{i'} (a_{t,i',j} + \epsilon)}$, $\epsilon = 10^{-8}$
#   (the $\epsilon$ keeps a slot that wins nothing from dividing by 0). Part 6 measures why;
# * the MLP acts on the *updated* slot, normalised: $m'_t = \mathrm{GRU}(u_t, m_{t-1})$, then
#   $m_t = m'_t + \mathrm{MLP}(\mathrm{LN}(m'_t))$. (The slide writes $\mathrm{MLP}(\tilde m_{t-1})$.)
#
# Build `SlotAttention(dim, iterations=3, hidden=128, eps=1e-8)` with the parts `norm_inputs`,
# `norm_slots`, `norm_mlp` (three `LayerNorm(dim)`), `q`, `k`, `v` (`Linear(dim, dim, bias=False)`, built
# in that order), `gru` (`nn.GRUCell(dim, dim)`: called as `gru(input, hidden)`, so
# `gru(updates, slots)`, on `(B·M, D)` rows) and `mlp` (`Linear(dim, hidden)`, ReLU,
# `Linear(hidden, dim)`). `forward(inputs, slots, detach_last=True)` runs `iterations` iterations from
# the slots it is given and returns the final slots `(B, M, D)` and a list of every iteration's attention
# `(B, M, N)`, normalised over the slots (dimension 1). `detach_last` is Part 5's trick: when it is True,
# detach the slots (`slots.detach()`) just before the last iteration. Passing the initial slots in, rather
# than drawing them inside, keeps the module deterministic (and testable).

# %% nbgrader={"grade_id": "q2-module", "solution": true}
class SlotAttention(nn.Module):
    """Slot attention: forward(inputs (B, N, D), slots (B, M, D)) -> (slots (B, M, D), [attention (B, M, N)] * T)."""

    def __init__(self, dim=64, iterations=3, hidden=128, eps=1e-8):
        super().__init__()
        ### BEGIN SOLUTION
        self.dim, self.iterations, self.eps = dim, iterations, eps
        self.norm_inputs, self.norm_slots, self.norm_mlp = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.k, self.v = (nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.gru = nn.GRUCell(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        ### END SOLUTION

    def forward(self, inputs, slots, detach_last=True):
        ### BEGIN SOLUTION
        x = self.norm_inputs(inputs)
        k, v = self.k(x), self.v(x)
        b, n_slots, d = slots.shape
        attentions = []
        for t in range(self.iterations):
            if detach_last and t == self.iterations - 1:
                slots = slots.detach()                                           # implicit differentiation
            q = self.q(self.norm_slots(slots))
            logits = torch.einsum("bkd,bnd->bkn", q, k) / math.sqrt(d)
            attn = logits.softmax(dim=1)                                         # over the slots
            weights = (attn + self.eps) / (attn + self.eps).sum(dim=2, keepdim=True)   # weighted mean over inputs
            updates = torch.einsum("bkn,bnd->bkd", weights, v)
            slots = self.gru(updates.reshape(-1, d), slots.reshape(-1, d)).reshape(b, n_slots, d)
            slots = slots + self.mlp(self.norm_mlp(slots))
            attentions.append(attn)
        return slots, attentions
        ### END SOLUTION


# %% [markdown]
# Visible tests (not graded here: the hidden tests below load the grader's weights into your module).

# %%
torch.manual_seed(1)
sa = SlotAttention(dim=16, iterations=3)
inputs_demo, slots_demo = torch.randn(2, 30, 16), torch.randn(2, 4, 16)
out_slots, attns = sa(inputs_demo, slots_demo)
assert_shape(out_slots, (2, 4, 16), name="the slots SlotAttention(16) returns for 4 slots")
assert_true(isinstance(attns, (list, tuple)) and len(attns) == 3,
            "forward should return a list with the attention of each of the 3 iterations.")
assert_shape(attns[0], (2, 4, 30), name="the attention of the first iteration", hint="(B, M slots, N inputs).")
assert_close(attns[-1].sum(dim=1), torch.ones(2, 30), name="the attention summed over the slots",
             axes=("image", "input i"), hint="The softmax runs over the slots (dimension 1 of (B, M, N)): each "
             "input is shared out among the slots. A softmax over the inputs lets every slot take every pixel.")
perm = torch.tensor([2, 0, 3, 1])
out_p, attn_p = sa(inputs_demo, slots_demo[:, perm])
assert_close(out_p, out_slots[:, perm], name="the slots when the initial slots come in another order",
             axes=("image", "slot", "channel"),
             hint="Slot attention treats its slots as a set: nothing may depend on a slot's index.")
one = SlotAttention(dim=16, iterations=1)
one.load_state_dict({k: v for k, v in sa.state_dict().items()})
s1, a1 = one(inputs_demo, slots_demo)
keys_, queries_ = sa.k(sa.norm_inputs(inputs_demo)), sa.q(sa.norm_slots(slots_demo))
dots = queries_ @ keys_.transpose(1, 2)                            # (B, M, N): q(m_j) . k(x_i)
assert_close(a1[0], torch.softmax(dots / math.sqrt(16), dim=1), name="the first iteration's attention",
             axes=("image", "slot j", "input i"),
             mistakes={"the dot products are not divided by sqrt(D).": torch.softmax(dots, dim=1),
                       "the slots are not normalised (norm_slots) before q.": torch.softmax(
                           sa.q(slots_demo) @ keys_.transpose(1, 2) / math.sqrt(16), dim=1),
                       "the softmax runs over the inputs (dimension 2), not over the slots.": torch.softmax(
                           dots / math.sqrt(16), dim=2)},
             hint="softmax over the slots of k(LN(x_i)) . q(LN(m_j)) / sqrt(D).")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q2-module-hidden", "grade": true, "points": 20}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _slot_attention(inputs, slots, state, iterations):
    module = SlotAttention(inputs.shape[-1], int(iterations)).to(inputs.device)
    module.load_state_dict(state)
    with torch.no_grad():
        out, attentions = module(inputs, slots)
    return out, torch.stack(list(attentions))


check("05_slot_attention", "slot_attention", _slot_attention)
### END HIDDEN TESTS

# %% [markdown]
# **Which way does the gradient go?** With `detach_last=True` the slots are cut from the graph just
# before the last iteration: the loss still reaches every parameter of the module through that last
# iteration, and the inputs through $k$ and $v$, but **not** the initial slots. The visible test below
# checks it, and the hidden test compares your gradients with and without the detach.

# %%
inputs_g = inputs_demo.clone().requires_grad_(True)
slots_g = slots_demo.clone().requires_grad_(True)
out_g, _ = sa(inputs_g, slots_g, detach_last=True)
out_g.square().sum().backward()
assert_true(slots_g.grad is None or float(slots_g.grad.abs().max()) == 0.0,
            "With detach_last=True the initial slots got a gradient: detach the slots just before the last "
            "iteration (slots = slots.detach()), not elsewhere.")
assert_true(inputs_g.grad is not None and float(inputs_g.grad.abs().max()) > 0,
            "With detach_last=True the inputs got no gradient: only the slots are detached, k(x) and v(x) stay in "
            "the graph.")
slots_g2 = slots_demo.clone().requires_grad_(True)
sa(inputs_demo, slots_g2, detach_last=False)[0].square().sum().backward()
assert_true(slots_g2.grad is not None and float(slots_g2.grad.abs().max()) > 0,
            "With detach_last=False the initial slots got no gradient: detach only when detach_last is True.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q2-detach-hidden", "grade": true, "points": 10}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _slot_gradients(inputs, slots, state, direction, detach_last):
    module = SlotAttention(inputs.shape[-1], 3).to(inputs.device)
    module.load_state_dict(state)
    x, s = inputs.clone().requires_grad_(True), slots.clone().requires_grad_(True)
    out, _ = module(x, s, detach_last=bool(detach_last))
    (out * direction).sum().backward()
    zero = torch.zeros_like(s)
    return x.grad, zero if s.grad is None else s.grad, module.q.weight.grad, out.detach()


check("05_slot_attention", "slot_gradients", _slot_gradients)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 3 — The decoder and the mixture (20 points)
#
# The decoder turns **each slot on its own** into an image and a mask. The **spatial broadcast**
# (Watters et al. 2019) copies slot $j$ to every position of a small grid — here `size / 4` × `size / 4`
# — adds a soft position embedding (the only thing that differs between positions), and upsamples with
# transposed convolutions to four channels per pixel: three of colour, one **alpha logit**. The alphas of
# one pixel are normalised **over the slots** with a softmax, so that the slots share every pixel out
# between them, and the reconstruction is the alpha-weighted sum of the slots' colours:
#
# $$\hat{\mathbf x}_p = \sum_{j=1}^{M} \alpha_{jp}\, \mathbf c_{jp}, \qquad
#   \alpha_{jp} = \frac{\exp \ell_{jp}}{\sum_{j'} \exp \ell_{j'p}}.$$
#
# The alpha of slot $j$ over the pixels is its **mask**: where the slot says its object is.
#
# Write `mix(rgb, alpha_logits)`: for `rgb` `(B, M, 3, H, W)` and `alpha_logits` `(B, M, 1, H, W)`,
# return the reconstruction `(B, 3, H, W)` and the masks `(B, M, H, W)`.

# %% nbgrader={"grade_id": "q3-mix", "solution": true}
def mix(rgb, alpha_logits):
    """Alpha-composite the slots: (reconstruction (B, 3, H, W), masks (B, M, H, W)), alphas normalised over slots."""
    ### BEGIN SOLUTION
    alpha = alpha_logits.softmax(dim=1)
    return (rgb * alpha).sum(dim=1), alpha[:, :, 0]
    ### END SOLUTION


# %% nbgrader={"grade_id": "q3-mix-visible", "grade": true, "points": 3}
rgb_demo = torch.zeros(1, 2, 3, 2, 2)
rgb_demo[:, 0, 0] = 1.0                                      # slot 0 is red, slot 1 green
rgb_demo[:, 1, 1] = 1.0
logits_demo = torch.tensor([[[[[5.0, -5.0], [0.0, 0.0]]], [[[-5.0, 5.0], [0.0, 0.0]]]]])
recon_demo, masks_demo = mix(rgb_demo, logits_demo)
assert_shape(recon_demo, (1, 3, 2, 2), name="the reconstruction")
assert_shape(masks_demo, (1, 2, 2, 2), name="the masks", hint="(B, M, H, W): drop the alpha channel's axis.")
assert_close(masks_demo.sum(dim=1), torch.ones(1, 2, 2), name="the masks summed over the slots",
             axes=("image", "row", "column"),
             hint="Normalise the alphas over the slots (dimension 1), not over the pixels: every pixel is shared "
                  "out among the slots.")
assert_close(recon_demo[0, 0], torch.tensor([[1 / (1 + math.exp(-10)), 1 / (1 + math.exp(10))], [0.5, 0.5]]),
             name="the red channel of the reconstruction", axes=("row", "column"))
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q3-mix-hidden", "grade": true, "points": 4}
### BEGIN HIDDEN TESTS
from autograder.hidden import check

check("05_slot_attention", "mix", mix)
### END HIDDEN TESTS

# %% [markdown]
# Now the decoder and the whole model, with these names:
#
# * `Decoder(dim=64, channels=32, size=32)`: `pos`, a `SoftPositionEmbed(dim)` (built first), and `cnn`:
#   `ConvTranspose2d(dim, channels, 3, stride=2, padding=1, output_padding=1)`, ReLU, the same from
#   `channels` to `channels`, ReLU, `Conv2d(channels, channels, 3, padding=1)`, ReLU,
#   `Conv2d(channels, 4, 3, padding=1)`. `forward(slots)` for slots `(B, M, D)` broadcasts each slot to a
#   `(size/4, size/4)` grid (channels last), adds the position embedding, runs the CNN (channels first)
#   and returns `rgb` `(B, M, 3, size, size)` and `alpha_logits` `(B, M, 1, size, size)` — channels 0–2
#   and channel 3 of the CNN's output.
# * `SlotAutoencoder(size=32, num_slots=5, dim=64, channels=32, iterations=3)`: `encoder`
#   (`Encoder(dim, channels)`), then the parameters `slots_mu` and `slots_log_sigma` (each
#   `nn.Parameter` of shape `(1, 1, dim)`, initialised with `nn.init.xavier_uniform_`, mu first),
#   `slot_attention` (`SlotAttention(dim, iterations)`) and `decoder` (`Decoder(dim, channels, size)`),
#   built in that order, with the attributes `size`, `num_slots` and `dim`.
#   * `initial_slots(batch, generator=None, device=None, num_slots=None)`: slots drawn from the learnt
#     Gaussian, $m_0 = \mu + \sigma \odot \varepsilon$ with $\sigma = \exp(\log \sigma)$ and
#     $\varepsilon$ = `torch.randn(batch, num_slots, dim, generator=generator)` (drawn on the CPU, then
#     moved to `device`, by default the model's; `num_slots` defaults to the model's). Every slot gets its
#     own noise: identical initial slots receive identical attention and stay identical forever.
#   * `forward(images, slots, detach_last=True)`: encode, slot attention, decode, mix; returns the
#     reconstruction, the masks `(B, M, H, W)` and the list of attentions.

# %% nbgrader={"grade_id": "q3-model", "solution": true}
class Decoder(nn.Module):
    """The spatial-broadcast decoder: slots (B, M, D) -> (rgb (B, M, 3, S, S), alpha logits (B, M, 1, S, S))."""

    def __init__(self, dim=64, channels=32, size=32):
        super().__init__()
        ### BEGIN SOLUTION
        self.size = size
        self.pos = SoftPositionEmbed(dim)
        self.cnn = nn.Sequential(
            nn.ConvTranspose2d(dim, channels, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(channels, channels, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 4, 3, padding=1))
        ### END SOLUTION

    def forward(self, slots):
        ### BEGIN SOLUTION
        b, m, d = slots.shape
        s = self.size // 4
        grid = slots.reshape(-1, 1, 1, d).expand(-1, s, s, -1)                 # spatial broadcast
        out = self.cnn(self.pos(grid).permute(0, 3, 1, 2)).reshape(b, m, 4, self.size, self.size)
        return out[:, :, :3], out[:, :, 3:]
        ### END SOLUTION


class SlotAutoencoder(nn.Module):
    """Encoder -> slot attention -> spatial-broadcast decoder -> mixture, for size x size RGB images."""

    def __init__(self, size=32, num_slots=5, dim=64, channels=32, iterations=3):
        super().__init__()
        ### BEGIN SOLUTION
        self.size, self.num_slots, self.dim = size, num_slots, dim
        self.encoder = Encoder(dim, channels)
        self.slots_mu = nn.Parameter(torch.zeros(1, 1, dim))
        self.slots_log_sigma = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.xavier_uniform_(self.slots_mu)
        nn.init.xavier_uniform_(self.slots_log_sigma)
        self.slot_attention = SlotAttention(dim, iterations)
        self.decoder = Decoder(dim, channels, size)
        ### END SOLUTION

    def initial_slots(self, batch, generator=None, device=None, num_slots=None):
        """mu + sigma * noise, the noise (batch, num_slots, dim) drawn from ``generator`` on the CPU."""
        ### BEGIN SOLUTION
        noise = torch.randn(batch, num_slots or self.num_slots, self.dim, generator=generator)
        return self.slots_mu + self.slots_log_sigma.exp() * noise.to(device or self.slots_mu.device)
        ### END SOLUTION

    def forward(self, images, slots, detach_last=True):
        ### BEGIN SOLUTION
        slots, attentions = self.slot_attention(self.encoder(images), slots, detach_last)
        recon, masks = mix(*self.decoder(slots))
        return recon, masks, attentions
        ### END SOLUTION


# %% [markdown]
# Visible tests (not graded here: the hidden tests below load the grader's weights into your model).

# %%
torch.manual_seed(0)
model_demo = SlotAutoencoder(size=16, num_slots=3, dim=16, channels=8)
images_demo = torch.rand(2, 3, 16, 16)
s0 = model_demo.initial_slots(2, torch.Generator().manual_seed(0))
assert_shape(s0, (2, 3, 16), name="initial_slots(2)")
assert_true(float((s0[:, 0] - s0[:, 1]).abs().max()) > 1e-3,
            "Two initial slots are identical: draw the noise with shape (batch, num_slots, dim), one draw per slot. "
            "Identical slots get identical attention and never separate.")
assert_close(model_demo.initial_slots(2, torch.Generator().manual_seed(0)), s0, name="initial_slots drawn again "
             "with the same seed", hint="Draw the noise from the generator passed in.")
recon_m, masks_m, attn_m = model_demo(images_demo, s0)
assert_shape(recon_m, (2, 3, 16, 16), name="the reconstruction of SlotAutoencoder(16, 3)")
assert_shape(masks_m, (2, 3, 16, 16), name="its masks")
keys = set(model_demo.state_dict())
assert_true({"encoder.pos.proj.weight", "slots_mu", "slot_attention.gru.weight_ih", "decoder.pos.proj.weight",
             "decoder.cnn.0.weight"} <= keys, f"The model's parameters should include encoder.*, slots_mu, "
            f"slot_attention.*, decoder.pos.*, decoder.cnn.*; found {sorted(keys)[:8]}...")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q3-model-hidden", "grade": true, "points": 9}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _autoencoder(images, slots, state, num_slots):
    model = SlotAutoencoder(images.shape[-1], int(num_slots), slots.shape[-1], 8).to(images.device)
    model.load_state_dict(state)
    with torch.no_grad():
        recon, masks, _ = model(images, slots)
    return recon, masks


check("05_slot_attention", "autoencoder", _autoencoder)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "q3-slots-hidden", "grade": true, "points": 4}
### BEGIN HIDDEN TESTS
from autograder.hidden import check


def _initial_slots(state, batch, num_slots, seed):
    model = SlotAutoencoder(16, 3, state["slots_mu"].shape[-1], 8)
    model.load_state_dict(state)
    with torch.no_grad():
        return model.initial_slots(int(batch), torch.Generator().manual_seed(int(seed)), num_slots=int(num_slots))


check("05_slot_attention", "initial_slots", _initial_slots)
### END HIDDEN TESTS

# %% [markdown]
# **The course's checkpoint.** `course_state("slots_palette")` returns the weights the course trained
# (the recipe and the scores are in the record beside it; the file is checked against its sha256) —
# they load into your `SlotAutoencoder` by name. Below: three scenes it never saw, their reconstruction,
# and each slot's mask. The printed reconstruction error is the mean squared difference per pixel and
# channel; beside it, the error of the laziest reconstruction, each scene painted in its mean colour (0.056
# at full size, against 0.016 for the model): the model beats it by drawing the objects, which take a small
# part of each image — but look at how it draws them: every object comes out as a blurred disc of about
# the right colour and place, whatever its shape (triangles and squares included), and overlapping objects
# merge. After 12,000 steps on two CPU cores the slots have found *where* and *what colour*, not yet the
# shapes; the paper trains for 500,000 steps.

# %%
course_weights, record = course_state("slots_palette")
model = SlotAutoencoder(record["size"], record["slots"], record["dim"]).to(DEVICE)
model.load_state_dict(course_weights)
model.eval()
print(f"the course's checkpoint: {record['recipe']['steps']:,} steps of {record['recipe']['batch']} palette scenes "
      f"({record.get('cpu_time', 'time not recorded')}), {record['bytes'] / 1e6:.1f} MB")


def run_model(model, images, seed=0, num_slots=None, detach_last=True):
    """The model on a batch (no gradients), with initial slots drawn from ``seed``."""
    images = torch.as_tensor(images).to(DEVICE)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        slots = model.initial_slots(len(images), gen, DEVICE, num_slots=num_slots)
        recon, masks, attentions = model(images, slots, detach_last)
    return recon.cpu(), masks.cpu(), [a.cpu() for a in attentions]


def show_slots(images, recon, masks, rows=3, title=""):
    """Each scene, its reconstruction, and every slot's mask."""
    m = masks.shape[1]
    fig, axes = plt.subplots(rows, 2 + m, figsize=(1.6 * (2 + m), 1.7 * rows), squeeze=False)
    for r in range(rows):
        axes[r, 0].imshow(np.asarray(images[r]).transpose(1, 2, 0))
        axes[r, 1].imshow(recon[r].clamp(0, 1).permute(1, 2, 0).numpy())
        for j in range(m):
            axes[r, 2 + j].imshow(masks[r, j].numpy(), cmap="gray", vmin=0, vmax=1)
        if r == 0:
            axes[r, 0].set_title("scene"), axes[r, 1].set_title("reconstruction")
            for j in range(m):
                axes[r, 2 + j].set_title(f"slot {j}")
    for ax in axes.flat:
        ax.set_axis_off()
    fig.suptitle(title)
    plt.tight_layout()


recon_p, masks_p, attn_p = run_model(model, palette.images)
show_slots(palette.images, recon_p, masks_p, title="the course's model on new palette scenes")
flat_colour = torch.as_tensor(palette.images).mean(dim=(2, 3), keepdim=True)      # each scene's mean colour
print(f"reconstruction error (mean squared, over {len(palette.images)} new scenes): "
      f"{float(((recon_p - torch.as_tensor(palette.images)) ** 2).mean()):.4f}; painting each scene in its mean "
      f"colour: {float(((flat_colour - torch.as_tensor(palette.images)) ** 2).mean()):.4f}")

# %% [markdown]
# ## Part 4 — Foreground adjusted Rand index (15 points)
#
# How well do the masks find objects? Take each pixel's **arg-max slot** as a predicted segment and
# compare with the true instance masks by the **adjusted Rand index** (Hubert & Arabie 1985): over all
# pairs of pixels, how often the two segmentations agree on "same segment" vs "different segments",
# corrected for chance so that a random labelling scores about 0 and the same partition 1 (segment
# numbers do not matter). The object-discovery papers report it over the **foreground** pixels only
# (**FG-ARI**): the background is often split between slots, and no one asks a method to find it.
#
# With the contingency table $n_{rs}$ = the number of foreground pixels with true label $r$ and predicted
# label $s$, its row sums $a_r$, column sums $b_s$ and $n = \sum n_{rs}$, the pair counts are
# $\text{same–same} = \sum_{rs} \binom{n_{rs}}{2}$, and with $A = \sum_r \binom{a_r}{2}$,
# $B = \sum_s \binom{b_s}{2}$, $E = AB / \binom{n}{2}$:
#
# $$\mathrm{ARI} = \frac{\sum_{rs}\binom{n_{rs}}{2} - E}{\tfrac12 (A + B) - E}.$$
#
# When the denominator is 0 — every foreground pixel in one true segment *and* one predicted segment,
# or fewer than two foreground pixels — the two partitions are the same and the ARI is 1 (scikit-learn's
# convention; an image with one object and a prediction that splits it scores 0).
#
# Write `fg_ari(true_masks, pred_masks)` for label maps `(B, H, W)` of integers, returning `(B,)` float64,
# **vectorised over the batch** (no Python loop over images or labels: build every image's contingency
# table at once, for example with `scatter_add_` on the index `true * L + pred`), equal to
# `sklearn.metrics.adjusted_rand_score` on each image's foreground pixels.

# %% nbgrader={"grade_id": "q4-ari", "solution": true}
def fg_ari(true_masks, pred_masks):
    """The adjusted Rand index of each image over its foreground pixels (true label != 0): shape (B,), float64."""
    ### BEGIN SOLUTION
    t = torch.as_tensor(true_masks).long().flatten(1)
    p = torch.as_tensor(pred_masks).long().to(t.device).flatten(1)
    b = t.shape[0]
    fg = (t != 0).double()
    rows, cols = int(t.max()) + 1, int(p.max()) + 1
    table = torch.zeros(b, rows * cols, dtype=torch.float64, device=t.device)
    table.scatter_add_(1, t * cols + p, fg)
    table = table.reshape(b, rows, cols)

    def pairs(x):
        return x * (x - 1) / 2

    same = pairs(table).sum(dim=(1, 2))
    a, c = pairs(table.sum(2)).sum(1), pairs(table.sum(1)).sum(1)
    total = pairs(table.sum(dim=(1, 2)))
    expected = a * c / total.clamp(min=1)
    denominator = (a + c) / 2 - expected
    ari = (same - expected) / torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    return torch.where(denominator == 0, torch.ones_like(ari), ari)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q4-ari-visible", "grade": true, "points": 6}
rng = np.random.default_rng(0)
true_demo = rng.integers(0, 4, (6, 10, 10))
pred_demo = np.where(rng.random((6, 10, 10)) < 0.7, true_demo, rng.integers(0, 5, (6, 10, 10)))
true_demo[4] = np.where(true_demo[4] > 0, 2, 0)           # image 4: one object covers all the foreground
true_demo[5] = np.maximum(true_demo[5], 1)               # image 5: no background at all
want = np.array([adjusted_rand_score(t[t != 0], p[t != 0]) for t, p in zip(true_demo, pred_demo)])
got = fg_ari(torch.as_tensor(true_demo), torch.as_tensor(pred_demo))
assert_shape(got, (6,), name="fg_ari on 6 images", hint="One score per image.")
all_pixels = np.array([adjusted_rand_score(t.ravel(), p.ravel()) for t, p in zip(true_demo, pred_demo)])
assert_close(got, want, name="the FG-ARI of 6 images (image 4: one object, image 5: no background)",
             atol=1e-9, rtol=1e-9, axes=("image",),
             mistakes={"the background pixels are counted: compare only the pixels whose true label is not 0.":
                       all_pixels},
             hint="sum C(n_rs, 2) over the contingency table of the foreground pixels, corrected by E = A B / C(n, 2); "
                  "1 where the denominator is 0.")
same_one = fg_ari(torch.ones(1, 4, 4, dtype=torch.long), torch.zeros(1, 4, 4, dtype=torch.long))
assert_close(same_one, torch.ones(1, dtype=torch.float64), name="one object, predicted as one segment",
             hint="When every foreground pixel is in one true and one predicted segment, the denominator is 0 and "
                  "the partitions are the same: return 1, not NaN.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q4-ari-hidden", "grade": true, "points": 9}
### BEGIN HIDDEN TESTS
from autograder.hidden import check

check("05_slot_attention", "fg_ari", fg_ari)
### END HIDDEN TESTS

# %% [markdown]
# Now the course's model, scored on new scenes of both variants, beside two baselines: **k-means on the
# pixels' colours** (one cluster per object plus one for the ground, `elvkit.baselines.kmeans_colours`),
# which groups by paint alone, and a **fixed tiling** of the image into 5 compact regions (k-means on the
# pixels' coordinates), the same for every scene: it never looks at the image, so whatever it scores is the
# floor that position alone gives on scenes of a few compact objects.


# %%
def kmeans_labels(scenes):
    """k-means on each scene's RGB pixels, k = its objects + 1."""
    return np.stack([kmeans_colours(img, int(k) + 1) for img, k in zip(scenes.images, scenes.num_objects)])


_, masks_t, attn_t = run_model(model, textured.images)
rows_, cols_ = np.mgrid[0:SIZE, 0:SIZE]
tiling = KMeans(NUM_SLOTS, n_init=10, random_state=0).fit_predict(
    np.stack([cols_.ravel(), rows_.ravel()], axis=1).astype(float)).reshape(SIZE, SIZE)
scores = {}
truth_p = torch.as_tensor(palette.masks)
for name, s, m in (("palette", palette, masks_p), ("colour-proof", textured, masks_t)):
    truth = torch.as_tensor(s.masks)
    scores[name] = {"slot attention (the course's model)": fg_ari(truth, m.argmax(1)).mean().item(),
                    "k-means on colour": fg_ari(truth, torch.as_tensor(kmeans_labels(s))).mean().item(),
                    "a fixed tiling into 5 regions (no image)": fg_ari(
                        truth, torch.as_tensor(tiling).expand(len(truth), SIZE, SIZE)).mean().item()}
print(f"FG-ARI, mean over {EVAL_SCENES} new scenes of each variant")
print(f"{'':42s}{'palette':>10s}{'colour-proof':>14s}")
for method in scores["palette"]:
    print(f"{method:42s}{scores['palette'][method]:10.3f}{scores['colour-proof'][method]:14.3f}")
show_slots(textured.images, *run_model(model, textured.images)[:2], title="the same model on colour-proof scenes")

# %% [markdown]
# What the numbers say, measured at full size (256 scenes each):
#
# * **The floor is high.** The blind tiling scores about 0.50 on both variants: in scenes of two to four
#   compact objects, two pixels far apart usually belong to different objects, so cutting the image into
#   five fixed blobs already gets half the pairs right. A method finds objects only where it beats this row.
# * **Palette scenes.** The course's model reaches about 0.65 after 12,000 CPU steps, above the floor but
#   **below** k-means on colour (about 0.77): on flat colours, colour *is* the answer, and our short training
#   has not caught up with it (the paper's 0.91 on Multi-dSprites took 500,000 GPU steps). The figure of the
#   checkpoint shows slots that hold one object each, and spare slots that share the ground.
# * **Colour-proof scenes.** Both fall below the floor: k-means to about 0.29, slot attention to about 0.45.
#   The figure just above shows what the slots do there: they cut the textured scene into compact blobs,
#   a tiling by position, not objects.
#
# Your printed numbers come from the scenes above (fewer when graded); they move by a few hundredths from
# run to run of the scene seed.
#
# ## Part 5 — Training (20 points)
#
# Training slot attention is notoriously touchy. The paper's recipe has the warm-up and the decay below;
# we add gradient clipping, as later slot-attention work does (SAVi, Kipf et al. 2022, clips the norm at
# 0.05; the original training loop does not clip):
#
# * a **learning-rate warm-up**: linear from 0 to the base rate over the first `warmup` steps (at the
#   start the attention is random and large steps throw the slots into one corner), then an
#   **exponential decay** that halves the rate every `half_life` steps:
#   $\eta(s) = \eta_0 \cdot \min\!\big(1, \tfrac{s + 1}{\text{warmup}}\big) \cdot 0.5^{\,s / \text{half\_life}}$
#   for step $s = 0, 1, \dots$;
# * **gradient clipping**: rescale the whole gradient so that its norm is at most `clip`
#   (`nn.utils.clip_grad_norm_`, which returns the norm *before* clipping);
# * the loss: the mean squared error of the reconstruction.
#
# Write `learning_rate(step, base_lr, warmup, half_life)`.

# %% nbgrader={"grade_id": "q5-lr", "solution": true}
def learning_rate(step, base_lr, warmup, half_life):
    """The learning rate of step ``step`` (from 0): linear warm-up over ``warmup`` steps, halved every ``half_life``."""
    ### BEGIN SOLUTION
    return base_lr * min(1.0, (step + 1) / warmup) * 0.5 ** (step / half_life)
    ### END SOLUTION


# %% nbgrader={"grade_id": "q5-lr-visible", "grade": true, "points": 2}
assert_close(learning_rate(0, 1e-3, 10, 100), 1e-4, name="learning_rate(0, 1e-3, warmup=10, half_life=100)",
             rtol=1e-9, hint="Step 0 is the first of the warm-up: (0 + 1) / warmup of the rate, times 0.5 ** (0 / 100).")
assert_close(learning_rate(200, 1e-3, 10, 100), 2.5e-4, name="learning_rate(200, 1e-3, 10, 100)", rtol=1e-9,
             hint="After the warm-up the rate halves every half_life steps: two halvings by step 200.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q5-lr-hidden", "grade": true, "points": 3}
### BEGIN HIDDEN TESTS
from autograder.hidden import check

check("05_slot_attention", "learning_rate", learning_rate)
### END HIDDEN TESTS

# %% [markdown]
# **One training step.** `train_step(model, optimiser, images, generator, lr, clip=1.0, detach_last=True)`:
# set the learning rate of every parameter group of the optimiser to `lr`, draw the initial slots with
# `model.initial_slots(len(images), generator, images.device)`, run the model (passing `detach_last`),
# take the mean squared error of the reconstruction against the images, back-propagate, clip the
# gradient's norm to `clip`, and step. Return the loss (a float) and the gradient's norm before
# clipping (a float).
#
# **Implicit differentiation** (Chang et al. 2022). Slot attention is an iteration that should settle
# to a fixed point; back-propagating through all $T$ iterations multiplies the gradient by every
# iteration's Jacobian, and the gradients' norm grows and jumps (one reason slot attention training is
# unstable). Treating the slots before the last iteration as a constant — the `detach_last` of Part 2 —
# gives the gradient of the fixed point to first order, with one iteration's cost. Part 6 measures it.

# %% nbgrader={"grade_id": "q5-step", "solution": true}
def train_step(model, optimiser, images, generator, lr, clip=1.0, detach_last=True):
    """One step of reconstruction training: returns (loss, gradient norm before clipping) as floats."""
    ### BEGIN SOLUTION
    for group in optimiser.param_groups:
        group["lr"] = lr
    recon, _, _ = model(images, model.initial_slots(len(images), generator, images.device), detach_last)
    loss = F.mse_loss(recon, images)
    optimiser.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimiser.step()
    return loss.item(), float(norm)
    ### END SOLUTION


# %% [markdown]
# Visible tests (not graded here: the hidden test below runs your step on the grader's weights).

# %%
torch.manual_seed(0)
small = SlotAutoencoder(size=16, num_slots=3, dim=16, channels=8)
opt_demo = torch.optim.Adam(small.parameters(), lr=1.0)
batch_demo = torch.as_tensor(make_object_scenes(8, seed=1, size=16, objects=(1, 2), variant="palette").images)
before = {k: v.clone() for k, v in small.state_dict().items()}
loss_demo, norm_demo = train_step(small, opt_demo, batch_demo, torch.Generator().manual_seed(0), lr=1e-3, clip=0.01)
assert_true(isinstance(loss_demo, float) and isinstance(norm_demo, float),
            f"train_step should return two floats (loss.item(), float(norm)); got {type(loss_demo).__name__} and "
            f"{type(norm_demo).__name__}")
assert_true(opt_demo.param_groups[0]["lr"] == 1e-3, "train_step should set the optimiser's learning rate to lr.")
moved = max(float((small.state_dict()[k] - before[k]).abs().max()) for k in before)
assert_true(0 < moved <= 1.5e-3, f"After one Adam step with lr 1e-3 the largest change of a parameter is {moved:.2g}; "
            "expected at most about lr (Adam's step) and more than 0. Is the step taken, with the lr passed in?")
assert_true(norm_demo > 0.01, "The gradient norm returned should be the norm before clipping (clip_grad_norm_ returns "
            "it); with clip 0.01 it should be larger than 0.01 here.")
print("All visible tests passed.")

# %% nbgrader={"grade_id": "q5-step-hidden", "grade": true, "points": 10}
### BEGIN HIDDEN TESTS
from autograder.hidden import check
from autograder.kernel_side.probes import StepProbe


def _train_step(images, state, lr, clip, seed, detach_last):
    # a stand-in model with SlotAutoencoder's interface: this question judges the step, the model has its own
    model = StepProbe(images.shape[-1], 3, state["slots_mu"].shape[-1]).to(images.device)
    model.load_state_dict(state)
    optimiser = torch.optim.Adam(model.parameters(), lr=1.0)
    for p in model.parameters():            # gradients left over from an earlier step, as in a training loop
        p.grad = torch.full_like(p, 0.25)
    loss, norm = train_step(model, optimiser, images, torch.Generator().manual_seed(int(seed)), float(lr), float(clip),
                            bool(detach_last))
    return torch.tensor([loss, norm]), model.q.weight.detach(), model.read.weight.detach()


check("05_slot_attention", "train_step", _train_step)
### END HIDDEN TESTS

# %% [markdown]
# **Fine-tuning the course's model.** A few hundred steps of your `train_step` from the checkpoint, on new
# palette scenes, at a small constant learning rate (the checkpoint is past its warm-up). The loss should
# stay where the checkpoint left it or fall a little. The grader's hidden test below trains a small stand-in
# model from scratch with your `train_step` (40 steps, the learning rates handed in) and checks that its
# reconstruction improves: your training loop is judged there, your model in Part 3.

# %%
FINETUNE_STEPS = elvkit.budget(300, 8)
train_scenes = torch.as_tensor(make_object_scenes(elvkit.budget(2048, 64), seed=7, size=SIZE, objects=(2, 4),
                                                  variant="palette").images).to(DEVICE)


def finetune(model, steps, lr=1e-4, batch=32, seed=0, detach_last=True, desc="fine-tuning"):
    """``steps`` of train_step on random batches of train_scenes; the loss and gradient norm of each step."""
    gen = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses, norms = [], []
    for _ in tqdm(range(steps), desc=desc, leave=False):
        idx = torch.randint(len(train_scenes), (batch,), generator=gen).to(DEVICE)
        loss, norm = train_step(model, optimiser, train_scenes[idx], gen, lr, clip=1.0, detach_last=detach_last)
        losses.append(loss), norms.append(norm)
    model.eval()
    return np.array(losses), np.array(norms)


tuned = SlotAutoencoder(record["size"], record["slots"], record["dim"]).to(DEVICE)
tuned.load_state_dict(course_weights)
start = time.perf_counter()
ft_losses, ft_norms = finetune(tuned, FINETUNE_STEPS)
seconds = time.perf_counter() - start
_, masks_ft, _ = run_model(tuned, palette.images)
print(f"{FINETUNE_STEPS} steps in {seconds:.1f} s ({FINETUNE_STEPS / seconds:.1f} steps/s of 32 scenes); loss "
      f"{ft_losses[:10].mean():.4f} (first 10) -> {ft_losses[-10:].mean():.4f} (last 10); FG-ARI on the new palette "
      f"scenes {scores['palette']['slot attention (the course' + chr(39) + 's model)']:.3f} -> "
      f"{fg_ari(torch.as_tensor(palette.masks), masks_ft.argmax(1)).mean().item():.3f}")

# %% [markdown]
# **Training from scratch, on a GPU.** The course's checkpoint was trained by the recipe in its record
# (printed below): your `learning_rate` and `train_step`, from a random initialisation, on 8,192 palette
# scenes. On a 2-core CPU that took about an hour; on a GPU it takes minutes, so when `DEVICE` is a GPU (and
# the notebook is not being graded) the cell below trains your own model with the same recipe and scores it
# like the checkpoint. Set `STEPS_FROM_SCRATCH` higher to see how far longer training goes (the paper trains
# for 500,000 steps).

# %%
recipe = record["recipe"]
STEPS_FROM_SCRATCH = recipe["steps"]
print("the checkpoint's recipe: " + ", ".join(f"{k} {v}" for k, v in recipe.items()))
if str(DEVICE).startswith("cuda") and not SMOKE:
    torch.manual_seed(recipe["seed"])
    scratch = SlotAutoencoder(record["size"], record["slots"], record["dim"]).to(DEVICE)
    scratch_opt = torch.optim.Adam(scratch.parameters(), lr=recipe["lr"])
    scratch_data = torch.as_tensor(make_object_scenes(recipe["scenes"], seed=recipe["seed"], size=record["size"],
                                                      objects=(2, 4), variant=recipe["variant"]).images).to(DEVICE)
    scratch_gen = torch.Generator().manual_seed(recipe["seed"])
    for step in tqdm(range(STEPS_FROM_SCRATCH), desc="from scratch"):
        batch = scratch_data[torch.randint(len(scratch_data), (recipe["batch"],), generator=scratch_gen).to(DEVICE)]
        train_step(scratch, scratch_opt, batch, scratch_gen,
                   learning_rate(step, recipe["lr"], recipe["warmup"], recipe["half_life"]), recipe["clip"])
    scratch.eval()
    print(f"your model after {STEPS_FROM_SCRATCH:,} steps: FG-ARI on the new palette scenes "
          f"{fg_ari(truth_p, run_model(scratch, palette.images)[1].argmax(1)).mean().item():.3f}")
else:
    print("no GPU here (or the notebook is being graded): training from scratch skipped")

# %% nbgrader={"grade_id": "q5-e2e-hidden", "grade": true, "points": 5}
### BEGIN HIDDEN TESTS
from autograder.hidden import check
from autograder.kernel_side.probes import StepProbe


def _train_from_scratch(images, state, rates, seed):
    # the stand-in model again, from the grader's initial weights: this check judges your training loop's parts
    # (train_step over many steps), not your model (q3 judges it) nor your learning_rate (its own cells do)
    model = StepProbe(images.shape[-1], 3, state["slots_mu"].shape[-1]).to(images.device)
    model.load_state_dict(state)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.0)
    shown = images[:32]

    def reconstruct():
        with torch.no_grad():
            return model(shown, model.initial_slots(len(shown), torch.Generator().manual_seed(0)))[0].detach().clone()

    before = reconstruct()
    draws = torch.Generator().manual_seed(int(seed))
    losses = []
    for lr in rates.tolist():
        idx = torch.randint(len(images), (16,), generator=draws).to(images.device)
        losses.append(train_step(model, optimiser, images[idx], draws, float(lr), 1.0)[0])
    return (torch.tensor(losses, dtype=torch.float64), before, reconstruct(),
            {k: v.detach().clone() for k, v in model.state_dict().items()})


check("05_slot_attention", "e2e_training", _train_from_scratch)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 6 — Looking inside (not graded; four written questions)
#
# ### Attention, iteration by iteration
#
# The attention of each iteration on one scene. In the first, the slots are random draws from the learnt
# Gaussian; the iterations let them compete until each pixel belongs to one slot. The printed numbers measure
# it, separately on the pixels of objects and on the ground: the attention of each pixel's strongest slot,
# averaged (1 would be a hard assignment). At full size the objects are won almost outright from the first
# iteration on (0.93, 0.95, 0.91), while the ground is shared between the slots left over (about 0.33: three
# slots or so take a third each) — visible above as the dim, even grey of the spare slots. The slots that hold
# no object split the ground between them; FG-ARI does not count the ground, so that costs nothing there.

# %%
scene = 0
fig, axes = plt.subplots(len(attn_p), 1 + NUM_SLOTS, figsize=(1.7 * (1 + NUM_SLOTS), 1.8 * len(attn_p)))
for t, attn in enumerate(attn_p):
    axes[t, 0].imshow(palette.images[scene].transpose(1, 2, 0))
    axes[t, 0].set_title(f"iteration {t + 1}")
    for j in range(NUM_SLOTS):
        axes[t, 1 + j].imshow(attn[scene, j].reshape(SIZE, SIZE).numpy(), cmap="magma", vmin=0, vmax=1)
        if t == 0:
            axes[t, 1 + j].set_title(f"slot {j}")
for ax in axes.flat:
    ax.set_axis_off()
plt.tight_layout()
on_objects = torch.as_tensor(palette.masks).flatten(1) > 0                 # (B, N): the pixels of objects
for where, pick in (("object pixels", on_objects), ("ground pixels", ~on_objects)):
    strongest = [float(a.max(dim=1).values[pick].mean()) for a in attn_p]
    print(f"{where}: the strongest slot's attention, mean per iteration " + ", ".join(f"{v:.3f}" for v in strongest)
          + f" (1/{NUM_SLOTS} = {1 / NUM_SLOTS:.2f} would be no competition, 1 a hard assignment)")

# %% [markdown]
# ### Why a weighted mean, not a sum
#
# The slide's update $u_j = \sum_i a_{ij} v(x_i)$ grows with the number of pixels slot $j$ wins: the
# slot that holds the ground (hundreds of pixels) gets an update tens of times larger than one that
# holds a small object (a few dozen), and from image to image the same object's update changes with its size. The
# GRU then sees inputs whose scale has nothing to do with *what* the slot holds. Below, on the course's
# model and the new palette scenes: the mass $\sum_i a_{ij}$ of each slot in the last iteration (what the
# sum multiplies the mean by), and the norms of the updates $u_j$ the GRU would get with the mean (as the
# model was trained) and with the sum.

# %%
mass = attn_p[-1].sum(dim=2).flatten().numpy()
print(f"the slots' mass sum_i a_ij in the last iteration, over {EVAL_SCENES} scenes x {NUM_SLOTS} slots: "
      f"median {np.median(mass):.1f}, 5th percentile {np.percentile(mass, 5):.1f}, 95th {np.percentile(mass, 95):.1f} "
      f"pixels; the largest slot of a scene holds {np.mean(attn_p[-1].sum(2).max(1).values.numpy()):.0f} of "
      f"{SIZE * SIZE} on average")
# the slot holding most of the ground against the slot holding the scene's smallest object, scene by scene
truth_flat = torch.as_tensor(palette.masks).flatten(1)                        # (B, N): 0 the ground, 1.. objects
a_cpu = attn_p[-1].cpu()
pairs = []
for b in range(len(truth_flat)):
    regions = int(truth_flat[b].max()) + 1
    share = torch.stack([(a_cpu[b] * (truth_flat[b] == k)).sum(1) for k in range(regions)], dim=1)   # (M, regions)
    sizes = torch.bincount(truth_flat[b], minlength=regions)
    smallest = int(sizes[1:].argmin()) + 1
    ground_slot, small_slot = int(share[:, 0].argmax()), int(share[:, smallest].argmax())
    if ground_slot != small_slot:
        pairs.append((float(a_cpu[b, ground_slot].sum()), float(a_cpu[b, small_slot].sum()), int(sizes[smallest])))
pairs = np.array(pairs).reshape(-1, 3)
if len(pairs):
    print(f"in {len(pairs)} of {len(truth_flat)} scenes the ground and the smallest object are held by different "
          f"slots: the ground's slot has a median mass of {np.median(pairs[:, 0]):.0f}, the small object's slot "
          f"{np.median(pairs[:, 1]):.0f} (the object itself covers {np.median(pairs[:, 2]):.0f} pixels); the sum scales "
          f"the first's update by {np.median(pairs[:, 0] / pairs[:, 1]):.1f} times the second's (median over scenes)")
else:
    print("in every scene one slot holds both the ground and the smallest object")
captured = {}
hook = model.slot_attention.register_forward_pre_hook(lambda module, args: captured.update(inputs=args[0]))
run_model(model, palette.images)
hook.remove()
with torch.no_grad():
    values = model.slot_attention.v(model.slot_attention.norm_inputs(captured["inputs"])).cpu()      # v(x_i)
a_last = attn_p[-1]                                                                                  # (B, M, N)
w_last = (a_last + 1e-8) / (a_last + 1e-8).sum(dim=2, keepdim=True)
norm_mean = torch.linalg.norm(w_last @ values, dim=2)            # |u_j| with the weighted mean (as trained)
norm_sum = torch.linalg.norm(a_last @ values, dim=2)             # |u_j| with the slide's sum
for name, nrm in (("weighted mean", norm_mean), ("sum", norm_sum)):
    spread = (nrm.max(dim=1).values / nrm.min(dim=1).values).median().item()
    print(f"update norms |u_j| with the {name:13s}: median {nrm.median().item():8.2f}, 5th-95th percentile "
          f"{np.percentile(nrm, 5):8.2f} - {np.percentile(nrm, 95):8.2f}; largest / smallest slot of a scene "
          f"(median over scenes) {spread:.1f}x")

# %% [markdown]
# With the mean, every slot's update is an average feature and its norm stays in a narrow band; with the
# sum it is that average times the slot's mass, so the GRU would see inputs whose size says how many
# pixels a slot won rather than what they look like. A network trained with the sum has to learn to undo
# that factor, for every object size, before it can learn anything else; the paper reports that the
# normalisation makes training stable.

# %% [markdown]
# **Written question — the weighted mean.** (2 points)
#
# Using the printed masses and update norms: by what factor does the sum scale the update of the slot that
# holds the ground compared with the slot that holds the scene's smallest object, in this model, and what
# would it be in a model whose slots held exactly their regions (the ground covers about 840 pixels of a
# scene, the smallest object about 33)? Why does a scale that depends on the number of pixels a slot wins
# make the GRU's job harder, and why does the $\epsilon$ in $w_{ij}$ matter for a slot that wins almost
# nothing?

# %% [markdown] nbgrader={"grade_id": "written-mean", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** The sum multiplies a slot's mean update by its mass, the number of pixels it
# effectively holds. In this model the printout finds the ground's slot and the smallest object's slot with
# about the same mass at full size (medians about 214 and 212 pixels, a factor of about 1.0 between them):
# its slots are blobs of similar size, and the small object's slot also holds a large piece of ground (the
# object itself covers about 35 pixels). What the sum does here is the common factor of about 200 over the
# mean (update norms about 1,000 against 5). In a model whose slots held exactly their regions the factor
# between the two would be the ratio of their sizes, about 840 / 33, some 25 times. With the mean every
# update is an average feature, of the same scale whatever the object's size, so the GRU can read *what* the
# slot holds; with the sum the same object gives updates of different sizes in different scenes, the GRU's
# gates saturate for large slots while small ones barely move. A slot that wins almost nothing has a mass
# near 0: without epsilon its weights divide 0 by 0 (NaN); with it the weights become uniform, the slot gets
# the mean of all features, and it can still move.
#
# **Rubric.** 1 point: the factor read from the printed masses (about 1 in this model, about 25 for slots that
# held their regions) and the scale argument (the mean is size-independent).
# 1 point: the epsilon prevents a division by zero for an empty slot (or keeps its update defined and uniform).
# ### END SOLUTION

# %% [markdown]
# ### Implicit differentiation: gradient norms with and without the detach
#
# The same fine-tuning from the checkpoint twice, with the same batches and slots, once back-propagating
# through all three iterations and once with the slots detached before the last.

# %%
GRAD_STEPS = elvkit.budget(150, 6)
curves = {}
for detach in (False, True):
    net = SlotAutoencoder(record["size"], record["slots"], record["dim"]).to(DEVICE)
    net.load_state_dict(course_weights)
    start = time.perf_counter()
    losses_d, norms_d = finetune(net, GRAD_STEPS, lr=2e-4, seed=3, detach_last=detach,
                                 desc="detached" if detach else "through all iterations")
    curves[detach] = (losses_d, norms_d, time.perf_counter() - start)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for detach, (losses_d, norms_d, secs) in curves.items():
    label = "detach before the last iteration" if detach else "through all iterations"
    axes[0].plot(norms_d, label=label, alpha=0.8)
    axes[1].plot(losses_d, label=label, alpha=0.8)
axes[0].set_title("gradient norm (before clipping)"), axes[0].set_xlabel("step"), axes[0].set_yscale("log")
axes[1].set_title("reconstruction loss"), axes[1].set_xlabel("step")
axes[0].legend()
plt.tight_layout()
for detach, (losses_d, norms_d, secs) in curves.items():
    print(f"{'detached' if detach else 'full backprop':14s} gradient norm median {np.median(norms_d):.3f}, "
          f"95th percentile {np.percentile(norms_d, 95):.3f}, max {norms_d.max():.3f}; loss (last 20) "
          f"{losses_d[-20:].mean():.4f}; {secs / GRAD_STEPS * 1000:.0f} ms per step")

# %% [markdown]
# **Written question — implicit differentiation.** (2 points)
#
# Compare the two gradient-norm curves (median, spread and largest values) and the time per step. Explain
# what the detach removes from the gradient, why that should make the norms smaller and steadier, and
# why the result is still a useful gradient for the module's parameters. What does the model lose (think
# of `slots_mu` and `slots_log_sigma`)?

# %% [markdown] nbgrader={"grade_id": "written-implicit", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** Without the detach the gradient flows back through all three iterations, a product of
# the iterations' Jacobians, so its norm is larger and jumps more from batch to batch (higher median, 95th
# percentile and maximum, and more clipping). With the detach the gradient reaches the parameters only
# through the last iteration: it is the first-order (Neumann-series) approximation of the gradient at the
# fixed point the iterations approach, which is what Chang et al. show is enough to train, and the backward
# pass is cheaper (fewer iterations to differentiate), so a step is a little faster. What is lost is any
# gradient to what comes before the last iteration through the slots: the initial slots, and so
# slots_mu and slots_log_sigma, get no gradient at all and stay at their initialisation.
#
# **Rubric.** 1 point: a comparison read from the printed numbers and the reason (fewer Jacobians in the
# product; the fixed-point gradient). 1 point: the initial-slot parameters receive no gradient.
# ### END SOLUTION

# %% [markdown]
# ### Slots are a set of objects: swapping and counting them
#
# Each slot is decoded on its own, so a slot is a description of one object that can be moved to
# another scene. Below, the slot that holds the largest object of scene A is swapped with the one
# that holds the largest object of scene B — two scenes chosen so that those objects lie far apart —
# and both sets are decoded again. Then the same model is run
# with fewer and more slots than the 5 it was trained with: the slots are drawn from the same Gaussian,
# so their number is free at test time.

# %%
def decode(model, slots):
    with torch.no_grad():
        return [t.cpu() for t in mix(*model.decoder(slots.to(DEVICE)))]


def largest_object_centre(mask):
    """(row, column) of the centre of the largest object of a true mask."""
    label = int(np.bincount(mask.ravel())[1:].argmax()) + 1
    rows, cols = np.nonzero(mask == label)
    return np.array([rows.mean(), cols.mean()])


# two scenes whose largest objects lie far apart, so that the swap shows whether a slot carries its position
centres = np.stack([largest_object_centre(m) for m in palette.masks[:32]])
distance = np.linalg.norm(centres[:, None] - centres[None], axis=2)
a_i, b_i = np.unravel_index(distance.argmax(), distance.shape)
print(f"scenes {a_i} (A) and {b_i} (B): their largest objects' centres are {distance[a_i, b_i]:.0f} pixels apart "
      f"(row, column {centres[a_i].round().astype(int).tolist()} and {centres[b_i].round().astype(int).tolist()})")
pair = torch.as_tensor(palette.images[[a_i, b_i]]).to(DEVICE)
with torch.no_grad():
    first_slots = model.initial_slots(2, torch.Generator().manual_seed(0), DEVICE)
    slots_ab, _ = model.slot_attention(model.encoder(pair), first_slots)
recon_ab, masks_ab = decode(model, slots_ab)
truth_ab = torch.as_tensor(palette.masks[[a_i, b_i]])
pick = []
for i in range(2):
    sizes = torch.stack([((masks_ab[i].argmax(0) == j) & (truth_ab[i] > 0)).sum() for j in range(NUM_SLOTS)])
    pick.append(int(sizes.argmax()))
swapped = slots_ab.clone()
swapped[0, pick[0]], swapped[1, pick[1]] = slots_ab[1, pick[1]], slots_ab[0, pick[0]]
recon_sw, _ = decode(model, swapped)
fig, axes = plt.subplots(2, 3, figsize=(6.5, 4.4))
for i in range(2):
    axes[i, 0].imshow(palette.images[(a_i, b_i)[i]].transpose(1, 2, 0)), axes[i, 0].set_title(f"scene {'AB'[i]}")
    axes[i, 1].imshow(recon_ab[i].clamp(0, 1).permute(1, 2, 0)), axes[i, 1].set_title("decoded")
    axes[i, 2].imshow(recon_sw[i].clamp(0, 1).permute(1, 2, 0)), axes[i, 2].set_title(f"slot {pick[i]} swapped")
for ax in axes.flat:
    ax.set_axis_off()
plt.tight_layout()

counts = (3, 5, 7)
by_count = {m: fg_ari(truth_p, run_model(model, palette.images, num_slots=m)[1].argmax(1)).mean().item() for m in counts}
print("FG-ARI on the new palette scenes with M slots at test time (trained with 5): "
      + ", ".join(f"M = {m}: {v:.3f}" for m, v in by_count.items()))

# %% [markdown]
# ### Failure cases
#
# The scenes where the masks agree least with the truth.

# %%
per_scene = fg_ari(truth_p, masks_p.argmax(1)).numpy()
worst = np.argsort(per_scene)[:3]
fig, axes = plt.subplots(3, 3, figsize=(5.5, 5.6))
for r, i in enumerate(worst):
    axes[r, 0].imshow(palette.images[i].transpose(1, 2, 0)), axes[r, 0].set_title(f"scene {i}")
    axes[r, 1].imshow(palette.masks[i], cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    axes[r, 1].set_title("truth")
    axes[r, 2].imshow(masks_p[i].argmax(0), cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    axes[r, 2].set_title(f"slots, FG-ARI {per_scene[i]:.2f}")
for ax in axes.flat:
    ax.set_axis_off()
plt.tight_layout()
print(f"FG-ARI per scene: median {np.median(per_scene):.3f}, {np.mean(per_scene < 0.5):.0%} of scenes below 0.5")

# %% [markdown]
# **Written question — slots at test time, and failures.** (2 points)
#
# What did the swap do to each scene, and what does it tell you about what one slot holds? How does the
# FG-ARI change with fewer and with more slots than in training, and why in each direction? Describe two
# kinds of failure you can see in the worst scenes.

# %% [markdown] nbgrader={"grade_id": "written-slots", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** Scene B's object (its lower right corner) appears in scene A at its own place, in its
# own colour, as the same round blob, and disappears from B: the position travels with the slot (the
# decoder's position embedding is all it adds), so a slot is a self-contained description of what it holds,
# which the decoder renders alone. What it holds is not always one object: scene A's largest object (top
# left) shares its slot with most of the ground (about 500 of the 1,024 pixels), and what moves to B is that
# whole region, a patch of ground colour with the object's tint.
# With fewer slots than objects plus ground, several objects must share a slot, which merges them: FG-ARI
# falls (0.515 with 3 slots against 0.646 with 5 at full size). With more, the spare slots take pieces of
# the ground or of objects: the ground is not counted, and here more slots even score higher (0.681 with 7),
# because slots that would have held an object together with part of the ground now leave the ground to the
# extra ones; splitting objects would cost. The slots are drawn from one Gaussian, so their number is free at
# test time. Failures visible in the worst scenes: two touching objects of the same colour merged into one
# slot (the model groups by colour, and nothing else tells them apart); an object split between two slots,
# or shared with the ground's slots; small or heavily occluded objects swallowed by the ground. A scene with
# a single visible object scores 0 as soon as the slots split it at all: FG-ARI compares partitions of the
# foreground, and one object leaves no partition to get partly right.
#
# **Rubric.** 1 point: the swap moves one object (a slot describes one object, position included). 1 point:
# the effect of the slot count with a reason, and two failure kinds named from the figure.
# ### END SOLUTION

# %% [markdown]
# ### What slot attention groups by
#
# On palette scenes colour and object coincide; on colour-proof scenes they do not. The table of
# Part 4 measured both, with k-means on colour beside them. Published evaluations point the same way:
# textured benchmarks (ClevrTex, Karazija et al. 2021) put the original slot attention far below its
# CLEVR figure, and later work reconstructs self-supervised features instead of pixels (DINOSAUR,
# Seitzer et al. 2023). Whether self-supervised features group by object rather than by colour is itself
# a measurement: in Assignment 4, MaskCut on the course's tiny ViT did not beat k-means on colour on these
# scenes (FG-ARI about 0.14 against 0.21), while MaskCut on a pretrained DINO finds objects in photographs.

# %% [markdown]
# **On DeepMind's data (optional).** The paper's benchmarks are DeepMind's multi-object data sets
# (Tetrominoes, Multi-dSprites, CLEVR with masks). `elvkit.data.load_multi_object` reads them from their
# TFRecord files without TensorFlow once an instructor has downloaded them (`python -m elvkit.data download
# multi-object/tetrominoes`). The cell below runs the course's model, trained only on our palette scenes, on
# Tetrominoes (the centre 32 x 32 of the 35 x 35 images): how far does what it learnt carry to pieces it never
# saw, on a black ground?

# %%
from elvkit.data import load_multi_object
from elvkit.data.registry import available

if any(row["name"] == "multi-object/tetrominoes_train.tfrecords" and row["cached"] for row in available()):
    tetro = load_multi_object("tetrominoes", n=EVAL_SCENES)
    tetro_images = tetro.images[:, :, 1:33, 1:33]
    tetro_truth = torch.as_tensor(tetro.masks[:, 1:33, 1:33])
    _, masks_tetro, _ = run_model(model, tetro_images)
    kmeans_tetro = np.stack([kmeans_colours(img, int(k) + 1) for img, k in zip(tetro_images, tetro.num_objects)])
    print(f"Tetrominoes, {len(tetro)} scenes: FG-ARI slot attention "
          f"{fg_ari(tetro_truth, masks_tetro.argmax(1)).mean():.3f}, k-means on colour {fg_ari(tetro_truth, torch.as_tensor(kmeans_tetro)).mean():.3f} (the paper: 0.995 after "
          "training on Tetrominoes itself)")
    show_slots(tetro_images, *run_model(model, tetro_images)[:2], title="the course's model on Tetrominoes")
else:
    print("Tetrominoes not downloaded: python -m elvkit.data download multi-object/tetrominoes to run this cell")

# %% [markdown]
# **Written question — colour, objects and self-supervised features.** (2 points)
#
# From the FG-ARI table of Part 4 and the two figures of the model's masks: how much does each method lose
# between palette and colour-proof scenes, and where does each end up against the fixed tiling? What do the
# slots bind to on each variant? Give one reason why a pixel-reconstruction objective encourages grouping by
# colour, and say what MaskCut on a self-supervised ViT's keys (Assignment 4) uses instead.

# %% [markdown] nbgrader={"grade_id": "written-colour", "solution": true, "grade": true, "points": 2}
# ### BEGIN SOLUTION
# **Model answer.** At full size k-means falls from about 0.77 to about 0.29 and slot attention from about
# 0.65 to about 0.45, and both end below the fixed tiling (about 0.50), which does not look at the image.
# On palette scenes the slots bind to objects (one slot per object in the figure, the ground shared by the
# spare slots), but the objects there are exactly the regions of one colour; on colour-proof scenes the
# slots fall back to compact blobs, a tiling by position (the encoder's position embedding), and find no
# objects. So what the slots bind to is colour where it separates the scene and position otherwise.
# Reconstruction rewards any grouping that makes each slot's image easy to decode:
# a region of one flat colour is the cheapest thing for a slot to paint, so splitting by colour lowers the loss
# whether or not the region is one object; texture shared across objects gives no such shortcut. MaskCut
# groups patches by the similarity of a self-supervised ViT's keys, features trained to match views of the
# same image under colour and crop augmentations, meant to describe what a patch belongs to rather than its
# paint. Whether they do is measured, not given: the course's tiny ViT's keys do not on these scenes
# (Assignment 4: MaskCut about 0.14, below k-means on colour at about 0.21); a pretrained DINO's do on
# photographs.
#
# **Rubric.** 1 point: both drops read from the table, the comparison with the tiling, and the conclusion
# (slots bind to colour, or to position when colour fails). 1 point: why reconstruction favours colour, and that
# MaskCut uses a self-supervised ViT's keys, trained to be invariant to colour changes, with whether they deliver
# that here (the course ViT's do not on these scenes).
# ### END SOLUTION
