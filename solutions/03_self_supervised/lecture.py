"""Lecture demos of "Self-Supervised Visual Learning" to "Visualizing Attention": the augmentations, NT-Xent
as the temperature moves, the digits' embedding as SimCLR trains, and the [CLS] attention of a ViT trained with DINO
(DINO's ViT-S/16 on photographs when an instructor has it, else the course's own). They compute with the assignment's reference solution (`elv lecture ssl`; `elv slides ssl`)."""

import hashlib
from functools import lru_cache

import numpy as np
import torch

import elvkit
from autograder.integrity.reference import load
from autograder.lecture import Choice, Demo, Slider
from autograder.lecture.demo import cached

TITLE = "Self-supervised visual learning"
ALIASES = ("ssl", "simclr", "dino", "self_supervised_learning")
INTRO = """
Match two heavily augmented views of one image, and push the other images away: SimCLR's contrastive loss
over the 2N views of a batch, l_ij = −log exp(sim(z_i, z_j)/τ) / Σ_{k≠i} exp(sim(z_i, z_k)/τ). The
augmentations decide what the embedding must ignore. Everything here runs the course's reference
implementation on scikit-learn's handwritten digits, and the course's ViT trained with DINO.
"""

ref = load("03_self_supervised")
DIGITS_SHOWN = 8
STEPS = elvkit.budget(240, 16)             # SimCLR steps of the embedding demo (cached after the first run)
EVERY = elvkit.budget(20, 4)


@lru_cache(maxsize=None)
def _digits():
    from elvkit.data import load_digits

    return load_digits()


# --- 1. augmentations --------------------------------------------------------------------------------------

def _augment_draw(fig, _state, min_scale, jitter, sigma, seed):
    d = _digits()
    picks = [int(np.flatnonzero(d.train_labels == c)[0]) for c in range(DIGITS_SHOWN)]
    images = torch.as_tensor(d.train_images[picks])
    config = dict(ref.AUGMENT, min_scale=min_scale, brightness=jitter, contrast=jitter, sigma=max(sigma, 0.1),
                  blur_p=0.5 if sigma > 0 else 0.0)
    v1, v2 = ref.two_views(images, torch.Generator().manual_seed(int(seed)), config)
    rows = [images, v1, v2]
    mosaic = np.ones((3 * 9 + 1, DIGITS_SHOWN * 9 + 1), np.float32) * 0.35       # one picture, 1-px gaps
    for r, batch in enumerate(rows):
        for c in range(DIGITS_SHOWN):
            mosaic[1 + 9 * r:9 + 9 * r, 1 + 9 * c:9 + 9 * c] = batch[c, 0].numpy()
    ax = fig.subplots()
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1)
    ax.set_yticks([5, 14, 23], ["image", "view 1", "view 2"])
    ax.set_xticks([])
    kept = float(np.sqrt(min_scale))
    return (f"Each view keeps a random crop of at least {min_scale:.0%} of the area (a side of at least {kept:.0%}), "
            f"resized back to 8×8, with brightness and contrast changed by up to ±{jitter:.0%}, "
            + (f"a Gaussian blur of σ up to {sigma:.1f} px on half of them, " if sigma > 0 else "no blur, ")
            + "and a little noise. SimCLR must give both views of a column the same embedding, so whatever the "
              "augmentations change, it learns to ignore; crops too small erase what makes a 3 a 3.")


# --- 2. NT-Xent and the temperature ---------------------------------------------------------------------------

def _snapshots():
    """SimCLR on the digits, with the test features' 2-D PCA, the k-NN accuracy every EVERY steps and the final
    projections of two views of a few test digits (cached: the first class waits, the next do not)."""
    source = hashlib.sha256(ref.__file__.encode() + open(ref.__file__, "rb").read()).hexdigest()

    def compute():
        from tqdm.auto import tqdm

        d = _digits()
        X = torch.as_tensor(d.train_images)
        X_test = torch.as_tensor(d.test_images)
        torch.manual_seed(0)
        encoder, head = ref.Encoder(), ref.ProjectionHead(128)
        points, accuracy, steps = [], [], []
        few = np.concatenate([np.flatnonzero(d.train_labels == c)[:10] for c in range(10)])     # 10 labels a class

        def measure(step):
            encoder.eval()
            with torch.no_grad():
                f_train, f_test = encoder(X), encoder(X_test)
            pred = ref.knn_classify(f_train, torch.as_tensor(d.train_labels), f_test)
            few_pred = ref.knn_classify(f_train[few], torch.as_tensor(d.train_labels[few]), f_test, k=10)
            accuracy.append((float((np.asarray(pred) == d.test_labels).mean()),
                             float((np.asarray(few_pred) == d.test_labels).mean())))
            centred = f_test - f_test.mean(0)
            _, _, v = torch.linalg.svd(centred, full_matrices=False)
            xy = (centred @ v[:2].T).numpy()
            points.append(xy / np.abs(xy).max())
            steps.append(step)
            encoder.train()

        measure(0)
        for start in tqdm(range(0, STEPS, EVERY), desc="training SimCLR on the digits (once; cached)"):
            ref.train_simclr(encoder, head, X, EVERY, batch_size=256, seed=start, progress=False)
            measure(start + EVERY)
        encoder.eval()
        picks = [int(np.flatnonzero(d.test_labels == c)[0]) for c in range(6)]
        v1, v2 = ref.two_views(X_test[picks], torch.Generator().manual_seed(0))
        with torch.no_grad():
            z1, z2 = head(encoder(v1)), head(encoder(v2))
        return dict(points=np.stack(points), accuracy=np.array(accuracy), steps=np.array(steps),
                    z1=z1.numpy(), z2=z2.numpy(), labels=d.test_labels)

    return cached("simclr-digits", compute, source=source, steps=STEPS, every=EVERY)


