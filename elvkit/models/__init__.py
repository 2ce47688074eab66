"""Models the course trains or loads: a small Vision Transformer whose attention and keys can be inspected,
in the layout of DINO's ViTs, the checkpoint the course trained with DINO (:func:`course_vit`), DINO's published
ViT-S/16 and ViT-S/8 (:func:`dino_vit`, when an instructor has downloaded them and committed their hashes), and the
state dict of any checkpoint the course ships, checked by its sha256 (:func:`course_state`)."""

from .vit import (DINO_MODELS, VisionTransformer, course_state, course_vit, dino_available, dino_vit, dino_vits16,
                  imagenet_normalise, load_dino_state_dict, vit_small, vit_tiny)

__all__ = ["VisionTransformer", "vit_tiny", "vit_small", "load_dino_state_dict", "course_state", "course_vit",
           "dino_vits16", "dino_vit", "dino_available", "imagenet_normalise", "DINO_MODELS"]
