"""The moving average runs the wrong way: the new weights are m * student + (1 - m) * teacher.

Question: q4
Message: the EMA moves the student towards the teacher
"""


def ema(teacher_params, student_params, momentum=0.996):
    with torch.no_grad():
        return [momentum * s.detach() + (1 - momentum) * t.detach() for t, s in zip(teacher_params, student_params)]
