"""Every initial slot gets the same noise: one draw of shape (batch, 1, dim), broadcast over the slots.

Question: q3
Message: every initial slot is the same
Identical slots get identical queries, identical attention and identical updates: they stay copies of one
another at every iteration, and the model can only reconstruct the image with one slot repeated.
"""


class SlotAutoencoder(nn.Module):
    def __init__(self, size=32, num_slots=5, dim=64, channels=32, iterations=3):
        super().__init__()
        self.size, self.num_slots, self.dim = size, num_slots, dim
        self.encoder = Encoder(dim, channels)
        self.slots_mu = nn.Parameter(torch.zeros(1, 1, dim))
        self.slots_log_sigma = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.xavier_uniform_(self.slots_mu)
        nn.init.xavier_uniform_(self.slots_log_sigma)
        self.slot_attention = SlotAttention(dim, iterations)
        self.decoder = Decoder(dim, channels, size)

    def initial_slots(self, batch, generator=None, device=None, num_slots=None):
        m = num_slots or self.num_slots
        noise = torch.randn(batch, 1, self.dim, generator=generator).expand(batch, m, self.dim)
        return self.slots_mu + self.slots_log_sigma.exp() * noise.to(device or self.slots_mu.device)

    def forward(self, images, slots, detach_last=True):
        slots, attentions = self.slot_attention(self.encoder(images), slots, detach_last)
        recon, masks = mix(*self.decoder(slots))
        return recon, masks, attentions
