"""Train the course's ViT (``elvkit.models.vit_tiny``) with DINO on the shared multi-object scenes.

The checkpoint the self-supervised assignment ships (its attention maps) and the Normalized-Cuts assignment
segments with (its keys) is made by this script, deterministic given its seed::

    python solutions/03_self_supervised/train_vit.py --out elvkit/models/weights/vit_tiny_dino.pt   # CPU or GPU
    python solutions/03_self_supervised/train_vit.py --evaluate vit_tiny_dino.pt                  # FG-ARI

It saves a resumable state every ``--every`` steps (``<out>.partial``; rerun the same command after a stop), and
at the end the teacher's backbone in DINO's state-dict layout, with its sha256, the recipe and the attention's
FG-ARI written to ``<out stem>.json``. The same command gives the same file (the defaults are the shipped
checkpoint's recipe: 2,500 steps of 48 scenes, two global 64 x 64 crops and four local 32 x 32 ones; about
50 minutes on one CPU thread). The training code lives beside the solutions, not in ``elvkit``: it contains the
DINO loss, which students write in Part 5.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from elvkit.data import make_object_scenes
from elvkit.models import vit_tiny


class Head(nn.Module):
    """DINO's projection head: an MLP, an L2-normalised bottleneck, then K prototypes."""

    def __init__(self, dim: int, out: int = 256, hidden: int = 256, bottleneck: int = 64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, bottleneck))
        self.last = nn.Linear(bottleneck, out, bias=False)

    def forward(self, x):
        return self.last(F.normalize(self.mlp(x), dim=-1))


def views(images, generator, scale=(0.35, 1.0), size=None):
    """A random crop covering ``scale`` of the image's area, resized to ``size`` (default: the image's), a
    horizontal flip and a brightness change per image, batched."""
    b, c, h, w = images.shape
    size = size or h
    lo, hi = scale
    s = (lo + (hi - lo) * torch.rand(b, generator=generator)).sqrt()
    flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    tx, ty = ((torch.rand(2, b, generator=generator) * 2 - 1) * (1 - s))
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, 0, 2], theta[:, 1, 2] = s * flip, s, tx, ty
    grid = F.affine_grid(theta.to(images.device), [b, c, size, size], align_corners=False)
    out = F.grid_sample(images, grid, align_corners=False, padding_mode="reflection")
    gain = (0.8 + 0.4 * torch.rand(b, 1, 1, 1, generator=generator)).to(images.device)
    return (out * gain).clamp(0, 1)


