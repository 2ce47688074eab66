"""Lecture demos of "Slot Attention Networks": attention masks per iteration, the number of slots at test time,
and colour as the cue slots group by. They run the assignment's reference model with the course's trained
weights (`elv lecture slots`; `elv slides slots` for the deck)."""

from functools import lru_cache

import numpy as np
import torch

import elvkit
from autograder.integrity.reference import load
from autograder.lecture import Choice, Demo, Slider

TITLE = "Slot attention"
ALIASES = ("slots", "object_discovery")
INTRO = """
Can clustering be learned end to end? M slots compete for the N encoder features: the attention is normalised
**over the slots**, a_ij ∝ exp(k(x_i)·q(m̃_j)/√D), each slot is updated by the weighted mean of what it won,
u_j = Σ_i a_ij v(x_i) / Σ_i a_ij, through a GRU and an MLP, T times; a decoder draws every slot with an alpha mask,
and the image is rebuilt from the slots. Everything here runs the course's reference model with the weights the
course trained on flat-coloured scenes.
"""

ref = load("05_slot_attention")
SCENES = 16


@lru_cache(maxsize=None)
def _model():
    from elvkit.models import course_state

    state, record = course_state("slots_palette")
    model = ref.SlotAutoencoder(record["size"], record["slots"], record["dim"]).to(elvkit.device())
    model.load_state_dict(state)
    return model.eval(), record


@lru_cache(maxsize=None)
def _scenes(variant):
    from elvkit.data import make_object_scenes

    size = _model()[1]["size"]
    return make_object_scenes(SCENES, seed=10_000, size=size, objects=(2, 4), variant=variant)


def _run(images, seed=0, num_slots=None, iterations=None):
    model, _ = _model()
    default = model.slot_attention.iterations
    model.slot_attention.iterations = iterations or default
    try:
        with torch.no_grad():
            x = torch.as_tensor(images).to(elvkit.device())
            slots = model.initial_slots(len(x), torch.Generator().manual_seed(int(seed)), x.device, num_slots=num_slots)
            recon, masks, attentions = model(x, slots)
    finally:
        model.slot_attention.iterations = default
    return recon.cpu().numpy(), masks.cpu().numpy(), [a.cpu().numpy() for a in attentions]


def _tiles(maps, size, gap=2, fill=1.0):
    """Maps (K, size, size) side by side in one array, ``gap`` pixels apart."""
    out = np.full((size, len(maps) * (size + gap) - gap) + maps.shape[3:], fill, np.float32)
    for k, m in enumerate(maps):
        out[:, k * (size + gap):k * (size + gap) + size] = m
    return out


def _fg_ari(truth, labels):
    """FG-ARI of one label map (H, W) against the true one, with the reference's ``fg_ari``."""
    return float(ref.fg_ari(torch.as_tensor(truth)[None], torch.as_tensor(labels)[None])[0])


def _objects_won(truth, labels) -> tuple[int, int]:
    """(how many objects have a slot of their own, how many objects): an object's slot is the one holding most of
    its pixels; it is the object's own when it holds at least half of them and is no other object's slot."""
    owners = {}
    for obj in (o for o in np.unique(truth) if o != 0):
        pixels = labels[truth == obj]
        slot = int(np.bincount(pixels).argmax())
        owners[obj] = (slot, float((pixels == slot).mean()))
    slots = [slot for slot, _ in owners.values()]
    return sum(1 for slot, share in owners.values() if share >= 0.5 and slots.count(slot) == 1), len(owners)


# --- 1. attention per iteration -------------------------------------------------------------------------------

def _iterations_draw(fig, _state, scene, iterations, seed):
    scenes = _scenes("palette")
    size = scenes.images.shape[-1]
    image = scenes.images[int(scene):int(scene) + 1]
    recon, masks, attentions = _run(image, seed=seed, iterations=int(iterations))
    rows = [_tiles(a[0].reshape(-1, size, size) / max(a[0].max(), 1e-9), size, fill=np.nan) for a in attentions]
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 2.6])
    ax1.imshow(_tiles(np.stack([image[0].transpose(1, 2, 0), recon[0].transpose(1, 2, 0).clip(0, 1)]), size))
    ax1.set_title("scene · reconstruction")
    ax1.axis("off")
    grid = np.concatenate([np.pad(r, ((0, 2), (0, 0)), constant_values=np.nan) for r in rows])
    ax2.imshow(grid, cmap="viridis", vmin=0, vmax=1)
    m = attentions[0].shape[1]
    ax2.set_yticks([size / 2 + t * (size + 2) for t in range(len(rows))], [f"t = {t + 1}" for t in range(len(rows))])
    ax2.set_xticks([size / 2 + k * (size + 2) for k in range(m)], [f"slot {k + 1}" for k in range(m)])
    ax2.set_title("attention a_ij of each slot over the pixels, per iteration")
    truth, labels = scenes.masks[int(scene)], masks[0].argmax(0)
    ari = _fg_ari(truth, labels)
    won, k = _objects_won(truth, labels)
    outcome = ("each of them has won a slot of its own" if won == k else
               f"{won} of them {'has' if won == 1 else 'have'} won a slot of {'its' if won == 1 else 'their'} own; "
               "the others share a slot or are split between several")
    return (f"Iteration 1 starts from random slots (draw {int(seed)}), so the slots split the image almost at random; "
            f"the iterations let them compete for the pixels. Here, after T = {int(iterations)} (the model was "
            f"trained with T = 3), the scene's {k} objects: {outcome}; the masks score FG-ARI {ari:.2f} (1 = every "
            "object in a slot of its own, 0 = chance).")


