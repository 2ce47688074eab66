"""A small Vision Transformer whose attention and keys can be looked at, in the layout of DINO's ViTs.

The module names follow the official DINO implementation (``patch_embed.proj``, ``cls_token``, ``pos_embed``,
``blocks.i.norm1``, ``blocks.i.attn.qkv``, ``blocks.i.attn.proj``, ``blocks.i.norm2``, ``blocks.i.mlp.fc1`` /
``fc2``, ``norm``), so that a state dict published for DINO's ViT-S/16 loads with :func:`load_dino_state_dict`
(the position embeddings are interpolated when the number of patches differs).

:meth:`VisionTransformer.forward` returns the [CLS] token's final features; :meth:`VisionTransformer.inspect`
also returns every layer's attention ``(B, heads, 1 + P, 1 + P)`` and the last layer's keys
``(B, heads, 1 + P, head_dim)``, which is what the attention maps of the lecture and MaskCut's affinities use.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["VisionTransformer", "vit_tiny", "vit_small", "load_dino_state_dict", "course_state", "course_vit",
           "dino_vits16", "dino_vit", "dino_available", "imagenet_normalise", "DINO_MODELS"]


class PatchEmbed(nn.Module):
    """Non-overlapping ``patch`` x ``patch`` patches, each projected to ``dim`` (a strided convolution)."""

    def __init__(self, patch: int, channels: int, dim: int):
        super().__init__()
        self.patch = patch
        self.proj = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)          # (B, P, dim)


class Attention(nn.Module):
    """Multi-head self-attention that also returns its attention weights and keys."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attention = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)
        out = (attention @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out), attention, k


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(LN(x)), then x + mlp(LN(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        y, attention, keys = self.attn(self.norm1(x))
        x = x + y
        return x + self.mlp(self.norm2(x)), attention, keys


class VisionTransformer(nn.Module):
    """A ViT with a [CLS] token: images (B, C, H, W) with H and W multiples of ``patch``.

    Parameters
    ----------
    image_size, patch, channels : int
        The training image size (position embeddings are interpolated for other sizes), the patch size, the
        input channels.
    dim, depth, heads : int
        Token width, number of blocks, attention heads (``dim`` divisible by ``heads``).
    mlp_ratio : float
        The MLP's hidden width over ``dim``.
    """

    def __init__(self, image_size: int = 64, patch: int = 8, channels: int = 3, dim: int = 96, depth: int = 4,
                 heads: int = 3, mlp_ratio: float = 4.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim must be divisible by heads; got dim={dim}, heads={heads}")
        if image_size % patch:
            raise ValueError(f"image_size must be a multiple of patch; got {image_size} and {patch}")
        self.patch, self.dim, self.heads = patch, dim, heads
        self.patch_embed = PatchEmbed(patch, channels, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + (image_size // patch) ** 2, dim))
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def _pos_embed(self, h: int, w: int):
        grid = self.pos_embed.shape[1] - 1
        side = int(math.isqrt(grid))
        if h * w == grid and h == w == side:
            return self.pos_embed
        cls, patches = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        patches = patches.reshape(1, side, side, -1).permute(0, 3, 1, 2)
        patches = F.interpolate(patches, size=(h, w), mode="bicubic", align_corners=False)
        return torch.cat([cls, patches.permute(0, 2, 3, 1).reshape(1, h * w, -1)], dim=1)

    def tokens(self, x):
        """The input tokens: [CLS] then the patches (row-major), position embeddings added."""
        if x.ndim != 4 or x.shape[-1] % self.patch or x.shape[-2] % self.patch:
            raise ValueError(f"images must be (B, C, H, W) with H and W multiples of {self.patch}; "
                             f"got {tuple(x.shape)}")
        h, w = x.shape[-2] // self.patch, x.shape[-1] // self.patch
        t = self.patch_embed(x)
        t = torch.cat([self.cls_token.expand(len(t), -1, -1), t], dim=1)
        return t + self._pos_embed(h, w)

    def inspect(self, x):
        """Features, every layer's attention and the last layer's keys.

        Returns
        -------
        dict with ``cls`` (B, dim), ``patches`` (B, P, dim), ``attention`` (a list of (B, heads, 1 + P, 1 + P),
        one per block), ``keys`` (B, heads, 1 + P, dim / heads) of the last block, ``grid`` (h, w) of patches.
        """
        t = self.tokens(x)
        attentions, keys = [], None
        for block in self.blocks:
            t, attention, keys = block(t)
            attentions.append(attention)
        t = self.norm(t)
        return {"cls": t[:, 0], "patches": t[:, 1:], "attention": attentions, "keys": keys,
                "grid": (x.shape[-2] // self.patch, x.shape[-1] // self.patch)}

    def forward(self, x):
        """The [CLS] token's final features, (B, dim)."""
        return self.inspect(x)["cls"]


def vit_tiny(**kwargs) -> VisionTransformer:
    """The course's ViT for 64x64 scenes: patch 8, width 96, 4 blocks, 3 heads (about 0.45 M parameters)."""
    return VisionTransformer(**{"image_size": 64, "patch": 8, "dim": 96, "depth": 4, "heads": 3, **kwargs})


def vit_small(**kwargs) -> VisionTransformer:
    """DINO's ViT-S/16 shape: patch 16, width 384, 12 blocks, 6 heads, for 224x224 images (21.7 M parameters)."""
    return VisionTransformer(**{"image_size": 224, "patch": 16, "dim": 384, "depth": 12, "heads": 6, **kwargs})


def load_dino_state_dict(model: VisionTransformer, state: dict) -> VisionTransformer:
    """Load a state dict in DINO's layout into ``model`` (a ``"teacher"`` or ``"student"`` checkpoint's
    ``module.``/``backbone.`` prefixes are stripped, the projection head's ``head.`` keys ignored, and the
    position embeddings interpolated to the model's grid).

    Raises
    ------
    ValueError
        When a backbone weight is missing or has another shape than the model's, naming the first one.
    """
    clean = {}
    for key, value in state.items():
        for prefix in ("module.", "backbone."):
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key.startswith("head."):
            continue
        clean[key] = value
    own = model.state_dict()
    if "pos_embed" in clean and clean["pos_embed"].shape != own["pos_embed"].shape:
        pe = clean["pos_embed"]
        side_in, side_out = int(math.isqrt(pe.shape[1] - 1)), int(math.isqrt(own["pos_embed"].shape[1] - 1))
        patches = pe[:, 1:].reshape(1, side_in, side_in, -1).permute(0, 3, 1, 2)
        patches = F.interpolate(patches, size=(side_out, side_out), mode="bicubic", align_corners=False)
        clean["pos_embed"] = torch.cat([pe[:, :1], patches.permute(0, 2, 3, 1).reshape(1, side_out ** 2, -1)], 1)
    for key, value in own.items():
        if key not in clean:
            raise ValueError(f"the checkpoint has no weight {key!r} (shape {tuple(value.shape)}): is it a ViT in "
                             "DINO's layout, of this size?")
        if tuple(clean[key].shape) != tuple(value.shape):
            raise ValueError(f"the checkpoint's {key!r} has shape {tuple(clean[key].shape)}; this model's has "
                             f"{tuple(value.shape)}")
    model.load_state_dict({k: clean[k] for k in own})
    return model


#: where the course's trained checkpoint lives inside the package, beside its record (sha256, size, recipe)
WEIGHTS = Path(__file__).parent / "weights"


def course_state(name: str, *, verify: bool = True) -> tuple[dict, dict]:
    """A checkpoint the course trained and ships inside elvkit (``elvkit/models/weights/<name>.pt``), as a state
    dict, with its record ``<name>.json`` (sha256, size, the recipe and the script that made it).

    ``verify`` checks the file against the recorded sha256 before loading it. The state dict loads into the
    model the recording script names (for a model students build in an assignment, into theirs).

    Raises
    ------
    FileNotFoundError
        When the checkpoint or its record is missing.
    ValueError
        When the file's sha256 is not the recorded one (a damaged or replaced checkpoint).
    """
    path, record = WEIGHTS / f"{name}.pt", WEIGHTS / f"{name}.json"
    if not path.is_file() or not record.is_file():
        known = sorted(p.stem for p in WEIGHTS.glob("*.pt")) if WEIGHTS.is_dir() else []
        raise FileNotFoundError(f"no course checkpoint {name!r} in {WEIGHTS} (found: {', '.join(known) or 'none'})")
    meta = json.loads(record.read_text())
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest() if verify else meta["sha256"]
    if digest != meta["sha256"]:
        raise ValueError(f"{path.name}: its sha256 is {digest}, its record says "
                         f"{meta['sha256']}: the file is damaged or was replaced; reinstall elvkit")
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True), meta


def course_vit(name: str = "vit_tiny_dino", *, verify: bool = True) -> VisionTransformer:
    """The course's ViT trained with DINO on the multi-object scenes (``solutions/03_self_supervised/train_vit.py``
    makes it, deterministically given its seed), with the weights of its EMA teacher, in eval mode.

    The checkpoint ships inside elvkit (``elvkit/models/weights/<name>.pt``) with a record ``<name>.json`` of its
    sha256, size and training recipe; it is read by :func:`course_state`, which checks it (``verify``) and raises
    for a missing or damaged file.
    """
    state, meta = course_state(name, verify=verify)
    shape = {k: meta[k] for k in ("image_size", "patch", "dim", "depth", "heads") if k in meta}
    model = vit_tiny(**shape) if meta.get("model", "vit_tiny") == "vit_tiny" else vit_small(**shape)
    load_dino_state_dict(model, state)
    return model.eval()


#: DINO's published ViT-S backbones (Caron et al. 2021): name -> (the data registry's file, the patch size). S/8 is
#: the one the MaskCut paper (Wang et al. 2023) cuts: a 28 x 28 grid of keys at 224 x 224
DINO_MODELS = {"vits16": ("dino/dino_deitsmall16_pretrain.pth", 16), "vits8": ("dino/dino_deitsmall8_pretrain.pth", 8)}
#: the ImageNet statistics DINO's ViTs were trained on: inputs are normalised with them
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _dino_file(name: str) -> str:
    if name not in DINO_MODELS:
        raise ValueError(f"`name` must be one of {', '.join(DINO_MODELS)} (DINO's ViT-S/16 and ViT-S/8); got {name!r}")
    return DINO_MODELS[name][0]


def dino_available(name: str = "vits16") -> bool:
    """Whether DINO's ``name`` backbone can be loaded here: downloaded into the data cache, and its sha256 committed
    in the data registry (it is a pickle: read only against a committed hash). Offline, the course's own ViT
    (:func:`course_vit`) stands in."""
    from ..data.registry import available

    return any(row["name"] == _dino_file(name) and row["cached"] and row["sha256"] for row in available())


def dino_vit(name: str = "vits16") -> VisionTransformer:
    """DINO's official ViT-S/16 (``"vits16"``) or ViT-S/8 (``"vits8"``) backbone (Caron et al. 2021), downloaded
    on first use (83 MB / 82 MB, through the data registry: pooch, sha256), loaded with :func:`load_dino_state_dict`;
    for 224 x 224 images normalised with :func:`imagenet_normalise`, in eval mode. The file is read only when the
    registry holds its sha256 (``python -m elvkit.data hash`` prints it, for an instructor to commit once).

    Raises
    ------
    ValueError
        For an unknown ``name``, or a file whose sha256 the registry does not hold or that differs from it.
    """
    from ..data.registry import fetch

    state = torch.load(fetch(_dino_file(name), executes=True), map_location="cpu", weights_only=True)
    return load_dino_state_dict(vit_small(patch=DINO_MODELS[name][1]), state).eval()


def dino_vits16() -> VisionTransformer:
    """DINO's official ViT-S/16 backbone: :func:`dino_vit` ``("vits16")``."""
    return dino_vit("vits16")


def imagenet_normalise(images: torch.Tensor) -> torch.Tensor:
    """Images (B, 3, H, W) in [0, 1] normalised with ImageNet's mean and standard deviation, as DINO's published
    ViTs expect them."""
    if not torch.is_tensor(images) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"`images` must be a tensor (B, 3, H, W) of RGB images in [0, 1]; got "
                         f"{type(images).__name__} {tuple(getattr(images, 'shape', ()))}")
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device)[None, :, None, None]
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device)[None, :, None, None]
    return (images - mean) / std
