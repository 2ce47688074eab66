"""Flow not scaled when it goes up a pyramid level.

Question: q4
Resizes the coarse flow to the finer level but keeps its vectors in coarse pixels.
"""


def upsample_flow(flow, shape):
    h, w = shape
    return cv2.resize(np.asarray(flow, dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
