"""CIFAR-10, STL-10 and DINO's ViT-S/16 weights: read from tiny archives laid out like the real ones, put in the
data cache (never downloaded)."""

import io
import pickle
import tarfile

import numpy as np
import pytest
import torch


def _add(tar, name, data: bytes):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ELVKIT_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _commit(tmp_path, monkeypatch, cache, *names):
    """A registry (the shipped one's entries) in which ``names`` have the sha256 of the files now in ``cache``:
    the instructor's committed hash of a copy they trust."""
    import tomllib

    from elvkit.data.registry import _registry_path, file_sha256

    table = tomllib.loads(_registry_path().read_text())
    lines = []
    for name, entry in table.items():
        sha = file_sha256(cache / name) if name in names else entry.get("sha256", "")
        lines.append(f'["{name}"]\nurl = "{entry["url"]}"\nsha256 = "{sha}"\n')
    (tmp_path / "registry.toml").write_text("\n".join(lines))
    monkeypatch.setenv("ELVKIT_REGISTRY", str(tmp_path / "registry.toml"))


def _cifar_archive(path, images, labels, extra=None):
    """A tiny archive laid out like CIFAR-10's python version, pickled with protocol 2 as the real one is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
            batch = {b"data": images[i].reshape(4, -1), b"labels": labels[i].tolist(), b"batch_label": b"x"}
            _add(tar, f"cifar-10-batches-py/{name}", extra if extra is not None and i == 0 else
                 pickle.dumps(batch, protocol=2))
        names = [n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                      "truck")]
        _add(tar, "cifar-10-batches-py/batches.meta", pickle.dumps({b"label_names": names}, protocol=2))


def test_cifar10_reads_its_five_batches_and_test_batch(cache, rng, tmp_path, monkeypatch):
    images = rng.integers(0, 256, size=(6, 4, 3, 32, 32), dtype=np.uint8)       # batches 1-5 and the test batch
    labels = rng.integers(0, 10, size=(6, 4))
    _cifar_archive(cache / "cifar10" / "cifar-10-python.tar.gz", images, labels)
    from elvkit.data import load_cifar10

    with pytest.raises(ValueError, match="sha256 differs"):     # not the bytes whose sha256 the registry holds
        load_cifar10()
    _commit(tmp_path, monkeypatch, cache, "cifar10/cifar-10-python.tar.gz")
    s = load_cifar10()
    assert s.train_images.shape == (20, 3, 32, 32) and s.train_images.dtype == np.uint8
    np.testing.assert_array_equal(s.train_images[4:8], images[1])          # data_batch_2, channel planes kept
    np.testing.assert_array_equal(s.test_labels, labels[5])
    assert s.classes[0] == "airplane" and len(s.classes) == 10 and "20 training and 4 test" in repr(s)
    assert s.float(s.test_images).max() <= 1.0 and s.float(s.test_images).dtype == np.float32


class _Planted:
    def __reduce__(self):
        import os

        return (os.system, ("echo planted > /dev/null",))


def test_cifar10_pickles_are_read_as_arrays_only(cache, rng, tmp_path, monkeypatch):
    """An archive whose hash an instructor committed, but whose pickle names a function: refused before it runs."""
    import os

    images = rng.integers(0, 256, size=(6, 4, 3, 32, 32), dtype=np.uint8)
    _cifar_archive(cache / "cifar10" / "cifar-10-python.tar.gz", images, rng.integers(0, 10, size=(6, 4)),
                   extra=pickle.dumps(_Planted(), protocol=2))
    ran = []
    monkeypatch.setattr(os, "system", lambda *a: ran.append(a))
    _commit(tmp_path, monkeypatch, cache, "cifar10/cifar-10-python.tar.gz")
    from elvkit.data import load_cifar10

    with pytest.raises(pickle.UnpicklingError, match="names posix.system|names os.system"):
        load_cifar10()
    assert ran == []
    for protocol in (2, 4, 5):                            # arrays as NumPy pickles them, in every protocol
        from elvkit.data.images import _unpickle_arrays

        back = _unpickle_arrays(pickle.dumps({b"a": images[0], b"b": [1, 2.5, "x"]}, protocol=protocol))
        np.testing.assert_array_equal(back[b"a"], images[0])


def test_stl10_images_come_back_row_major_with_labels_from_zero(cache, rng):
    row_major = rng.integers(0, 256, size=(3, 3, 96, 96), dtype=np.uint8)
    (cache / "stl10").mkdir(parents=True)
    with tarfile.open(cache / "stl10" / "stl10_binary.tar.gz", "w:gz") as tar:
        column_major = np.ascontiguousarray(row_major.transpose(0, 1, 3, 2)).tobytes()
        for split in ("train", "test", "unlabeled"):
            _add(tar, f"stl10_binary/{split}_X.bin", column_major)
        for split in ("train", "test"):
            _add(tar, f"stl10_binary/{split}_y.bin", np.array([1, 10, 4], np.uint8).tobytes())
        _add(tar, "stl10_binary/class_names.txt", b"airplane\nbird\ncar\ncat\ndeer\ndog\nhorse\nmonkey\nship\ntruck\n")
    from elvkit.data import load_stl10

    s = load_stl10()
    np.testing.assert_array_equal(s.train_images, row_major)
    np.testing.assert_array_equal(s.train_labels, [0, 9, 3])
    assert s.unlabelled is None and s.classes[2] == "car"
    np.testing.assert_array_equal(load_stl10(unlabelled=True).unlabelled, row_major)
    with pytest.raises(ValueError, match="`unlabelled` must be True or False; got 'yes'"):
        load_stl10(unlabelled="yes")


def test_dino_vits16_loads_the_official_layout_from_the_cache(cache, tmp_path, monkeypatch):
    """A stand-in for dino_deitsmall16_pretrain.pth: the official release's keys (no prefix), ViT-S/16 shapes."""
    from elvkit.models import dino_vits16, vit_small

    torch.manual_seed(0)
    source = vit_small(depth=12)
    (cache / "dino").mkdir(parents=True)
    torch.save(source.state_dict(), cache / "dino" / "dino_deitsmall16_pretrain.pth")
    with pytest.raises(ValueError, match="unpickled.*sha256 committed"):      # the shipped registry has no hash
        dino_vits16()
    _commit(tmp_path, monkeypatch, cache, "dino/dino_deitsmall16_pretrain.pth")
    model = dino_vits16()
    assert not model.training and model.pos_embed.shape == (1, 197, 384)
    torch.testing.assert_close(model.blocks[11].mlp.fc2.weight, source.blocks[11].mlp.fc2.weight)


def test_the_registry_lists_the_self_supervised_downloads():
    from elvkit.data.registry import registry

    table = registry()
    for name in ("cifar10/cifar-10-python.tar.gz", "stl10/stl10_binary.tar.gz", "dino/dino_deitsmall16_pretrain.pth"):
        assert table[name]["url"].startswith("https://")
