"""Photographs that ship offline, for what a network trained on photographs shows (DINO's attention, MaskCut).

scikit-image bundles a few colour photographs -- an astronaut, a cat, a cup of coffee, a rocket on its pad -- and the
Middlebury Motorcycle pair's left view; :func:`load_photographs` cuts each to a centred square and resizes it, so
that a ViT's patch grid covers the whole picture. With the Berkeley Segmentation Dataset in the cache
(:func:`elvkit.data.load_bsds500`, human segmentations included) the notebooks use its photographs instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_int

__all__ = ["Photographs", "load_photographs", "PHOTOGRAPHS"]

#: name -> what it shows, the offline photographs in their order
PHOTOGRAPHS = {"astronaut": "an astronaut in front of a flag", "chelsea": "a cat", "coffee": "a cup of coffee",
               "rocket": "a rocket on its launch pad", "motorcycle": "a motorcycle in a workshop (Middlebury)"}


@dataclass(frozen=True)
class Photographs:
    """Square photographs ``images`` (N, 3, size, size), float32 in [0, 1], with their ``names`` and what each
    shows (``captions``)."""

    names: tuple
    captions: tuple
    images: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"Photographs({len(self)} of {self.images.shape[-1]} x {self.images.shape[-1]}: {', '.join(self.names)})"


def _picture(name: str) -> np.ndarray:
    import skimage.data

    if name == "motorcycle":
        return skimage.data.stereo_motorcycle()[0]
    return getattr(skimage.data, name)()


def load_photographs(size: int = 224) -> Photographs:
    """The offline photographs of :data:`PHOTOGRAPHS`, each the centred square of the picture resized to
    ``size`` x ``size`` (224: DINO's training size; a multiple of 16 keeps whole patches for ViT-S/16 and S/8)."""
    import cv2

    size = check_int(size, "size", low=16)
    images = []
    for name in PHOTOGRAPHS:
        picture = _picture(name)
        h, w = picture.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = np.ascontiguousarray(picture[top:top + side, left:left + side, :3])
        resized = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
        images.append(resized.astype(np.float32).transpose(2, 0, 1) / 255.0)
    return Photographs(tuple(PHOTOGRAPHS), tuple(PHOTOGRAPHS.values()), np.stack(images))
