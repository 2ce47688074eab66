"""Train the course's slot-attention autoencoder (Locatello et al. 2020, scaled down) on the shared multi-object
scenes, for the slot-attention assignment's checkpoint.

The model is the paper's, smaller (3 x 3 convolutions of 32 channels, 32 x 32 images, 5 slots of 64): a CNN
encoder with the soft position embedding, slot attention (LayerNorms,
q/k/v, softmax over the slots, the weighted mean over the inputs, a GRU and a residual MLP, T iterations, the
last one on detached slots as in Chang et al. 2022), and a spatial-broadcast decoder whose per-slot RGB and alpha
logits are mixed with the alphas normalised over the slots; the loss is the reconstruction's mean squared error.
Deterministic given its seed::

    python solutions/05_slot_attention/train_slots.py --out elvkit/models/weights/slots_palette.pt   # CPU or GPU
    python solutions/05_slot_attention/train_slots.py --evaluate elvkit/models/weights/slots_palette.pt

On a GPU, a longer schedule in the paper's proportions (a few minutes on a recent GPU)::

    python solutions/05_slot_attention/train_slots.py --steps 60000 --batch 64 --lr 4e-4 --warmup 5000 \
        --half-life 30000 --out elvkit/models/weights/slots_palette.pt

``--init CHECKPOINT`` trains further from saved weights instead of a random initialisation.

It saves a resumable state every ``--every`` steps (``<out>.partial``; rerun the same command after a stop, or pass
``--stop-after N`` to train in pieces) and appends the step, loss and held-out FG-ARI to ``<out stem>.progress.jsonl``
(the curve over every stretch, copied into the record at the end), and at the end the weights with their sha256, the recipe, and the FG-ARI of
the alpha masks on new scenes of both variants (with k-means on pixel colour beside it) in ``<out stem>.json``.
The model and the training step are the assignment's reference solution (``slot_attention.nb.py``, loaded by
:func:`reference`): one source of truth, which stays beside the solutions, not in ``elvkit``, because it is what
students write in the assignment.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

from elvkit.data import make_object_scenes


def reference():
    """The assignment's reference solution (its notebook's solution cells): the model and the training step."""
    from autograder.integrity.reference import load

    return load("05_slot_attention")


def scenes_at(n: int, seed: int, size: int, variant: str, objects=(2, 4)):
    """The shared multi-object scenes at ``size`` x ``size``, 2-4 objects (5 slots: the objects and the ground)."""
    return make_object_scenes(n, seed=seed, size=size, variant=variant, objects=objects)


def fg_ari(model, scenes, seed: int = 0) -> float:
    """FG-ARI of the alpha masks' arg-max over the slots on ``scenes``."""
    from elvkit.metrics import adjusted_rand_index

    model.eval()
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    labels = []
    with torch.no_grad():
        for i in range(0, len(scenes), 64):
            x = torch.as_tensor(scenes.images[i:i + 64]).to(device)
            _, alpha, _ = model(x, model.initial_slots(len(x), gen, device))
            labels.append(alpha.argmax(1).cpu().numpy())
    model.train()
    return float(np.mean(adjusted_rand_index(scenes.masks, np.concatenate(labels))))


def kmeans_fg_ari(scenes) -> float:
    """FG-ARI of k-means on the pixels' RGB, k = the scene's objects + 1."""
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    from elvkit.metrics import adjusted_rand_index

    warnings.simplefilter("ignore", ConvergenceWarning)
    out = []
    for img, mask, k in zip(scenes.images, scenes.masks, scenes.num_objects):
        pred = KMeans(int(k) + 1, n_init=4, random_state=0).fit_predict(img.reshape(3, -1).T)
        out.append(float(adjusted_rand_index(mask, pred.reshape(mask.shape))))
    return float(np.mean(out))


