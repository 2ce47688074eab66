"""DeepMind's multi-object data sets, read without TensorFlow from tiny GZIP TFRecord files laid out like the real
ones (tf.train.Example records with raw ``image`` and ``mask`` bytes and per-object float factors), put in the
data cache (never downloaded)."""

import gzip
import struct

import numpy as np
import pytest


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ELVKIT_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_the_record_checksum_is_tfrecords_masked_crc32c():
    """CRC-32C of "123456789" is 0xE3069283 (the standard check value); TFRecord masks it by a 15-bit rotation
    plus 0xA282EAD8."""
    from elvkit.data.multi_object import _masked_crc32c

    c = 0xE3069283
    assert _masked_crc32c(b"123456789") == (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ---- a minimal writer of tf.train.Example protocol buffers, independent of the reader ----

def _varint(x: int) -> bytes:
    out = bytearray()
    while True:
        b = x & 0x7F
        x >>= 7
        out.append(b | (0x80 if x else 0))
        if not x:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:           # length-delimited (wire type 2)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _example(features: dict) -> bytes:
    entries = b""
    for key, value in features.items():
        if isinstance(value, bytes):
            feature = _field(1, _field(1, value))                                   # BytesList
        elif np.asarray(value).dtype.kind == "f":
            feature = _field(2, _field(1, np.asarray(value, "<f4").tobytes()))      # FloatList, packed
        else:
            feature = _field(3, _field(1, b"".join(_varint(int(v) % (1 << 64)) for v in value)))   # Int64List
        entries += _field(1, _field(1, key.encode()) + _field(2, feature))
    return _field(1, entries)


def _write_tfrecords(path, records):
    from elvkit.data.multi_object import _masked_crc32c

    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        for data in records:
            head = struct.pack("<Q", len(data))
            f.write(head + struct.pack("<I", _masked_crc32c(head)) + data + struct.pack("<I", _masked_crc32c(data)))


def _tetromino_scene(rng, h=35, w=35, k=4):
    """A scene like Tetrominoes': a black ground, k - 1 pieces (the last one absent in some scenes)."""
    image = np.zeros((h, w, 3), np.uint8)
    masks = np.zeros((k, h, w, 1), np.uint8)
    labels = np.zeros((h, w), np.int64)
    visible = int(rng.integers(1, k))
    for e in range(1, visible + 1):
        y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
        labels[y:y + 6, x:x + 6] = e
    for e in range(k):
        masks[e, :, :, 0] = np.where(labels == e, 255, 0)
        if e:
            image[labels == e] = rng.integers(30, 256, 3)
    return image, masks, labels, visible


def test_tetrominoes_come_back_as_object_scenes_with_instance_masks(cache, rng):
    from elvkit.data import load_multi_object

    scenes = [_tetromino_scene(rng) for _ in range(5)]
    records = [_example({"image": s[0].tobytes(), "mask": s[1].tobytes(), "x": np.zeros(4, np.float32),
                         "shape": np.arange(4), "visibility": np.ones(4, np.float32)}) for s in scenes]
    _write_tfrecords(cache / "multi-object" / "tetrominoes_train.tfrecords", records)
    got = load_multi_object("tetrominoes", n=3)
    assert got.images.shape == (3, 3, 35, 35) and got.images.dtype == np.float32 and got.masks.shape == (3, 35, 35)
    for i in range(3):
        image, _, labels, visible = scenes[i]
        np.testing.assert_allclose(got.images[i], image.transpose(2, 0, 1) / 255.0, rtol=0, atol=1e-7)
        np.testing.assert_array_equal(got.masks[i], labels)            # pieces numbered 1..K as they appear
        assert got.num_objects[i] == visible
    assert len(load_multi_object("tetrominoes", n=50)) == 5             # the file's 5 scenes, no more
    assert "tetrominoes" in repr(got)


def test_object_numbers_skip_absent_entities_and_negative_ints_parse(cache, rng):
    """An entity slot with an empty mask is not an object: the visible ones are numbered 1..K without gaps; the
    parser reads Int64Lists with negative values (10-byte varints)."""
    from elvkit.data import load_multi_object
    from elvkit.data.multi_object import parse_example

    image, masks, labels, visible = _tetromino_scene(np.random.default_rng(3), h=64, w=64, k=5)
    masks = masks[[0, 3, 1, 4, 2]]                                      # entities 1-4 in another order, 2 empty
    record = _example({"image": image.tobytes(), "mask": masks.tobytes(), "offset": [-3, 7]})
    assert parse_example(record)["offset"].tolist() == [-3, 7]
    _write_tfrecords(cache / "multi-object" / "multi_dsprites_colored_on_colored.tfrecords", [record])
    got = load_multi_object("multi_dsprites", n=1)
    assert set(np.unique(got.masks[0]).tolist()) == set(range(visible + 1))
    assert got.num_objects[0] == visible
    # the same partition as the truth, whatever the numbering
    pairs = {(int(a), int(b)) for a, b in zip(labels.ravel(), got.masks[0].ravel())}
    assert len(pairs) == visible + 1 and (0, 0) in pairs


def test_bad_names_sizes_and_damaged_files_say_what_is_wrong(cache, rng):
    from elvkit.data import load_multi_object

    with pytest.raises(ValueError, match="name must be one of"):
        load_multi_object("clevrtex")
    with pytest.raises(ValueError, match="`n` must be >= 1"):
        load_multi_object("tetrominoes", n=0)
    image, masks, _, _ = _tetromino_scene(rng, h=30, w=30)               # not Tetrominoes' 35 x 35
    _write_tfrecords(cache / "multi-object" / "tetrominoes_train.tfrecords",
                     [_example({"image": image.tobytes(), "mask": masks.tobytes()})])
    with pytest.raises(ValueError, match="35x35x3 image and 4 masks"):
        load_multi_object("tetrominoes", n=1)
    path = cache / "multi-object" / "clevr_with_masks_train.tfrecords"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(b"this is not a TFRecord file")
    with pytest.raises(ValueError, match="checksum"):
        load_multi_object("clevr_with_masks", n=1)
