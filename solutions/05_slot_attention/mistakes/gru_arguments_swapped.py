"""The GRU is called as gru(slots, updates): the slot becomes the input and the update the hidden state.

Question: q2
Message: the GRU's arguments are swapped
nn.GRUCell(input, hidden): the hidden state is what the cell carries over, the slot; with the arguments
swapped each iteration forgets the slot and keeps only the new update.
"""


class SlotAttention(nn.Module):
    def __init__(self, dim=64, iterations=3, hidden=128, eps=1e-8):
        super().__init__()
        self.dim, self.iterations, self.eps = dim, iterations, eps
        self.norm_inputs, self.norm_slots, self.norm_mlp = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.gru = nn.GRUCell(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, inputs, slots, detach_last=True):
        x = self.norm_inputs(inputs)
        k, v = self.k(x), self.v(x)
        B, M, D = slots.shape
        attentions = []
        for t in range(self.iterations):
            if detach_last and t == self.iterations - 1:
                slots = slots.detach()
            q = self.q(self.norm_slots(slots))
            attn = torch.softmax(q @ k.transpose(1, 2) / D ** 0.5, dim=1)
            w = (attn + self.eps) / (attn + self.eps).sum(dim=-1, keepdim=True)
            u = w @ v
            slots = self.gru(slots.reshape(B * M, D), u.reshape(B * M, D)).reshape(B, M, D)
            slots = slots + self.mlp(self.norm_mlp(slots))
            attentions.append(attn)
        return slots, attentions
