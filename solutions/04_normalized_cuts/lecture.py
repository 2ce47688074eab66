"""Lecture demos of "Graph Cut" to "MaskCut": why the cut is normalised, the eigenvector images as σ_I, σ_X and r
move, and MaskCut on a ViT's keys (DINO's ViT-S/8 on photographs when an instructor has it, else the course's ViT). They compute with the assignment's reference solution
(`elv lecture ncut`; `elv slides ncut` for the deck)."""

import itertools
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from autograder.integrity.reference import load
from autograder.lecture import Choice, Demo, Slider

TITLE = "Normalized cuts"
ALIASES = ("ncut", "ncuts", "maskcut", "graph_cut")
INTRO = """
Pixels are nodes, affinities are edge weights, and a segmentation is a cut: cut(A, B) = Σ_{p∈A, q∈B} w(p, q).
Normalising by each side's association, **Ncut(A, B) = cut(A, B)/assoc(A, V) + cut(A, B)/assoc(B, V)**, stops the
cut from cutting off small isolated sets; relaxed, it is the eigenproblem (D − W) y = λ D y. Everything here
runs the course's reference implementation.
"""

ref = load("04_normalized_cuts")


# --- 1. cut and Ncut on a tiny graph --------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _graph():
    """The notebook's graph: two groups of 5 nodes, a few medium edges between them, and two loose nodes."""
    rng = np.random.default_rng(4)
    pos = np.concatenate([rng.normal((0, 0), 0.6, (5, 2)), rng.normal((4, 0), 0.6, (5, 2)), [[-2.4, 1.8], [6.4, -1.6]]])
    dense = np.zeros((12, 12))
    for group in (range(0, 5), range(5, 10)):
        for i, j in itertools.combinations(group, 2):
            dense[i, j] = rng.uniform(0.5, 1.0)
    for i, j in ((1, 6), (3, 8), (4, 5)):
        dense[i, j] = 0.3
    dense[0, 10], dense[9, 11] = 0.12, 0.1
    dense = dense + dense.T
    W = sp.csr_array(dense)
    _, Y = ref.ncut_eigenvectors(W, 2)
    order = np.argsort(Y[:, 1])
    splits = [np.isin(np.arange(12), order[:m]) for m in range(1, 12)]
    cuts = np.array([ref.cut_value(W, s) for s in splits])
    ncuts = np.array([ref.ncut_value(W, s) for s in splits])
    every = [np.array([(m >> b) & 1 for b in range(12)], bool) for m in range(1, 2 ** 11)]
    min_cut = min(ref.cut_value(W, s) for s in every)
    return dict(pos=pos, dense=dense, W=W, y=Y[:, 1], order=order, splits=splits, cuts=cuts, ncuts=ncuts,
                min_cut=min_cut)


def _graph_draw(fig, g, split):
    m = int(split)
    A = g["splits"][m - 1]
    W, pos, dense = g["W"], g["pos"], g["dense"]
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.3, 1])
    for i, j in zip(*sp.triu(W).nonzero()):
        crossing = A[i] != A[j]
        ax1.plot(pos[[i, j], 0], pos[[i, j], 1], "-", color="red" if crossing else "0.6", lw=4 * dense[i, j],
                 alpha=0.9 if crossing else 0.6)
    ax1.scatter(pos[:, 0], pos[:, 1], c=np.where(A, "tab:orange", "tab:blue"), s=140, zorder=3, ec="k")
    for k, (x, y) in enumerate(pos):
        ax1.text(x, y + 0.35, f"{g['y'][k]:+.2f}", ha="center", fontsize=8)
    ax1.set_aspect("equal")
    ax1.set_axis_off()
    cut, ncut = ref.cut_value(W, A), ref.ncut_value(W, A)
    aA, aB = ref.assoc(W, A), ref.assoc(W, ~A)
    ax1.set_title(f"A = the {m} node{'s' if m > 1 else ''} with the smallest y₂ (orange); cut edges red", fontsize=10)
    xs = np.arange(1, 12)
    ax2.plot(xs, g["ncuts"], "o-", color="k", label="Ncut(A, B)")
    ax2.plot(xs, g["cuts"], "s--", color="tab:red", label="cut(A, B)")
    ax2.axvline(m, color="tab:orange", lw=2)
    ax2.set_xlabel("|A|: nodes taken in the order of the second eigenvector y₂")
    ax2.set_yscale("log")
    ax2.legend()
    ax2.grid(alpha=0.3)
    best = int(np.argmin(g["ncuts"])) + 1
    return (f"cut(A, B) = {cut:.3f}, assoc(A, V) = {aA:.2f}, assoc(B, V) = {aB:.2f}, so Ncut = {cut:.3f}/{aA:.2f} + "
            f"{cut:.3f}/{aB:.2f} = {ncut:.3f}. The numbers by the nodes are y₂, the second eigenvector of "
            f"(D − W) y = λ D y. The smallest cut of all 2,047 partitions is {g['min_cut']:.3f}: it cuts off one loose "
            f"node. Ncut is smallest at |A| = {best}, the split into the two groups, because a tiny A has a tiny "
            "assoc(A, V).")


