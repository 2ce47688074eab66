"""The position grid's first two channels are (y, x) instead of (x, y): meshgrid's outputs taken in the wrong order.

Question: q1
Message: channels 0 and 1 are swapped
torch.meshgrid(rows, columns, indexing="ij") returns the row coordinate first; the grid must hold x (the
column) in channel 0. On square images the values are a transpose of the right ones, so the mistake hides
until the checkpoint's weights, trained with x first, read y.
"""


def position_grid(h, w, device=None):
    a, b = torch.meshgrid(torch.linspace(0, 1, h, device=device), torch.linspace(0, 1, w, device=device),
                          indexing="ij")
    return torch.stack([a, b, 1 - a, 1 - b], dim=-1)
