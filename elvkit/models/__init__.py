"""Models the course trains or loads: a small Vision Transformer whose attention and keys can be inspected,
in the layout of DINO's ViTs, the checkpoint the course trained with DINO (:func:`course_vit`), and the state dict
of any checkpoint the course ships, checked by its sha256 (:func:`course_state`)."""

from .vit import VisionTransformer, course_state, course_vit, dino_vits16, load_dino_state_dict, vit_small, vit_tiny

__all__ = ["VisionTransformer", "vit_tiny", "vit_small", "load_dino_state_dict", "course_state", "course_vit",
           "dino_vits16"]
