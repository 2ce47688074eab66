"""Forward-backward check with the L1 norm.

Question: q6
Measures the disagreement |du| + |dv| instead of the Euclidean length the lecture's criterion uses.
"""


def forward_backward_mask(flow_fw, flow_bw, tau=3.0, beta=0.05):
    b_at = backward_warp(flow_bw.permute(2, 0, 1), flow_fw).permute(1, 2, 0)
    diff = (flow_fw + b_at).abs().sum(dim=-1)
    return diff < torch.clamp(beta * flow_fw.abs().sum(dim=-1), min=tau)
