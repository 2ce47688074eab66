"""Small real images for representation learning, offline: scikit-learn's handwritten digits.

The 1,797 digits of the UCI "optical recognition of handwritten digits" set (8 x 8 pixels, 16 grey
levels) ship inside scikit-learn's wheel, so they need no download. :func:`load_digits` splits them once,
the same way for everyone (a seeded, class-stratified split), and scales them to ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Digits", "load_digits"]


@dataclass(frozen=True)
class Digits:
    """A split of the digits: images ``(N, 1, 8, 8)`` float32 in ``[0, 1]`` and labels ``(N,)`` int64 in 0..9.

    The training images are what self-supervised learning sees (without their labels); the test images are
    only for evaluating a probe."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def __repr__(self) -> str:
        return (f"Digits({len(self.train_images)} training and {len(self.test_images)} test images of shape "
                f"{tuple(self.train_images.shape[1:])}, 10 classes)")

    def few_shot(self, shots: int, seed: int = 0) -> np.ndarray:
        """Indices of ``shots`` training images per class, drawn with ``seed`` (every class has more than 100)."""
        if not isinstance(shots, (int, np.integer)) or shots < 1:
            raise ValueError(f"shots must be a positive integer, got {shots!r}")
        rng = np.random.default_rng(seed)
        picked = []
        for c in range(10):
            where = np.flatnonzero(self.train_labels == c)
            if shots > len(where):
                raise ValueError(f"shots={shots} but class {c} has only {len(where)} training images")
            picked.append(np.sort(rng.choice(where, size=shots, replace=False)))
        return np.concatenate(picked)


def load_digits(test_fraction: float = 1 / 3, seed: int = 0) -> Digits:
    """scikit-learn's 1,797 handwritten digits, split into training and test images, stratified by class.

    Parameters
    ----------
    test_fraction : float
        The share of each class kept for testing (default a third: 1,198 training and 599 test images).
    seed : int
        The split's seed; the default split is the course's.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    from sklearn.datasets import load_digits as _sk_digits

    data = _sk_digits()
    images = (data.images / 16.0).astype(np.float32)[:, None]
    labels = data.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(10):
        where = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(test_fraction * len(where)))
        test.append(where[:k])
        train.append(where[k:])
    train, test = np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
    return Digits(images[train], labels[train], images[test], labels[test])
