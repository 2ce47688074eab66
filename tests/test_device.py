import numpy as np
import pytest
import torch

import elvkit


def test_device_defaults_to_an_available_device(monkeypatch):
    monkeypatch.delenv("ELVKIT_DEVICE", raising=False)
    dev = elvkit.device()
    assert isinstance(dev, torch.device)
    if torch.cuda.is_available():
        assert dev.type == "cuda"
    torch.zeros(1, device=dev)


def test_env_override_to_cpu(monkeypatch):
    monkeypatch.setenv("ELVKIT_DEVICE", "cpu")
    assert elvkit.device() == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_env_override_to_missing_gpu_explains(monkeypatch):
    monkeypatch.setenv("ELVKIT_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        elvkit.device()


def test_env_override_rejects_garbage(monkeypatch):
    monkeypatch.setenv("ELVKIT_DEVICE", "gpu please")
    with pytest.raises(RuntimeError, match="ELVKIT_DEVICE"):
        elvkit.device()


def test_seed_everything_makes_runs_repeat():
    g1 = elvkit.seed_everything(7)
    a = (np.random.rand(3), torch.rand(3), g1.random(3))
    g2 = elvkit.seed_everything(7)
    b = (np.random.rand(3), torch.rand(3), g2.random(3))
    np.testing.assert_array_equal(a[0], b[0])
    torch.testing.assert_close(a[1], b[1], rtol=0, atol=0)
    np.testing.assert_array_equal(a[2], b[2])


@pytest.mark.parametrize("bad", [-1, 1.5, "3", 2**33])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises((TypeError, ValueError), match="seed"):
        elvkit.seed_everything(bad)


def test_smoke_follows_the_environment(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("ELVKIT_SMOKE", "1")
    assert elvkit.smoke() and elvkit.budget(100, 3) == 3
    monkeypatch.setenv("ELVKIT_SMOKE", "0")
    assert not elvkit.smoke() and elvkit.budget(100, 3) == 100
    monkeypatch.delenv("ELVKIT_SMOKE")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert elvkit.smoke()


def test_to_numpy_moves_tensors():
    t = torch.arange(4.0, requires_grad=True)
    out = elvkit.to_numpy(t * 2)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [0, 2, 4, 6], rtol=0, atol=0)
