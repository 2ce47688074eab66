"""Shared fixtures: devices present, seeded generators, the course's assignments and their references."""

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def _devices():
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


DEVICES = _devices()


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs a CUDA or MPS device")
    for item in items:
        if "gpu" in item.keywords and len(DEVICES) == 1:
            item.add_marker(skip_gpu)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def stereo():
    from autograder.course import get_assignment

    return get_assignment("01_stereo")


@pytest.fixture(scope="session")
def ref():
    from autograder.reference import load

    return load("01_stereo")


@pytest.fixture(scope="session")
def flow_assignment():
    from autograder.course import get_assignment

    return get_assignment("02_optical_flow")


@pytest.fixture(scope="session")
def flow_ref():
    from autograder.reference import load

    return load("02_optical_flow")
