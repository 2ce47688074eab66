"""Every graded function returns zeros (or False) of the right shape and dtype: the placeholder a student
with a weekend and no solution starts from. It is the twin of the tampering cases: each of them is this
submission plus one trick, and must not score more."""

EXPECT = {"status": "graded", "score": 0, "flagged": False}

#: grade id of each solution cell -> what replaces it
ZEROS = {
    "q1-depth": '''
import numpy as np

def disparity_to_depth(disparity, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(disparity))

def depth_to_disparity(depth, baseline, focal, doffs=0.0):
    return np.zeros(np.shape(depth))
''',
    "q1-reproject": '''
def reproject_to_3d(disparity, calib):
    return np.zeros(np.shape(disparity) + (3,))
''',
    "q2-sad": '''
def sad_cost(left, right, max_disp, window=5):
    return np.zeros((max_disp,) + np.shape(left), dtype=np.float32)
''',
    "q2-census-transform": '''
def census_transform(image, window=5):
    return np.zeros(np.shape(image), dtype=np.uint64)
''',
    "q2-census-cost": '''
def census_cost(left, right, max_disp, window=5):
    return np.zeros((max_disp,) + np.shape(left), dtype=np.uint8)
''',
    "q3-wta": '''
def winner_take_all(cost):
    if torch.is_tensor(cost):
        return torch.zeros(cost.shape[1:], dtype=torch.int64, device=cost.device)
    return np.zeros(np.shape(cost)[1:], dtype=np.int64)

def refine_subpixel(cost, disparity):
    return np.zeros(np.shape(disparity), dtype=np.float32)
''',
    "q4-sgm-step": '''
def sgm_step(L_prev, C, P1, P2):
    return torch.zeros_like(C)
''',
    "q4-aggregate": '''
def aggregate_sgm(cost, P1, P2, directions=4):
    if torch.is_tensor(cost):
        return torch.zeros(cost.shape, dtype=torch.float32, device=cost.device)
    return np.zeros(np.shape(cost), dtype=np.float32)
''',
    "q5-right-cost": '''
def right_cost_volume(cost):
    return np.zeros_like(np.asarray(cost))
''',
    "q5-lr-check": '''
def left_right_check(disp_left, disp_right, max_diff=1.0):
    return np.zeros(np.shape(disp_left), dtype=bool)
''',
}


def notebook(kit):
    """The reference with every solution cell replaced by its placeholder."""
    nb = kit.copy()
    for grade_id, source in ZEROS.items():
        nb = kit.with_cell(grade_id, source, nb)
    return nb


def build(kit):
    kit.write(notebook(kit))
