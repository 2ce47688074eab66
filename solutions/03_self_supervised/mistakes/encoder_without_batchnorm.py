"""The encoder's convolutions without their BatchNorms.

Question: q3
Message: the three BatchNorms: are they there?
The architecture differs from the one described (and trains more slowly from this initialisation).
"""


class Encoder(nn.Module):
    """A small CNN for 8x8 images: (B, 1, 8, 8) -> (B, 4 * width) representations."""

    def __init__(self, width=32):
        super().__init__()
        layers, channels = [], [1, width, 2 * width, 4 * width]
        for i in range(3):
            layers += [nn.Conv2d(channels[i], channels[i + 1], 3, padding=1, stride=1 if i == 0 else 2), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.out_dim = 4 * width

    def forward(self, x):
        return self.net(x).mean(dim=(2, 3))
