"""The encoder never adds the position embedding: the CNN's features go straight into the MLP.

Question: q1
Message: the position embedding is not added
Slot attention treats its inputs as a set; without the embedding nothing tells it where a pixel is, and two
objects of one colour are the same to it wherever they are.
"""


class Encoder(nn.Module):
    def __init__(self, dim=64, channels=32):
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(channels, dim, 3, padding=1), nn.ReLU())
        self.pos = SoftPositionEmbed(dim)
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward(self, images):
        features = self.cnn(images).permute(0, 2, 3, 1)
        return self.mlp(features).reshape(images.shape[0], -1, features.shape[-1])
