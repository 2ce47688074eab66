"""Where computation runs, how it is seeded, and how big it is.

* :func:`device` picks the accelerator: CUDA, then Apple's MPS, then the CPU.
  The environment variable ``ELVKIT_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``,
  ``mps``) overrides the choice, for instance to compare a GPU run with the CPU.
* :func:`seed_everything` seeds Python, NumPy and torch in one call.
* :func:`smoke` tells a notebook whether it runs in the small "smoke" budget
  (under tests and under the autograder) or at full size (for people).
"""

from __future__ import annotations

import os
import random

import numpy as np

__all__ = ["device", "seed_everything", "deterministic", "to_numpy", "smoke", "budget"]

_ENV_DEVICE = "ELVKIT_DEVICE"
_ENV_SMOKE = "ELVKIT_SMOKE"


def device():
    """The torch device to run on.

    Returns
    -------
    torch.device
        ``cuda`` when a CUDA GPU is visible, else ``mps`` on Apple silicon, else
        ``cpu``. ``ELVKIT_DEVICE`` overrides the choice.

    Raises
    ------
    RuntimeError
        If ``ELVKIT_DEVICE`` names a device that is not available here.
    """
    import torch

    wanted = os.environ.get(_ENV_DEVICE, "").strip()
    if wanted:
        try:
            dev = torch.device(wanted)
        except RuntimeError as exc:
            raise RuntimeError(f"{_ENV_DEVICE}={wanted!r} is not a torch device name "
                               "(expected cpu, cuda, cuda:N or mps).") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"{_ENV_DEVICE}={wanted!r} asks for a GPU, but torch sees no CUDA "
                               "device here. Unset it to fall back to the CPU.")
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RuntimeError(f"{_ENV_DEVICE}={wanted!r}: only {torch.cuda.device_count()} CUDA "
                               "device(s) are visible.")
        if dev.type == "mps" and not _mps_available():
            raise RuntimeError(f"{_ENV_DEVICE}={wanted!r} asks for Apple's MPS, which is not "
                               "available here.")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global state and torch (CPU and CUDA).

    Parameters
    ----------
    seed : int
        A non-negative integer.

    Returns
    -------
    numpy.random.Generator
        A fresh generator seeded with ``seed``, for code that prefers explicit
        generators over global state.
    """
    from ._checks import check_int

    seed = check_int(seed, "seed", low=0, high=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


def deterministic(enabled: bool = True) -> None:
    """Ask torch for deterministic kernels (slower on the GPU; exact reruns)."""
    import torch

    torch.use_deterministic_algorithms(bool(enabled), warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = not enabled
        torch.backends.cudnn.deterministic = bool(enabled)


def to_numpy(x) -> np.ndarray:
    """Return ``x`` as a numpy array (a torch tensor is detached and moved to the CPU)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def smoke() -> bool:
    """Whether to run in the small "smoke" budget.

    True when ``ELVKIT_SMOKE`` is set to a true value (``1``, ``true``, ``yes``)
    or when the notebook is being autograded (nbgrader sets
    ``NBGRADER_EXECUTION``). ``ELVKIT_SMOKE=0`` forces full size.
    """
    value = os.environ.get(_ENV_SMOKE, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def budget(full, small):
    """``small`` in smoke mode, ``full`` otherwise: ``n_scenes = budget(8, 2)``."""
    return small if smoke() else full
