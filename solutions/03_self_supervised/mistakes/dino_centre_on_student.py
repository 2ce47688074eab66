"""DINO's centre subtracted from the student's logits instead of the teacher's.

Question: q4
Message: the centre is subtracted from the student's logits
"""


def dino_loss(student_logits, teacher_logits, center, tau_s=0.1, tau_t=0.04):
    p_t = F.softmax(teacher_logits.detach() / tau_t, dim=-1)
    log_p_s = F.log_softmax((student_logits - center) / tau_s, dim=-1)
    h_12 = -(p_t[0] * log_p_s[1]).sum(dim=-1).mean()
    h_21 = -(p_t[1] * log_p_s[0]).sum(dim=-1).mean()
    return 0.5 * (h_12 + h_21)