# --- 2. the number of slots -------------------------------------------------------------------------------------

def _slots_draw(fig, _state, num_slots, scene):
    scenes = _scenes("palette")
    size = scenes.images.shape[-1]
    image = scenes.images[int(scene):int(scene) + 1]
    recon, masks, _ = _run(image, num_slots=int(num_slots))
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 2.6])
    ax1.imshow(_tiles(np.stack([image[0].transpose(1, 2, 0), recon[0].transpose(1, 2, 0).clip(0, 1)]), size))
    ax1.set_title("scene · reconstruction")
    ax1.axis("off")
    ax2.imshow(_tiles(masks[0], size), cmap="gray", vmin=0, vmax=1)
    ax2.set_title(f"the alpha mask of each of {int(num_slots)} slots")
    ax2.axis("off")
    ari = _fg_ari(scenes.masks[int(scene)], masks[0].argmax(0))
    mse = float(((recon[0] - image[0]) ** 2).mean())
    k = int(scenes.num_objects[int(scene)])
    return (f"The scene has {k} objects and a background; the model was trained with 5 slots. With {int(num_slots)} "
            f"slots: FG-ARI {ari:.2f}, reconstruction error (MSE) {mse:.4f}. The slots share one learned "
            "initial distribution, so their number can change at test time: too few and objects merge, too many and "
            "the spare slots split the background or stay empty.")


# --- 3. colour is the cue ---------------------------------------------------------------------------------------

def _colour_draw(fig, _state, variant, scene):
    from elvkit.baselines import kmeans_colours

    scenes = _scenes(variant)
    size = scenes.images.shape[-1]
    i = int(scene)
    _, masks, _ = _run(scenes.images[i:i + 1])
    k = int(scenes.num_objects[i]) + 1
    km = kmeans_colours(scenes.images[i], k)
    slot_seg = masks[0].argmax(0)
    ari_slots = _fg_ari(scenes.masks[i], slot_seg)
    ari_km = _fg_ari(scenes.masks[i], km)
    axes = fig.subplots(1, 4)
    axes[0].imshow(scenes.images[i].transpose(1, 2, 0))
    axes[0].set_title(f"{variant} scene")
    axes[1].imshow(scenes.masks[i], cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    axes[1].set_title("objects")
    axes[2].imshow(slot_seg, cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    axes[2].set_title(f"slots: FG-ARI {ari_slots:.2f}")
    axes[3].imshow(km, cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    axes[3].set_title(f"k-means on colour: {ari_km:.2f}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return ("FG-ARI compares the segmentation with the objects over the object pixels (1 = exact, 0 = chance). On "
            "flat-coloured scenes, colour alone separates the objects, and slots and k-means both find them. On "
            "colour-proof scenes the objects are textured and share their colours with each other and the ground: "
            "the model (trained on flat colours) falls back to compact blobs, and k-means fails. Over 256 scenes the "
            "assignment measures 0.66 vs 0.77 (flat) and 0.46 vs 0.29 (colour-proof). Pixels are not enough: "
            "hence self-supervised features and clustering, as in MaskCut.")


DEMOS = [
    Demo("Slots compete for the pixels, iteration by iteration",
         "The attention is a softmax over the slots: every pixel distributes one unit of attention among them, so "
         "slots must divide the image. Change the scene, the number of iterations T and the random initial slots.",
         {"scene": Slider("scene", 0, SCENES - 1, 1, 1), "iterations": Slider("iterations T", 1, 6, 1, 3),
          "seed": Slider("initial slots (draw)", 0, 9, 1, 0)},
         _iterations_draw, size=(12.0, 3.8)),
    Demo("The number of slots at test time",
         "Slots are drawn from one learned Gaussian, so a trained model runs with any number of them.",
         {"num_slots": Slider("slots M", 2, 8, 1, 5), "scene": Slider("scene", 0, SCENES - 1, 1, 1)},
         _slots_draw, size=(12.0, 2.6)),
    Demo("What slots group by: colour",
         "The same model on flat-coloured scenes and on colour-proof ones, beside k-means on the pixels' colours.",
         {"variant": Choice("scenes", ("palette", "colour-proof"), "palette"), "scene": Slider("scene", 0, SCENES - 1, 1, 1)},
         _colour_draw, size=(11.0, 3.0)),
]
