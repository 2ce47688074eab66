"""The radius is compared with the squared distance (dy**2 + dx**2 < radius instead of radius**2).

Question: q1
Message: Compare it with radius**2
For r = 5 only the offsets with dy**2 + dx**2 < 5 are kept: 20 neighbours instead of 68, a graph that sees
only the nearest pixels.
"""


def neighbour_offsets(radius):
    r = int(math.ceil(radius))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    keep = (dy ** 2 + dx ** 2 < radius) & ((dy != 0) | (dx != 0))
    return np.stack([dy[keep], dx[keep]], axis=1)
