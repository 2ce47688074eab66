"""Real labelled image sets for full-size self-supervised runs, downloaded on demand: CIFAR-10 and STL-10.

Neither is needed by the tests or by the notebooks' defaults (the digits are). Each archive is fetched once
through the registry (pooch, sha256 checked or pinned on first use, cached under ``$ELVKIT_DATA_DIR``) and read
straight from the ``.tar.gz`` without unpacking it to disk.
"""

from __future__ import annotations

import pickle
import tarfile
from dataclasses import dataclass

import numpy as np

from .registry import fetch

__all__ = ["ImageSet", "load_cifar10", "load_stl10"]


@dataclass(frozen=True)
class ImageSet:
    """Labelled images as uint8 arrays ``(N, 3, H, W)`` with int64 labels in ``0..len(classes) - 1``;
    ``unlabelled`` holds STL-10's unlabelled images when asked for (else None).

    ``float()`` of an array gives the float32 ``[0, 1]`` images the notebooks use; keeping uint8 here keeps
    CIFAR-10's 60,000 images at 184 MB instead of 737 MB."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: tuple
    unlabelled: np.ndarray | None = None

    def __repr__(self) -> str:
        extra = f", {len(self.unlabelled)} unlabelled" if self.unlabelled is not None else ""
        return (f"ImageSet({self.name}: {len(self.train_images)} training and {len(self.test_images)} test images "
                f"of shape {tuple(self.train_images.shape[1:])}{extra}, {len(self.classes)} classes)")

    @staticmethod
    def float(images: np.ndarray) -> np.ndarray:
        """uint8 images as float32 in [0, 1]."""
        return images.astype(np.float32) / 255.0


def _member(tar: tarfile.TarFile, suffix: str) -> bytes:
    found = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(suffix)), key=lambda m: len(m.name))
    if not found:
        raise KeyError(f"{suffix} is not in {tar.name}; the archive's layout may have changed.")
    return tar.extractfile(found[0]).read()


def load_cifar10() -> ImageSet:
    """CIFAR-10 (Krizhevsky 2009): 50,000 training and 10,000 test images of 32 x 32, 10 classes
    (the "python version" archive, 163 MB, downloaded on first use)."""
    with tarfile.open(fetch("cifar10/cifar-10-python.tar.gz"), "r:gz") as tar:
        def batch(name):
            d = pickle.loads(_member(tar, f"cifar-10-batches-py/{name}"), encoding="bytes")
            return np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32), np.asarray(d[b"labels"], np.int64)

        parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
        test_x, test_y = batch("test_batch")
        meta = pickle.loads(_member(tar, "cifar-10-batches-py/batches.meta"), encoding="bytes")
    classes = tuple(n.decode() for n in meta[b"label_names"])
    return ImageSet("CIFAR-10", np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                    test_x, test_y, classes)


def load_stl10(unlabelled: bool = False) -> ImageSet:
    """STL-10 (Coates et al. 2011): 5,000 training and 8,000 test images of 96 x 96, 10 classes, and with
    ``unlabelled`` the 100,000 unlabelled images made for self-supervised learning (2.6 GB in memory). The
    binary archive is 2.6 GB, downloaded on first use.

    The archive stores each image column-major (x before y); they are returned row-major ``(N, 3, 96, 96)``."""
    if not isinstance(unlabelled, bool):
        raise ValueError(f"`unlabelled` must be True or False; got {unlabelled!r}")
    with tarfile.open(fetch("stl10/stl10_binary.tar.gz"), "r:gz") as tar:
        def images(name):
            raw = np.frombuffer(_member(tar, f"stl10_binary/{name}"), np.uint8)
            return np.ascontiguousarray(raw.reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2))

        def labels(name):
            return np.frombuffer(_member(tar, f"stl10_binary/{name}"), np.uint8).astype(np.int64) - 1

        classes = tuple(_member(tar, "stl10_binary/class_names.txt").decode().split())
        return ImageSet("STL-10", images("train_X.bin"), labels("train_y.bin"), images("test_X.bin"),
                        labels("test_y.bin"), classes, images("unlabeled_X.bin") if unlabelled else None)