def cross_entropy(student, teacher, center, tau_s=0.1, tau_t=0.04):
    """DINO's loss over multi-crop: the teacher's two global views (centred, sharpened) against every student
    view but the same one. ``student`` holds the two global views' outputs first, then the local views'."""
    targets = F.softmax((teacher - center) / tau_t, dim=-1).chunk(2)
    logs = F.log_softmax(student / tau_s, dim=-1).chunk(len(student) // len(targets[0]))
    terms = [-(t * log).sum(-1).mean() for i, t in enumerate(targets) for j, log in enumerate(logs) if i != j]
    return sum(terms) / len(terms)


def train(args) -> Path:
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = torch.device(args.device)
    scenes = torch.as_tensor(make_object_scenes(args.scenes, seed=args.seed).images)
    student = nn.ModuleDict({"backbone": vit_tiny(), "head": Head(96)})
    teacher = nn.ModuleDict({"backbone": vit_tiny(), "head": Head(96)})
    teacher.load_state_dict(student.state_dict())
    student.to(device), teacher.to(device)
    for p in teacher.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=0.04)
    center = torch.zeros(256, device=device)
    generator = torch.Generator().manual_seed(args.seed)
    held_out = make_object_scenes(args.held_out, seed=10_000)
    step, out = 0, Path(args.out)
    partial = out.with_suffix(out.suffix + ".partial")
    if partial.is_file():
        state = torch.load(partial, map_location=device)
        student.load_state_dict(state["student"]), teacher.load_state_dict(state["teacher"])
        opt.load_state_dict(state["opt"])
        center, step = state["center"].to(device), state["step"]
        generator.set_state(state["generator"])
        print(f"resumed at step {step}")
    start, stop = time.perf_counter(), step + args.stop_after if args.stop_after else args.steps
    while step < min(args.steps, stop):
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(len(scenes), (args.batch,), generator=generator)
        batch = scenes[idx].to(device)
        x = torch.cat([views(batch, generator), views(batch, generator)])
        local = torch.cat([views(batch, generator, (0.05, 0.35), size=32) for _ in range(args.local)])
        s = student["head"](student["backbone"](x))
        if args.local:
            s = torch.cat([s, student["head"](student["backbone"](local))])
        with torch.no_grad():
            t = teacher["head"](teacher["backbone"](x))
        loss = cross_entropy(s, t, center)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(student.parameters(), 3.0)
        opt.step()
        m = 1 - (1 - 0.996) * (math.cos(math.pi * step / args.steps) + 1) / 2
        with torch.no_grad():
            for pt, ps in zip(teacher.parameters(), student.parameters()):
                pt.mul_(m).add_(ps.detach(), alpha=1 - m)
            center = 0.9 * center + 0.1 * t.mean(0)
        step += 1
        if step % 50 == 0:
            print(f"step {step}/{args.steps} loss {loss.item():.4f} lr {lr:.2e} "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
        if step % args.every == 0 or step in (args.steps, stop):
            print(f"step {step}: FG-ARI of the teacher's [CLS] attention on {len(held_out)} new scenes "
                  f"{attention_fg_ari(teacher['backbone'], held_out):.3f}", flush=True)
            torch.save({"student": student.state_dict(), "teacher": teacher.state_dict(), "opt": opt.state_dict(),
                        "center": center, "step": step, "generator": generator.get_state()}, partial)
    if step < args.steps:
        print(f"stopped at step {step} of {args.steps}: run the same command again to resume from {partial}")
        return partial
    backbone = {k: v.detach().cpu().clone() for k, v in teacher["backbone"].state_dict().items()}
    torch.save(backbone, out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    model = teacher["backbone"]
    trained, random_init = fg_ari_trained_and_random(model, held_out)
    meta = {"file": out.name, "sha256": digest, "bytes": out.stat().st_size, "model": "vit_tiny",
            "image_size": 64, "patch": model.patch, "dim": model.dim, "depth": len(model.blocks), "heads": model.heads,
            "recipe": {"steps": args.steps, "seed": args.seed, "scenes": args.scenes, "batch": args.batch,
                       "local_crops": args.local, "lr": args.lr, "warmup": args.warmup,
                       "command": "python solutions/03_self_supervised/train_vit.py " + " ".join(
                           f"--{k} {getattr(args, k)}" for k in ("steps", "batch", "scenes", "lr", "warmup", "local",
                                                               "seed", "out"))},
            "fg_ari_cls_attention": {"held_out_scenes": f"make_object_scenes({args.held_out}, seed=10_000)",
                                     "trained": round(trained, 4), "random_init": round(random_init, 4)}}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta))
    return out


def attention_fg_ari(model, scenes) -> float:
    """FG-ARI of the arg-max over heads of the last layer's [CLS] attention, upsampled to pixels."""
    from elvkit.metrics import adjusted_rand_index

    model.eval()
    with torch.no_grad():
        out = model.inspect(torch.as_tensor(scenes.images).to(next(model.parameters()).device))
    h, w = out["grid"]
    cls = out["attention"][-1][:, :, 0, 1:].reshape(len(scenes), -1, h, w)
    labels = F.interpolate(cls, size=scenes.images.shape[-2:], mode="nearest").argmax(1).cpu().numpy()
    return float(np.mean(adjusted_rand_index(scenes.masks, labels)))


def fg_ari_trained_and_random(model, scenes) -> tuple[float, float]:
    """:func:`attention_fg_ari` of ``model`` and of a random-init ``vit_tiny`` (seed 0) on the same scenes."""
    torch.manual_seed(0)
    return attention_fg_ari(model, scenes), attention_fg_ari(vit_tiny(), scenes)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--batch", type=int, default=48)
    p.add_argument("--scenes", type=int, default=4096)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--local", type=int, default=4, help="local crops per image (DINO's multi-crop), 32x32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--every", type=int, default=200, help="save a resumable state every this many steps")
    p.add_argument("--held-out", type=int, default=256, help="new scenes the attention's FG-ARI is measured on")
    p.add_argument("--stop-after", type=int, default=0, help="stop after this many steps (resume later)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default="vit_tiny_dino.pt")
    p.add_argument("--evaluate", metavar="CHECKPOINT", help="FG-ARI of the trained and a random-init ViT")
    args = p.parse_args(argv)
    if args.evaluate:
        from elvkit.models import load_dino_state_dict

        model = load_dino_state_dict(vit_tiny(), torch.load(args.evaluate))
        trained, random_init = fg_ari_trained_and_random(model, make_object_scenes(args.held_out, seed=10_000))
        print(f"FG-ARI of the [CLS] attention heads' arg-max on {args.held_out} new scenes: trained {trained:.3f}, "
              f"random init {random_init:.3f}")
        return 0
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
