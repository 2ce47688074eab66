"""Real labelled image sets for full-size self-supervised runs, downloaded on demand: CIFAR-10 and STL-10.

Neither is needed by the tests or by the notebooks' defaults (the digits are). Each archive is fetched once
through the registry (pooch, cached under ``$ELVKIT_DATA_DIR``) and read straight from the ``.tar.gz`` without
unpacking it to disk. CIFAR-10's batches are Python pickles: the archive is read only when its sha256 is the one
committed in the registry, and its pickles through :class:`ArrayUnpickler`, which builds arrays, numbers, strings
and containers and nothing else.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from dataclasses import dataclass

import numpy as np

from .registry import fetch

__all__ = ["ImageSet", "ArrayUnpickler", "load_cifar10", "load_stl10"]


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


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and plain Python data (dicts, lists, tuples, strings, bytes,
    numbers) and refuses every other global: a pickle that names a function to call (``os.system``, ``eval``,
    any class) raises :class:`pickle.UnpicklingError` before anything runs."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
                ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        if (module, name) == ("_codecs", "encode"):       # how protocol 2 writes bytes from Python 3
            return _latin1_bytes
        raise pickle.UnpicklingError(f"a pickle that names {module}.{name}: only arrays and plain data are read")


def _latin1_bytes(text, encoding="latin1"):
    """``_codecs.encode`` as protocol-2 pickles use it, for bytes only (no other codec: zlib, base64...)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"a pickle that encodes with {str(encoding)[:20]!r}: only latin1 bytes are read")
    return text.encode("latin1")


def _unpickle_arrays(data: bytes):
    return ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()


def load_cifar10() -> ImageSet:
    """CIFAR-10 (Krizhevsky 2009): 50,000 training and 10,000 test images of 32 x 32, 10 classes
    (the "python version" archive, 163 MB, downloaded on first use and checked against the registry's sha256;
    its pickled batches are read by :class:`ArrayUnpickler`)."""
    with tarfile.open(fetch("cifar10/cifar-10-python.tar.gz", executes=True), "r:gz") as tar:
        def batch(name):
            d = _unpickle_arrays(_member(tar, f"cifar-10-batches-py/{name}"))
            return np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32), np.asarray(d[b"labels"], np.int64)

        parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
        test_x, test_y = batch("test_batch")
        meta = _unpickle_arrays(_member(tar, "cifar-10-batches-py/batches.meta"))
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
