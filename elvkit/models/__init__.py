"""Models the course trains or loads: a small Vision Transformer whose attention and keys can be inspected,
in the layout of DINO's ViTs (:mod:`elvkit.models.vit`)."""

from .vit import VisionTransformer, load_dino_state_dict, vit_small, vit_tiny

__all__ = ["VisionTransformer", "vit_tiny", "vit_small", "load_dino_state_dict"]
