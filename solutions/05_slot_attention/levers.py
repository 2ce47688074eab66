"""Measure the slot-attention training's levers one at a time: each lever changes one thing of the recipe, trains the
course's checkpoint further for the same number of steps from the same weights and the same seed, and is scored by
the FG-ARI of its alpha masks on the same new palette scenes. The baseline continues with the recipe unchanged, so a
lever's gain is its row minus the baseline's, at equal compute.

    python solutions/05_slot_attention/levers.py                       # every lever not yet in runs/levers.jsonl
    python solutions/05_slot_attention/levers.py --only baseline bo_qsa --steps 1000

Each finished lever appends one line to ``runs/levers.jsonl`` (the lever, what it changes, the steps, the FG-ARI
before and after, the CPU seconds); a lever already there is skipped, so a stopped sweep resumes where it stopped.
``make bench`` prints the table from that file beside the baseline. Levers that change only how the model is *run*
(more iterations at test time) need no training and are measured on the starting weights.

Levers that change the model's parameters (BO-QSA's learnt queries) are trained as a subclass here: the notebook's
reference keeps its parameter names, and a lever is adopted for the shipped checkpoint only if it wins by a margin
that is worth changing what students write.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).parent
RESULTS = HERE / "runs" / "levers.jsonl"
START = Path(__file__).resolve().parents[2] / "elvkit" / "models" / "weights" / "slots_palette.pt"


@dataclass(frozen=True)
class Recipe:
    """Everything one fine-tuning stretch depends on; a lever replaces one field."""

    lr: float = 4e-4
    batch: int = 32
    clip: float = 1.0
    train_iterations: int = 3
    eval_iterations: int = 3
    temperature: float = 1.0        # the attention's logits are divided by this on top of sqrt(D)
    scenes: int = 8192
    objects: tuple = (2, 4)
    curriculum: bool = False        # the first half on 1-2 objects, then the usual 2-4
    bo_qsa: bool = False            # learnt queries with the straight-through gradient (Jia et al. 2023)
    detach_last: bool = True


#: name -> (what it tests, the recipe's change)
LEVERS = {
    "baseline": ("the recipe unchanged (lr 4e-4, batch 32, clip 1, T = 3)", {}),
    "eval_iterations_5": ("5 slot-attention iterations at test time, no training", {"eval_iterations": 5}),
    "eval_iterations_7": ("7 iterations at test time, no training", {"eval_iterations": 7}),
    "lr_1e-4": ("learning rate 1e-4 instead of 4e-4", {"lr": 1e-4}),
    "lr_1e-3": ("learning rate 1e-3 instead of 4e-4", {"lr": 1e-3}),
    "batch_64": ("batch 64 instead of 32 (twice the compute per step)", {"batch": 64}),
    "clip_10": ("gradient norm clipped at 10 instead of 1 (barely clipped)", {"clip": 10.0}),
    "train_iterations_5": ("5 iterations in training and test instead of 3", {"train_iterations": 5,
                                                                              "eval_iterations": 5}),
    "temperature_0.5": ("attention logits twice as sharp (temperature 0.5)", {"temperature": 0.5}),
    "no_detach": ("gradients through all iterations (no implicit differentiation)", {"detach_last": False}),
    "scenes_32768": ("4x as many training scenes (32,768 instead of 8,192)", {"scenes": 32768}),
    "curriculum": ("first half on 1-2 objects, then 2-4", {"curriculum": True}),
    "bo_qsa": ("BO-QSA: learnt per-slot queries, straight-through gradient into them", {"bo_qsa": True}),
}


def reference():
    from autograder.integrity.reference import load

    return load("05_slot_attention")


def build(ref, recipe: Recipe, size=32, slots=5, dim=64):
    """The reference model with the recipe's changes that touch the model; loads the course's checkpoint."""
    base = ref.SlotAutoencoder

    class Lever(base):
        def initial_slots(self, batch, generator=None, device=None, num_slots=None):
            if recipe.bo_qsa:
                return self.queries.expand(batch, -1, -1)
            return super().initial_slots(batch, generator, device, num_slots)

        def forward(self, images, slots, detach_last=True):
            if not recipe.bo_qsa:
                return super().forward(images, slots, detach_last)
            sa, inputs, init = self.slot_attention, self.encoder(images), slots
            iterations = sa.iterations
            try:
                sa.iterations = iterations - 1
                slots, attentions = sa(inputs, slots, detach_last=False)
                slots = slots.detach() + init - init.detach()          # the straight-through gradient
                sa.iterations = 1
                slots, last = sa(inputs, slots, detach_last=False)
            finally:
                sa.iterations = iterations
            recon, masks = ref.mix(*self.decoder(slots))
            return recon, masks, attentions + last

    model = Lever(size, slots, dim)
    model.load_state_dict(torch.load(START, map_location="cpu", weights_only=True))
    if recipe.bo_qsa:      # the queries start where the checkpoint's Gaussian puts its slots
        noise = torch.randn(1, slots, dim, generator=torch.Generator().manual_seed(0))
        model.queries = torch.nn.Parameter((model.slots_mu + model.slots_log_sigma.exp() * noise).detach())
    if recipe.temperature != 1.0:
        model.slot_attention.q.register_forward_hook(lambda m, i, out: out / recipe.temperature)
    model.slot_attention.iterations = recipe.train_iterations
    return model


def score(ref, model, scenes, iterations) -> float:
    from train_slots import fg_ari

    model.slot_attention.iterations, before = iterations, model.slot_attention.iterations
    try:
        return fg_ari(model, scenes)
    finally:
        model.slot_attention.iterations = before


def run_lever(name: str, steps: int, held_out: int, seed: int = 0) -> dict:
    from train_slots import scenes_at

    what, change = LEVERS[name]
    recipe = replace(Recipe(), **change)
    torch.manual_seed(seed)
    ref = reference()
    model = build(ref, recipe)
    test = scenes_at(held_out, 10_000, 32, "palette")
    before = score(ref, model, test, recipe.eval_iterations)
    started = time.process_time()
    trains = set(change) != {"eval_iterations"}
    if trains:
        data = torch.as_tensor(scenes_at(recipe.scenes, seed, 32, "palette", recipe.objects).images)
        easy = (torch.as_tensor(scenes_at(recipe.scenes, seed + 1, 32, "palette", (1, 2)).images)
                if recipe.curriculum else None)
        opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
        gen = torch.Generator().manual_seed(seed)
        from tqdm.auto import trange

        for step in trange(steps, desc=name, mininterval=10):
            pool = easy if easy is not None and step < steps // 2 else data
            images = pool[torch.randint(len(pool), (recipe.batch,), generator=gen)]
            lr = ref.learning_rate(step, recipe.lr, 100, 30_000)
            for group in opt.param_groups:
                group["lr"] = lr
            recon, _, _ = model(images, model.initial_slots(len(images), gen), recipe.detach_last)
            loss = F.mse_loss(recon, images)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
            opt.step()
    after = score(ref, model, test, recipe.eval_iterations)
    return {"lever": name, "what": what, "change": change, "steps": steps if trains else 0,
            "held_out": held_out, "fg_ari_before": round(before, 4), "fg_ari_after": round(after, 4),
            "cpu_seconds": round(time.process_time() - started, 1), "torch_threads": torch.get_num_threads(),
            "recipe": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(recipe).items()},
            "when": time.strftime("%Y-%m-%dT%H:%M:%S")}


def recorded(results: Path = RESULTS) -> dict:
    """The levers measured so far, by name (the last line of each wins)."""
    if not results.is_file():
        return {}
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return {row["lever"]: row for row in rows}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", choices=sorted(LEVERS), help="these levers (default: all not yet recorded)")
    p.add_argument("--steps", type=int, default=1000, help="training steps per lever")
    p.add_argument("--held-out", type=int, default=256, help="new palette scenes the FG-ARI is measured on")
    p.add_argument("--again", action="store_true", help="measure levers that are already recorded again")
    p.add_argument("--results", type=Path, default=RESULTS, help="the file the rows are appended to")
    args = p.parse_args(argv)
    done = recorded(args.results)
    for name in args.only or LEVERS:
        if name in done and not args.again and done[name]["steps"] in (0, args.steps):
            continue
        row = run_lever(name, args.steps, args.held_out)
        args.results.parent.mkdir(exist_ok=True)
        with open(args.results, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"{name}: FG-ARI {row['fg_ari_before']:.3f} -> {row['fg_ari_after']:.3f} "
              f"({row['cpu_seconds']:.0f} CPU s)", flush=True)
    return 0


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