def train(args) -> Path:
    """Train (or resume) as ``args`` say; returns the final checkpoint, or the resumable state when stopped early."""
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = torch.device(args.device)
    data = torch.as_tensor(scenes_at(args.scenes, args.seed, args.size, args.variant).images)
    held_out = scenes_at(args.held_out, 10_000, args.size, args.variant)
    ref = reference()
    model = ref.SlotAutoencoder(args.size, args.slots, args.dim).to(device)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location=device, weights_only=True))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(args.seed)
    step, out = 0, Path(args.out)
    partial = out.with_suffix(out.suffix + ".partial")
    progress = out.with_suffix(".progress.jsonl")
    if partial.is_file():
        state = torch.load(partial, map_location=device)
        model.load_state_dict(state["model"]), opt.load_state_dict(state["opt"])
        step = state["step"]
        generator.set_state(state["generator"])
        print(f"resumed at step {step}", flush=True)
    start, stop = time.perf_counter(), step + args.stop_after if args.stop_after else args.steps
    while step < min(args.steps, stop):
        lr = ref.learning_rate(step, args.lr, args.warmup, args.half_life)
        batch = data[torch.randint(len(data), (args.batch,), generator=generator)].to(device)
        loss, _ = ref.train_step(model, opt, batch, generator, lr, args.clip)
        step += 1
        if step % 100 == 0:
            print(f"step {step}/{args.steps} loss {loss:.5f} lr {lr:.2e} {time.perf_counter() - start:.0f} s",
                  flush=True)
        if step % args.every == 0 or step in (args.steps, stop):
            score = fg_ari(model, held_out)
            print(f"step {step}: FG-ARI of the alpha masks on {len(held_out)} new {args.variant} scenes "
                  f"{score:.3f}", flush=True)
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "generator": generator.get_state()}, partial.with_name(partial.name + ".tmp"))
            partial.with_name(partial.name + ".tmp").replace(partial)     # whole or not at all: a commit never takes half
            with open(progress, "a", encoding="utf-8") as fh:    # the training curve, over every stretch
                fh.write(json.dumps({"step": step, "loss": round(float(loss), 6), "fg_ari": round(score, 4),
                                     "seconds": round(time.perf_counter() - start, 1),
                                     "when": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
    if step < args.steps:
        print(f"stopped at step {step} of {args.steps}: run the same command again to resume from {partial}")
        return partial
    weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save(weights, out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    evaluation = {}
    for variant in ("palette", "colour-proof"):
        scenes = scenes_at(args.held_out, 10_000, args.size, variant)
        evaluation[variant] = {"slot_attention": round(fg_ari(model, scenes), 4),
                               "kmeans_colour": round(kmeans_fg_ari(scenes), 4)}
    meta = {"file": out.name, "sha256": digest, "bytes": out.stat().st_size, "model": "SlotAutoencoder",
            "size": args.size, "slots": args.slots, "dim": args.dim,
            "recipe": {k: getattr(args, k) for k in ("steps", "batch", "scenes", "lr", "warmup", "half_life", "clip",
                                                      "variant", "seed")},
            "command": "python solutions/05_slot_attention/train_slots.py " + " ".join(
                f"--{k.replace('_', '-')} {getattr(args, k)}" for k in ("steps", "batch", "scenes", "lr", "warmup",
                                                                         "half_life", "variant", "seed", "out"))
                       + (f" --init {args.init}" if args.init else ""),
            **({"init": {"file": Path(args.init).name, "sha256": hashlib.sha256(Path(args.init).read_bytes())
                         .hexdigest()}} if args.init else {}),
            "fg_ari": {"held_out_scenes": f"make_object_scenes({args.held_out}, seed=10_000, size={args.size}, "
                                          "objects=(2, 4))", **evaluation}}
    if progress.is_file():
        meta["curve"] = [json.loads(line) for line in progress.read_text().splitlines() if line.strip()]
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta), flush=True)
    return out


def main(argv=None) -> int:
    """The command line: train, resume, or ``--evaluate`` a checkpoint."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--scenes", type=int, default=8192)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--slots", type=int, default=5)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--half-life", type=int, default=10_000, help="the learning rate halves every this many steps")
    p.add_argument("--clip", type=float, default=1.0, help="the gradients' norm is clipped to this")
    p.add_argument("--variant", default="palette", choices=("palette", "colour-proof"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--every", type=int, default=500, help="save a resumable state every this many steps")
    p.add_argument("--held-out", type=int, default=256, help="new scenes the FG-ARI is measured on")
    p.add_argument("--stop-after", type=int, default=0, help="stop after this many steps (resume later)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default="slots_palette.pt")
    p.add_argument("--init", help="start from these weights (a state dict: a checkpoint to train further) instead of "
                                  "a random initialisation; recorded with its sha256")
    p.add_argument("--evaluate", metavar="CHECKPOINT", help="FG-ARI of a saved checkpoint on both variants")
    args = p.parse_args(argv)
    if args.evaluate:
        model = reference().SlotAutoencoder(args.size, args.slots, args.dim)
        model.load_state_dict(torch.load(args.evaluate, weights_only=True))
        for variant in ("palette", "colour-proof"):
            scenes = scenes_at(args.held_out, 10_000, args.size, variant)
            print(f"{variant}: FG-ARI slot attention {fg_ari(model, scenes):.3f}, "
                  f"k-means on colour {kmeans_fg_ari(scenes):.3f}")
        return 0
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
