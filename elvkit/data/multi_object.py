"""DeepMind's multi-object data sets (Kabra et al. 2019) — Tetrominoes, Multi-dSprites and CLEVR with masks — read
straight from their published TFRecord files, without TensorFlow.

Each file is a GZIP-compressed TFRecord: records framed as ``length (uint64), masked CRC-32C of the length,
data, masked CRC-32C of the data``, each record a serialised ``tf.train.Example`` protocol buffer whose features
hold the image (``image``: raw uint8 bytes, H x W x 3) and one mask per entity (``mask``: raw uint8 bytes,
K x H x W x 1, 255 inside; entity 0 is the background), plus per-object factors that are not read here. The
files are downloaded on first use through the data registry (pooch; checked against the sha256 committed there,
if any: the files are parsed as data, never executed) and streamed, so
asking for the first ``n`` scenes reads only those.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np

from .._checks import check_int
from .objects import ObjectScenes
from .registry import fetch

__all__ = ["MULTI_OBJECT_SETS", "load_multi_object", "read_tfrecords", "parse_example"]

#: name -> (registry file, image height, width, entities per scene including the background)
MULTI_OBJECT_SETS = {
    "tetrominoes": ("multi-object/tetrominoes_train.tfrecords", 35, 35, 4),
    "multi_dsprites": ("multi-object/multi_dsprites_colored_on_colored.tfrecords", 64, 64, 5),
    "multi_dsprites_grayscale": ("multi-object/multi_dsprites_colored_on_grayscale.tfrecords", 64, 64, 6),
    "clevr_with_masks": ("multi-object/clevr_with_masks_train.tfrecords", 240, 320, 11),
}


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def _masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C (Castagnoli), rotated right by 15 bits plus a constant."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    c ^= 0xFFFFFFFF
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_tfrecords(path, *, compressed: bool = True):
    """Yield the records of a TFRecord file (GZIP-compressed unless ``compressed`` is False) as bytes.

    Each record's length is checked against its CRC-32C (a wrong one means the file is not a TFRecord file or is
    damaged); the data's own checksum is left to the file's sha256, which the registry checks.

    Raises
    ------
    ValueError
        When the file ends inside a record or a length's checksum is wrong.
    """
    opener = gzip.open if compressed else open
    with opener(path, "rb") as f:
        index = 0
        while True:
            head = f.read(12)
            if not head:
                return
            if len(head) < 12:
                raise ValueError(f"{path}: the file ends inside the header of record {index}")
            length, crc = struct.unpack("<QI", head)
            if _masked_crc32c(head[:8]) != crc:
                raise ValueError(f"{path}: record {index}'s length fails its checksum: not a TFRecord file, a "
                                 "damaged one, or compressed differently")
            data = f.read(length)
            if len(data) < length or len(f.read(4)) < 4:
                raise ValueError(f"{path}: the file ends inside record {index} ({len(data)} of {length} bytes)")
            yield data
            index += 1


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes):
    """(field number, wire type, value) of a protocol-buffer message: ints for varints and fixed fields, bytes
    for length-delimited ones."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported protocol-buffer wire type {wire}")
        yield number, wire, value


def _feature(buf: bytes):
    for kind, _, body in _fields(buf):          # one of: 1 BytesList, 2 FloatList, 3 Int64List
        if kind == 1:
            return [v for _, _, v in _fields(body)]
        if kind == 2:
            out = []
            for _, wire, v in _fields(body):
                out.extend(np.frombuffer(v, "<f4").tolist() if wire == 2 else struct.unpack("<f", v))
            return np.asarray(out, np.float32)
        if kind == 3:
            out = []
            for _, wire, v in _fields(body):
                if wire == 2:
                    j = 0
                    while j < len(v):
                        x, j = _varint(v, j)
                        out.append(x)
                else:
                    out.append(v)
            return np.asarray([x - (1 << 64) if x >= 1 << 63 else x for x in out], np.int64)
    return []


def parse_example(record: bytes) -> dict:
    """A serialised ``tf.train.Example`` as a dict: feature name -> list of bytes (BytesList), float32 array
    (FloatList) or int64 array (Int64List)."""
    out = {}
    for number, _, features in _fields(record):
        if number != 1:
            continue
        for entry_number, _, entry in _fields(features):
            if entry_number != 1:
                continue
            key, value = None, b""
            for n, _, v in _fields(entry):
                if n == 1:
                    key = v.decode("utf-8")
                elif n == 2:
                    value = v
            if key is not None:
                out[key] = _feature(value)
    return out


def load_multi_object(name: str = "tetrominoes", n: int = 1000) -> ObjectScenes:
    """The first ``n`` scenes of one of DeepMind's multi-object data sets, as :class:`ObjectScenes` (images
    ``(n, 3, H, W)`` float32 in [0, 1], instance masks with 0 for the background, the number of visible objects).

    ``name`` is one of :data:`MULTI_OBJECT_SETS`: ``"tetrominoes"`` (35 x 35, 3 pieces; slot attention's FG-ARI
    99.5 in Locatello et al.), ``"multi_dsprites"`` (64 x 64, 1-4 sprites on a coloured ground; 91.3),
    ``"multi_dsprites_grayscale"`` (2-5 sprites on grey) or ``"clevr_with_masks"`` (240 x 320, up to 10
    objects; the paper crops and resizes it). The training files are downloaded on first use (Tetrominoes and
    Multi-dSprites a few hundred MB, CLEVR with masks about 10 GB) and only the first ``n`` records are read (all
    of them, and fewer scenes, when the file holds fewer).

    Raises
    ------
    ValueError
        For an unknown ``name``, an ``n`` below 1, or a record whose image or mask has the wrong size.
    """
    if name not in MULTI_OBJECT_SETS:
        raise ValueError(f"name must be one of {', '.join(MULTI_OBJECT_SETS)}; got {name!r}")
    n = check_int(n, "n", low=1)
    file, h, w, k = MULTI_OBJECT_SETS[name]
    images = np.empty((n, 3, h, w), np.float32)
    masks = np.empty((n, h, w), np.int64)
    counts = np.empty(n, np.int64)
    got = 0
    for record in read_tfrecords(fetch(file)):
        if got == n:
            break
        example = parse_example(record)
        try:
            image = np.frombuffer(example["image"][0], np.uint8).reshape(h, w, 3)
            entity = np.frombuffer(example["mask"][0], np.uint8).reshape(k, h, w)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"{file}: record {got} does not hold a {h}x{w}x3 image and {k} masks of {h}x{w} "
                             f"({type(e).__name__}: {e})") from None
        images[got] = image.transpose(2, 0, 1) / 255.0
        labels = entity.argmax(axis=0)                          # entity 0, the background, is label 0
        labels[entity.max(axis=0) == 0] = 0
        present = np.unique(labels[labels > 0])
        remap = np.zeros(k, np.int64)
        remap[present] = np.arange(1, len(present) + 1)         # visible objects numbered 1..K
        masks[got] = remap[labels]
        counts[got] = len(present)
        got += 1
    if got < n:                                                 # a file with fewer than n scenes
        images, masks, counts = images[:got], masks[:got], counts[:got]
    return ObjectScenes(images, masks, counts, name)