def _ntxent_draw(fig, s, tau):
    z1, z2 = torch.as_tensor(s["z1"]), torch.as_tensor(s["z2"])
    n = len(z1)
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / tau
    logits.fill_diagonal_(-float("inf"))
    p = torch.softmax(logits, dim=1).numpy()
    loss = float(ref.nt_xent(z1, z2, tau))
    taus = np.linspace(0.05, 2.0, 40)
    curve = [float(ref.nt_xent(z1, z2, float(t))) for t in taus]
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.2])
    im = ax1.imshow(p, cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax1, fraction=0.046)
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        ax1.add_patch(__import__("matplotlib").patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
    ax1.set_title(f"softmax(sim(z_i, z_k) / τ) over k ≠ i, τ = {tau:.2f}")
    ax1.set_xlabel("k (views 1 of 6 digits, then views 2)")
    ax1.set_ylabel("anchor i")
    ax2.plot(taus, curve, color="k")
    ax2.plot(tau, loss, "o", color="red", ms=8)
    ax2.axhline(np.log(2 * n - 1), color="grey", ls="--", label="log(2N − 1): no better than chance")
    ax2.set_xlabel("τ")
    ax2.set_ylabel("NT-Xent")
    ax2.legend()
    ax2.grid(alpha=0.3)
    positive = float(np.mean([p[i, (i + n) % (2 * n)] for i in range(2 * n)]))
    return (f"Two views each of {n} test digits, embedded by the SimCLR model of the next demo. Red boxes mark each "
            f"anchor's positive, the other view of its digit: it receives {positive:.0%} of the probability on "
            f"average (chance: {1 / (2 * n - 1):.0%}), and the loss is {loss:.3f}. A small τ sharpens the softmax, so "
            "the loss attends to the hardest negatives; a large τ spreads it and the loss approaches log(2N − 1).")


# --- 3. the embedding as training runs ----------------------------------------------------------------------

def _embedding_draw(fig, s, snapshot):
    i = min(int(snapshot), len(s["steps"]) - 1)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.2, 1])
    xy = s["points"][i]
    sc = ax1.scatter(xy[:, 0], xy[:, 1], c=s["labels"], cmap="tab10", s=8, vmin=-0.5, vmax=9.5)
    fig.colorbar(sc, ax=ax1, ticks=range(10), label="digit (not seen in training)")
    ax1.set_title(f"test digits' features after {int(s['steps'][i])} steps (first two principal components)")
    ax1.set_xticks([])
    ax1.set_yticks([])
    for j, (name, colour) in enumerate((("all 1,198 labels", "k"), ("10 labels per class", "tab:blue"))):
        ax2.plot(s["steps"], s["accuracy"][:, j], color=colour, label=name)
        ax2.plot(s["steps"][i], s["accuracy"][i, j], "o", color="red", ms=7)
    ax2.legend(loc="lower right")
    ax2.set_xlabel("SimCLR step")
    ax2.set_ylabel("k-NN accuracy on the test digits")
    ax2.set_ylim(0, 1)
    ax2.grid(alpha=0.3)
    return (f"After {int(s['steps'][i])} steps of SimCLR (batch 256, τ = 0.5, in cycles of {EVERY} steps whose cosine "
            "learning-rate schedule restarts, so that the snapshots can be taken; labels never used), a k-NN classifier "
            f"on the frozen features labels {s['accuracy'][i, 0]:.0%} of the 599 test digits correctly with all the "
            f"training labels and {s['accuracy'][i, 1]:.0%} with 10 labels per class (chance: 10%; before training, "
            f"{s['accuracy'][0, 0]:.0%} and {s['accuracy'][0, 1]:.0%}: a random convolutional network already keeps "
            "much of the pixels' information). The classes gather into clusters as training runs, although nothing "
            "told the network what a class is; few labels gain most.")


# --- 4. attention of a ViT trained with DINO -------------------------------------------------------------------

def _dino() -> bool:
    """Whether DINO's published ViT-S/16 is on this machine (downloaded, its hash committed): the demo then shows
    it on photographs, as the lecture does; otherwise the course's small ViT on generated scenes."""
    from elvkit.models import dino_available

    return dino_available("vits16")


#: the attention demo's model, chosen when the lecture loads: (its name, images, the patch grid's side, pixels a patch)
VIT = ("DINO's ViT-S/16", "photo", 14, 16) if _dino() else ("the course's ViT", "scene", 8, 8)