# --- 2. the eigenvector images ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _images():
    from skimage import data, transform

    from elvkit.data import make_region_image

    camera = transform.resize(data.camera().astype(np.float64) / 255, (64, 64), anti_aliasing=True)
    regions = make_region_image(0, shape=(64, 64), cue="intensity", noise=0.08)
    return {"camera man": camera, "generated regions": np.asarray(regions.image, np.float64)}


def _eigen_draw(fig, images, image, sigma_i, sigma_x, radius):
    im = images[image]
    if im.ndim == 3:
        im = im.mean(-1)
    W = ref.affinity(im, sigma_i, sigma_x, radius)
    vals, Y = ref.ncut_eigenvectors(W, 5)
    t, ncut = ref.best_threshold(Y[:, 1], W)
    axes = fig.subplots(1, 6)
    axes[0].imshow(im, cmap="gray")
    axes[0].set_title("image")
    for k in range(1, 5):
        axes[k].imshow(Y[:, k].reshape(im.shape), cmap="RdBu_r")
        axes[k].set_title(f"y{k + 1}, λ = {vals[k]:.3f}")
    axes[5].imshow(im, cmap="gray")
    axes[5].imshow((Y[:, 1] > t).reshape(im.shape), cmap="autumn", alpha=0.45)
    axes[5].set_title(f"split of y2: Ncut {ncut:.3f}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    edges = W.nnz - W.shape[0] if hasattr(W, "nnz") else int((np.asarray(W) > 0).sum())
    return (f"{im.shape[0]}×{im.shape[1]} pixels, {edges:,} edges within r = {radius} px. The eigenvectors of the "
            "smallest eigenvalues after the first (a constant) vary slowly where pixels are strongly connected and "
            "change across weak links: small σ_I makes any intensity difference a weak link (the images follow edges "
            "and noise); large σ_X with a large r lets distant pixels pull together (smoother, blob-like vectors).")


# --- 3. MaskCut ------------------------------------------------------------------------------------------------

def _dino() -> bool:
    """Whether DINO's published ViT-S/8 is on this machine (downloaded, its hash committed): MaskCut then cuts its
    keys on photographs, as the paper does; otherwise the course's small ViT's on generated scenes."""
    from elvkit.models import dino_available

    return dino_available("vits8")


#: MaskCut's model, chosen when the lecture loads: (its name, what it cuts, how many)
MASKCUT = ("DINO's ViT-S/8", "photo", 5) if _dino() else ("the course's ViT", "scene", 16)


@lru_cache(maxsize=None)
def _maskcut_setup():
    import torch

    from elvkit.models import course_vit, dino_vit, imagenet_normalise

    if _dino():
        from elvkit.data import load_photographs

        photos = load_photographs(224)
        images, names, truth = photos.images, photos.names, None
        x, model = imagenet_normalise(torch.as_tensor(images)), dino_vit("vits8")
    else:
        from elvkit.data import make_object_scenes

        scenes = make_object_scenes(16, seed=21)
        images, names, truth = scenes.images, [f"scene {i}" for i in range(len(scenes))], scenes
        x, model = torch.as_tensor(images), course_vit()
    with torch.no_grad():
        out = model.eval().inspect(x)
    keys = out["keys"][:, :, 1:].permute(0, 2, 1, 3).flatten(2).numpy()
    return dict(images=images, names=names, scenes=truth, keys=keys, grid=out["grid"])


def _maskcut_draw(fig, s, scene, tau, masks):
    from elvkit.metrics import adjusted_rand_index

    i = min(int(scene), len(s["images"]) - 1)
    found = ref.maskcut(s["keys"][i], s["grid"], int(masks), tau)
    labels = np.zeros(found.shape[1:], np.int64)
    for t, m in enumerate(found):
        labels[m & (labels == 0)] = t + 1
    labels = np.kron(labels, np.ones((8, 8), np.int64))            # both models have 8 x 8-pixel patches
    shown = len(np.unique(labels[labels > 0]))          # masks left with a patch once earlier ones took theirs
    image = s["images"][i].transpose(1, 2, 0)
    if s["scenes"] is None:                                           # a photograph: no ground truth
        ax1, ax3 = fig.subplots(1, 2)
        ax1.imshow(image)
        ax1.set_title(s["names"][i])
        ax3.imshow(image)
        ax3.imshow(np.ma.masked_equal(labels, 0), cmap="tab10", vmin=0, vmax=9, alpha=0.55, interpolation="nearest")
        score = "The photographs have no ground truth: judge the masks by eye."
    else:
        truth = s["scenes"].masks[i]
        fg = truth > 0
        ari = adjusted_rand_index(truth, labels, foreground_only=True) if len(np.unique(truth[fg])) > 1 \
            else float("nan")
        ax1, ax2, ax3 = fig.subplots(1, 3)
        ax1.imshow(image)
        ax1.set_title("scene (objects share colours)")
        ax2.imshow(truth, cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
        ax2.set_title(f"the {int(s['scenes'].num_objects[i])} objects")
        ax3.imshow(labels, cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
        score = f"FG-ARI against the objects: {ari:.2f} (1 = every object found exactly, 0 = chance)."
    ax3.set_title(f"MaskCut, τ = {tau:.2f}: {shown} mask{'s' if shown != 1 else ''} of {int(masks)} asked")
    for ax in fig.axes:
        ax.set_xticks([])
        ax.set_yticks([])
    h, w = s["grid"]
    model = ("DINO's ViT-S/8, trained on ImageNet without labels: its keys are what MaskCut was made for" if
             s["scenes"] is None else "the course's ViT, which is tiny and was trained for minutes, so its keys "
             "separate objects only sometimes; the assignment measures how often")
    return (f"Keys of the last layer on a {h}×{w} grid of patches; W_ij = 1 where cos(K_i, K_j) > τ, else a small ε. "
            f"Each mask is the side of the second eigenvector holding its largest entry, and its patches are removed "
            f"before the next cut ({shown} of the {int(masks)} masks asked for kept a patch here). {score} The keys "
            f"are those of {model}.")


DEMOS = [
    Demo("Why normalise the cut",
         "The second eigenvector y₂ of the relaxed problem orders the nodes; sweep the split along that order and "
         "compare the cut with the Ncut.",
         {"split": Slider("|A|", 1, 11, 1, 5)},
         _graph_draw, _graph, size=(11.0, 4.0)),
    Demo("The eigenvector images: σ_I, σ_X and r",
         "W(i, j) = exp(−‖F_i − F_j‖²/σ_I²) · exp(−‖X_i − X_j‖²/σ_X²) when ‖X_i − X_j‖ < r. The eigenvectors of "
         "(D − W) y = λ D y sorted from the smallest eigenvalue, shown as images, as on the slides.",
         {"sigma_i": Slider("σ_I", 0.05, 0.5, 0.05, 0.1), "sigma_x": Slider("σ_X", 2, 10, 1, 4),
          "radius": Slider("r", 2, 8, 1, 4), "image": Choice("image", ("camera man", "generated regions"), "camera man")},
         _eigen_draw, _images, size=(13.0, 2.8)),
    Demo("MaskCut on self-supervised features",
         f"The same cut on a ViT's features instead of pixels ({MASKCUT[0]}'s keys): nodes are patches, affinities are "
         "the cosine similarities of their keys, binarised at τ; one object per cut, earlier masks removed.",
         {"scene": Slider(MASKCUT[1], 0, MASKCUT[2] - 1, 1, 2), "tau": Slider("τ", 0.0, 0.6, 0.05, 0.15),
          "masks": Slider("masks", 1, 4, 1, 3)},
         _maskcut_draw, _maskcut_setup, size=(10.0, 3.6)),
]
