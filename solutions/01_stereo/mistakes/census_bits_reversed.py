"""Census bits in the reverse order.

Question: q2
The first neighbour becomes the least significant bit. Hamming distances do not
change, but the codes do not match the specified bit order.
"""


def census_transform(image, window=5):
    img = np.asarray(image, dtype=np.float32)
    r = window // 2
    h, w = img.shape
    padded = np.pad(img, r, mode="edge")
    codes = np.zeros((h, w), dtype=np.uint64)
    bit = 0
    for v in range(-r, r + 1):
        for u in range(-r, r + 1):
            if u == 0 and v == 0:
                continue
            neighbour = padded[r + v: r + v + h, r + u: r + u + w]
            codes |= (neighbour < img).astype(np.uint64) << np.uint64(bit)
            bit += 1
    return codes