@lru_cache(maxsize=None)
def _vit_setup():
    from elvkit.models import course_vit, dino_vit, imagenet_normalise

    if _dino():
        from elvkit.data import load_photographs

        photos = load_photographs(224)
        x, model, names = imagenet_normalise(torch.as_tensor(photos.images)), dino_vit("vits16"), photos.names
        images = photos.images
    else:
        from elvkit.data import make_object_scenes

        scenes = make_object_scenes(16, seed=10_000)
        images, names = scenes.images, [f"scene {i}" for i in range(len(scenes))]
        x, model = torch.as_tensor(images), course_vit()
    with torch.no_grad():
        out = model.eval().inspect(x)
    return dict(images=images, names=names, attention=out["attention"][-1].numpy(), grid=out["grid"])


def _attention_draw(fig, s, scene, row, col):
    import matplotlib.patches

    i = min(int(scene), len(s["images"]) - 1)
    att = s["attention"][i]
    h, w = s["grid"]
    heads = att.shape[0]
    axes = fig.subplots(1, heads + 2)
    image = s["images"][i].transpose(1, 2, 0)
    axes[0].imshow(image)
    axes[0].set_title(f"{s['names'][i]}; red: the query patch", fontsize=9)
    axes[0].set_gid("elv-click")
    p = image.shape[0] // h
    axes[0].add_patch(matplotlib.patches.Rectangle((col * p - 0.5, row * p - 0.5), p, p, fill=False, ec="red", lw=2))
    for k in range(heads):
        axes[1 + k].imshow(att[k, 0, 1:].reshape(h, w), cmap="inferno")
        axes[1 + k].set_title(f"[CLS], head {k + 1}", fontsize=9)
    token = 1 + int(row) * w + int(col)
    axes[-1].imshow(att[:, token, 1:].mean(0).reshape(h, w), cmap="inferno")
    axes[-1].set_title(f"from patch ({int(row)}, {int(col)})", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if VIT[1] == "photo":
        return (f"The last block's attention of DINO's ViT-S/16 (Caron et al. 2021) on a photograph ({h}×{w} patches "
                f"of {p}×{p} pixels). Each head's [CLS] row says where the image's summary looks -- on the object, "
                "without a label ever telling it what one is; the last panel, what the red patch attends to: the "
                "rest of its own object, which is what MaskCut segments.")
    return (f"The last block's attention of the course's small ViT on a scene it never saw ({h}×{w} patches of {p}×{p} "
            "pixels). Each head's [CLS] row says where the image's summary looks; the last panel, what the red patch "
            "attends to. This tiny model, trained for minutes, separates figure from ground more than objects (the "
            "assignment measures it); DINO's published ViT, once an instructor has downloaded it, shows the lecture's "
            "pictures here.")


DEMOS = [
    Demo("Augmentations decide what the embedding ignores",
         "Two random views of each digit: a crop resized back, brightness and contrast jitter, blur and noise, all "
         "on the whole batch at once. Move the controls and draw new views.",
         {"seed": Slider("random draw", 0, 30, 1, 0), "min_scale": Slider("smallest crop (area)", 0.1, 1.0, 0.05, 0.3),
          "jitter": Slider("brightness/contrast", 0.0, 0.8, 0.1, 0.4), "sigma": Slider("blur σ", 0.0, 2.0, 0.25, 1.0)},
         _augment_draw, size=(10.0, 4.0)),
    Demo("NT-Xent and the temperature τ",
         "For each anchor view, NT-Xent is a softmax classification of its positive among the 2N − 1 other views, "
         "with the cosine similarities divided by τ.",
         {"tau": Slider("τ", 0.05, 2.0, 0.05, 0.5)},
         _ntxent_draw, _snapshots, size=(11.5, 4.4)),
    Demo("The embedding of the digits as SimCLR trains",
         "The encoder's features of the 599 test digits, projected on their first two principal components, coloured "
         "by the label SimCLR never saw.",
         {"snapshot": Slider("snapshot", 0, STEPS // EVERY, 1, STEPS // EVERY)},
         _embedding_draw, _snapshots, size=(11.5, 4.4)),
    Demo("What a ViT trained with DINO attends to",
         (f"{VIT[0][0].upper() + VIT[0][1:]}, trained with DINO"
          + (" on ImageNet, on photographs" if VIT[1] == "photo" else " on generated scenes of textured objects "
             "that share their colours") + ": the [CLS] token's attention per head, and the attention of one patch."),
         {"scene": Slider(VIT[1], 0, 4 if VIT[1] == "photo" else 15, 1, 0),
          "row": Slider("patch row", 0, VIT[2] - 1, 1, VIT[2] // 2 - 1),
          "col": Slider("patch column", 0, VIT[2] - 1, 1, VIT[2] // 2 - 1)},
         _attention_draw, _vit_setup, size=(14.0, 3.0) if VIT[1] == "photo" else (12.5, 3.0),
         click=lambda x, y: {"row": (y + 0.5) // VIT[3], "col": (x + 0.5) // VIT[3]}),
]
