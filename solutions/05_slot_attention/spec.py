"""Hidden-test inputs and comparison rules of assignment 05 (slot attention).

Every case is made from the student's secret seed, and every answer is judged here, in the grader's process.
The modules are tested with the grader's weights: each case carries a state dict drawn here (the reference's
modules built under a seed from the case's generator, then perturbed so that no layer is at its initialisation),
which the hidden cell's wrapper loads into the student's module by the notebook's names. The expected values
come from the same wrapper computed with the reference's classes on the same weights and inputs.

* ``slot_attention`` compares the final slots and every iteration's attention; one case passes the first case's
  slots in another order (slot attention must be equivariant to it). A wrong answer is diagnosed against the
  mistakes students make (softmax over the inputs, no sqrt(D), slots not normalised, a sum instead of the
  weighted mean, the GRU's arguments swapped, the slide's MLP of the previous slots), each computed here by
  running the reference's layers in the mistaken order.
* ``slot_gradients`` compares the gradients of a fixed projection of the output with respect to the inputs, the
  initial slots and ``q``'s weight, with and without ``detach_last``.
* ``slot_attention``'s last case has nearly identical inputs and a sharp query, so that some slots win no input
  at all (their attention underflows to 0): the weighted mean's eps keeps them finite, and a mean without it
  divides 0 by 0 (NaN), which the message names.
* ``fg_ari`` is compared with scikit-learn's ``adjusted_rand_score`` on each image's foreground pixels, on label
  maps with one object covering the whole foreground, with no background, and with no foreground at all.
* ``train_step`` runs on a stand-in model with the interface of ``SlotAutoencoder`` (``autograder.kernel_side.probes``:
  the step is judged apart from the student's model, which q3 judges) and compares the loss, the gradient norm before
  clipping and two weights after one Adam step.
* ``e2e_training`` trains the stand-in model from scratch with the student's ``train_step`` (40 steps of 16 scenes
  drawn for this grading, the grader's initial weights, an optimiser created with the learning rate 0, which
  ``train_step`` must set, and the learning rates of the reference's schedule handed in): the student's model and
  ``learning_rate`` play no part, their own cells judge them. The hidden test returns the reconstructions of 32 of
  the scenes before and after training, with fixed initial slots, and the weights after; the grader rebuilds the
  stand-in from its own initial weights and from the recorded ones and computes both reconstructions itself, which
  must agree with the kernel's (else something in the kernel changed the stand-in's forward pass: flagged for a
  person). The errors judged are the grader's: after training, at most 85 % of the error before. Measured over 10
  seeds the reference reaches 47-54 %; a step that never sets the learning rate, or never steps, stays at 100 %.
"""

import math

import numpy as np

from autograder.integrity.specs import Case, ForReview, Spec
from elvkit.testing import StudentCheckError, assert_close

ASSIGNMENT = "05_slot_attention"

#: the end-to-end training: steps, and the largest ratio of the reconstruction error after to before
E2E_STEPS = 40
E2E_RATIO = 0.85
#: the end-to-end training's base learning rate (the reference's schedule: warm-up 10, half-life 1000)
E2E_LR = 2e-3
TRIALS = {"e2e_training": 3}


def _ref():
    from autograder.integrity.reference import load

    return load(ASSIGNMENT)


def _torch():
    import torch

    return torch


def _t(array, device=False):
    import elvkit

    t = _torch().as_tensor(np.ascontiguousarray(array))
    return t.to(elvkit.device()) if device else t


def _np(x):
    from elvkit import to_numpy

    return np.asarray(to_numpy(x))


def _state(rng, module_fn):
    """The state dict of ``module_fn()`` built under a seed drawn from ``rng``, every tensor perturbed a little (so
    that LayerNorms and biases are not at their initialisation)."""
    torch = _torch()
    torch.manual_seed(int(rng.integers(1 << 30)))
    module = module_fn()
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
    state = {}
    for k, v in module.state_dict().items():
        scale = float(v.std()) if v.numel() > 1 else 0.0
        state[k] = (v + 0.1 * torch.randn(v.shape, generator=gen) * (scale if scale > 0 else 1.0)).detach().clone()
    return state


def _tuple(actual, n: int, what: str):
    if not isinstance(actual, (tuple, list)) or len(actual) != n:
        raise StudentCheckError(f"the hidden test's wrapper should return {what}; got something else")
    return [_np(a).astype(np.float64) for a in actual]


# ----------------------------------------------------------------------------------------------
# Part 1

def _grid_cases(rng):
    return [Case((int(h), int(w)), label=f"position_grid({h}, {w})")
            for h, w in ((4, 4), (3, 7), tuple(rng.integers(5, 12, size=2)))]


def _encoder_cases(rng):
    ref = _ref()
    cases = []
    for dim, channels, (h, w) in ((16, 8, (8, 8)), (24, 6, (6, 10))):
        images = rng.random((2, 3, h, w)).astype(np.float32)
        cases.append(Case((_t(images, device=True), _state(rng, lambda: ref.Encoder(dim, channels)), dim, channels),
                          label=f"Encoder({dim}, {channels}) with the grader's weights on 2 images of {h} x {w}"))
    return cases


def _encoder_reference(images, state, dim, channels):
    torch = _torch()
    module = _ref().Encoder(int(dim), int(channels))
    module.load_state_dict(state)
    with torch.no_grad():
        return module(images.cpu())


def _judge_encoder(actual, expected, case):
    images, state, dim, channels = case.args
    want = _np(_encoder_reference(*case.args))
    got = _np(actual).astype(np.float64)
    b, _, h, w = images.shape
    if got.shape != want.shape:
        raise StudentCheckError(f"the encoder's output has shape {got.shape}; expected {want.shape}: (B, H*W, dim), "
                                "the positions flattened row by row")
    torch = _torch()
    module = _ref().Encoder(int(dim), int(channels))
    module.load_state_dict(state)
    with torch.no_grad():
        no_pos = module.mlp(module.cnn(images.cpu()).permute(0, 2, 3, 1)).flatten(1, 2)
        transposed = module.mlp(module.pos(module.cnn(images.cpu()).permute(0, 3, 2, 1))).flatten(1, 2) if h == w \
            else None
    mistakes = {"the position embedding is not added: add pos(x) to the CNN's features before the MLP.": _np(no_pos)}
    if transposed is not None:
        mistakes["the feature map is transposed (B, W, H, D) before flattening: permute to channels last as "
                 "(0, 2, 3, 1), so that the positions run row by row."] = _np(transposed)
    assert_close(got, want, name="the encoder's output", rtol=1e-4, atol=1e-5, axes=("image", "position y*W+x",
                                                                                     "channel"),
                 mistakes=mistakes, hint="cnn (4 convolutions with ReLUs), channels last, + proj(position_grid), "
                                         "the MLP (LayerNorm, Linear, ReLU, Linear), flattened to (B, H*W, dim).")


# ----------------------------------------------------------------------------------------------
# Part 2

def _attention_cases(rng):
    ref = _ref()
    cases = []
    for b, n, d, m, t in ((2, 30, 16, 4, 3), (3, 48, 32, 5, 2)):
        inputs = rng.normal(size=(b, n, d)).astype(np.float32)
        slots = rng.normal(size=(b, m, d)).astype(np.float32)
        state = _state(rng, lambda: ref.SlotAttention(d, t))
        cases.append(Case((_t(inputs, device=True), _t(slots, device=True), state, t),
                          label=f"{b} sets of {n} inputs of {d} numbers, {m} slots, {t} iterations, the grader's "
                                "weights"))
    first = cases[0]
    perm = rng.permutation(first.args[1].shape[1])
    cases.append(Case((first.args[0], first.args[1][:, perm], first.args[2], first.args[3]),
                      label=f"the first case's slots in the order {perm.tolist()}"))
    # nearly identical inputs and a sharp query: slots that win no input at all (their attention underflows to 0),
    # which the eps of the weighted mean is there for
    b, n, d, m, t = 2, 30, 16, 4, 3
    inputs = (rng.normal(size=(b, 1, d)) + 1e-3 * rng.normal(size=(b, n, d))).astype(np.float32)
    slots = rng.normal(size=(b, m, d)).astype(np.float32)
    state = _state(rng, lambda: ref.SlotAttention(d, t))
    state["q.weight"] = state["q.weight"] * 300
    cases.append(Case((_t(inputs, device=True), _t(slots, device=True), state, t),
                      label="nearly identical inputs and a sharp query: slots that win no input (attention 0 "
                            "everywhere), kept finite by the weighted mean's eps"))
    return cases


def _run_attention(state, inputs, slots, iterations, *, over="slots", scale=True, norm_slots=True, mean=True,
                   eps=True, gru_swapped=False, mlp_of_previous=False, detach_last=False):
    """The reference's layers (loaded with ``state``) run as the module's loop, or in one of the mistaken orders."""
    torch = _torch()
    module = _ref().SlotAttention(inputs.shape[-1], int(iterations))
    module.load_state_dict(state)
    with torch.no_grad():
        x = module.norm_inputs(inputs.cpu())
        k, v = module.k(x), module.v(x)
        slots = slots.cpu()
        b, m, d = slots.shape
        attentions = []
        for _ in range(int(iterations)):
            normed = module.norm_slots(slots) if norm_slots else slots
            logits = module.q(normed) @ k.transpose(1, 2) / (math.sqrt(d) if scale else 1.0)
            attn = torch.softmax(logits, dim=1 if over == "slots" else 2)
            e = module.eps if eps else 0.0
            w = (attn + e) / (attn + e).sum(dim=2, keepdim=True) if mean else attn
            updates = (w @ v).reshape(-1, d)
            flat = slots.reshape(-1, d)
            new = (module.gru(flat, updates) if gru_swapped else module.gru(updates, flat)).reshape(b, m, d)
            slots = new + module.mlp(module.norm_mlp(slots if mlp_of_previous else new))
            attentions.append(attn)
    return slots, torch.stack(attentions)


_ATTENTION_MISTAKES = {
    "the softmax runs over the inputs (dimension 2): it must run over the slots (dimension 1 of (B, M, N)), so "
    "that slots compete for each input.": {"over": "inputs"},
    "the dot products are not divided by sqrt(D).": {"scale": False},
    "the slots are not normalised (norm_slots) before q.": {"norm_slots": False},
    "the updates are the sum over the inputs: use the weighted mean, w_ij = (a_ij + eps) / sum_i (a_ij + eps).":
        {"mean": False},
    "the weighted mean leaves out the eps: w_ij = a_ij / sum_i a_ij divides 0 by 0 for a slot that wins no input "
    "(its attention underflows to 0 everywhere), and NaN spreads; (a_ij + eps) / sum_i (a_ij + eps) stays finite.":
        {"eps": False},
    "the GRU's arguments are swapped: gru(updates, slots) -- the input is the update, the hidden state the slot.":
        {"gru_swapped": True},
    "the MLP reads the slots before the GRU (the slide's MLP(LN(m_t-1))): the paper's residual MLP reads the GRU's "
    "output, m = m' + MLP(LN(m')).": {"mlp_of_previous": True},
}


def _judge_attention(actual, expected, case):
    inputs, slots, state, iterations = case.args
    got_slots, got_attn = _tuple(actual, 2, "(slots, stacked attentions)")
    want_slots, want_attn = (_np(v) for v in _run_attention(state, inputs, slots, iterations))
    if got_attn.shape != want_attn.shape:
        raise StudentCheckError(f"the attentions stack to {got_attn.shape}; expected {want_attn.shape}: one (B, M, N) "
                                f"per iteration ({iterations}), slots on dimension 1")
    if got_slots.shape != want_slots.shape:
        raise StudentCheckError(f"the slots have shape {got_slots.shape}; expected {want_slots.shape}")
    variants = {text: _run_attention(state, inputs, slots, iterations, **flags)
                for text, flags in _ATTENTION_MISTAKES.items()}
    assert_close(got_attn, want_attn, name="the attention of every iteration", rtol=1e-4, atol=1e-5,
                 axes=("iteration", "set", "slot j", "input i"),
                 mistakes={text: _np(v[1]) for text, v in variants.items()},
                 hint="a = softmax over the slots of k(LN(x)) . q(LN(m)) / sqrt(D), every iteration.")
    assert_close(got_slots, want_slots, name="the final slots", rtol=1e-4, atol=1e-5, axes=("set", "slot", "channel"),
                 mistakes={text: _np(v[0]) for text, v in variants.items()},
                 hint="u = weighted mean of v(x) over the inputs; m' = gru(u, m); m = m' + mlp(norm_mlp(m')).")


def _gradient_cases(rng):
    ref = _ref()
    b, n, d, m = 2, 24, 16, 4
    inputs = rng.normal(size=(b, n, d)).astype(np.float32)
    slots = rng.normal(size=(b, m, d)).astype(np.float32)
    direction = rng.normal(size=(b, m, d)).astype(np.float32)
    state = _state(rng, lambda: ref.SlotAttention(d, 3))
    return [Case((_t(inputs, device=True), _t(slots, device=True), state, _t(direction, device=True), detach),
                 label=f"gradients of a random projection of the slots, detach_last={detach}")
            for detach in (True, False)]


def _gradients_reference(inputs, slots, state, direction, detach_last):
    torch = _torch()
    module = _ref().SlotAttention(inputs.shape[-1], 3)
    module.load_state_dict(state)
    x, s = inputs.cpu().clone().requires_grad_(True), slots.cpu().clone().requires_grad_(True)
    out, _ = module(x, s, detach_last=bool(detach_last))
    (out * direction.cpu()).sum().backward()
    return x.grad, torch.zeros_like(s) if s.grad is None else s.grad, module.q.weight.grad, out.detach()


def _judge_gradients(actual, expected, case):
    detach = bool(case.args[4])
    got = _tuple(actual, 4, "(gradient of the inputs, of the initial slots, of q's weight, the slots)")
    want = [_np(v) for v in _gradients_reference(*case.args)]
    if got[3].shape != want[3].shape or not np.allclose(got[3], want[3], rtol=1e-4, atol=1e-5):
        raise StudentCheckError("the slots SlotAttention returns differ from the reference's (the forward pass: its "
                                "own hidden test above names the mistake), so its gradients differ too; they are "
                                "judged once the forward pass is right")
    got, want = got[:3], want[:3]
    for g, w, what in zip(got, want, ("the inputs", "the initial slots", "q's weight")):
        if g.shape != w.shape:
            raise StudentCheckError(f"the gradient of {what} has shape {g.shape}; expected {w.shape}")
    if detach and np.abs(got[1]).max() > 0:
        raise StudentCheckError("with detach_last=True the initial slots receive a gradient: detach the slots just "
                                "before the last iteration (slots = slots.detach()), so that only that iteration is "
                                "differentiated")
    if not detach and np.abs(got[1]).max() == 0:
        raise StudentCheckError("with detach_last=False the initial slots receive no gradient: detach only when "
                                "detach_last is True")
    for g, w, what in zip(got, want, ("the inputs", "the initial slots", "q's weight")):
        assert_close(g, w, name=f"the gradient of {what} (detach_last={detach})", rtol=1e-3, atol=1e-5,
                     hint="Detach the slots at the start of the last iteration only, nothing else (k and v stay in "
                          "the graph).")


# ----------------------------------------------------------------------------------------------
# Part 3

def _mix_cases(rng):
    cases = []
    for b, m, h, w in ((2, 3, 5, 6), (1, 5, 8, 8)):
        rgb = rng.random((b, m, 3, h, w)).astype(np.float32)
        logits = (3 * rng.normal(size=(b, m, 1, h, w))).astype(np.float32)
        cases.append(Case((_t(rgb, device=True), _t(logits, device=True)), label=f"{b} images, {m} slots, {h} x {w}"))
    return cases


def _model_state(rng, size, num_slots, dim):
    ref = _ref()
    return _state(rng, lambda: ref.SlotAutoencoder(size, num_slots, dim, 8))


def _autoencoder_cases(rng):
    cases = []
    for size, m, dim in ((16, 3, 16), (12, 4, 24)):
        images = rng.random((2, 3, size, size)).astype(np.float32)
        slots = rng.normal(size=(2, m, dim)).astype(np.float32)
        cases.append(Case((_t(images, device=True), _t(slots, device=True), _model_state(rng, size, m, dim), m),
                          label=f"SlotAutoencoder({size}, {m} slots, dim {dim}, channels 8) with the grader's weights"))
    return cases


def _autoencoder_reference(images, slots, state, num_slots):
    torch = _torch()
    model = _ref().SlotAutoencoder(images.shape[-1], int(num_slots), slots.shape[-1], 8)
    model.load_state_dict(state)
    with torch.no_grad():
        recon, masks, _ = model(images.cpu(), slots.cpu())
    return recon, masks


def _judge_autoencoder(actual, expected, case):
    got_recon, got_masks = _tuple(actual, 2, "(reconstruction, masks)")
    want_recon, want_masks = (_np(v) for v in _autoencoder_reference(*case.args))
    for g, w, what in ((got_recon, want_recon, "the reconstruction"), (got_masks, want_masks, "the masks")):
        if g.shape != w.shape:
            raise StudentCheckError(f"{what} has shape {g.shape}; expected {w.shape}")
    assert_close(got_masks, want_masks, name="the masks", rtol=1e-4, atol=1e-5, axes=("image", "slot", "row", "column"),
                 hint="Broadcast each slot to a (size/4, size/4) grid, add the position embedding, the decoder's CNN; "
                      "channel 3 is the alpha logit, softmax over the slots.")
    assert_close(got_recon, want_recon, name="the reconstruction", rtol=1e-4, atol=1e-5,
                 axes=("image", "channel", "row", "column"), hint="The sum over the slots of alpha * rgb.")


def _slots_cases(rng):
    cases = []
    for dim, batch, m in ((16, 2, 3), (24, 3, 6)):
        cases.append(Case((_model_state(rng, 16, 3, dim), batch, m, int(rng.integers(1 << 20))),
                          label=f"initial_slots({batch}, num_slots={m}) with the grader's mu and sigma, dim {dim}"))
    return cases


def _slots_reference(state, batch, num_slots, seed):
    torch = _torch()
    model = _ref().SlotAutoencoder(16, 3, state["slots_mu"].shape[-1], 8)
    model.load_state_dict(state)
    with torch.no_grad():
        return model.initial_slots(int(batch), torch.Generator().manual_seed(int(seed)), num_slots=int(num_slots))


def _judge_slots(actual, expected, case):
    got = _np(actual).astype(np.float64)
    want = _np(_slots_reference(*case.args))
    if got.shape != want.shape:
        raise StudentCheckError(f"initial_slots returned shape {got.shape}; expected {want.shape} (batch, num_slots, "
                                "dim): pass num_slots on")
    if got.shape[1] > 1 and np.abs(got - got[:, :1]).max() < 1e-7:
        raise StudentCheckError("every initial slot is the same: draw the noise with shape (batch, num_slots, dim). "
                                "Identical slots get identical attention and never separate")
    assert_close(got, want, name="the initial slots", rtol=1e-5, atol=1e-6, axes=("image", "slot", "channel"),
                 hint="mu + exp(log_sigma) * torch.randn(batch, num_slots, dim, generator=generator).")


# ----------------------------------------------------------------------------------------------
# Part 4

def _blobs(rng, b, h, w, objects):
    masks = np.zeros((b, h, w), np.int64)
    for i in range(b):
        for t in range(1, objects + 1):
            y0, x0 = rng.integers(0, h - 3), rng.integers(0, w - 3)
            masks[i, y0:y0 + rng.integers(3, h // 2 + 3), x0:x0 + rng.integers(3, w // 2 + 3)] = t
    return masks


def _ari_cases(rng):
    true = _blobs(rng, 5, 12, 14, 3)
    pred = np.where(rng.random(true.shape) < 0.75, true + 2, rng.integers(0, 7, true.shape))
    true[1] = np.where(true[1] > 0, 3, 0)                  # one object covers the whole foreground
    true[2] = np.maximum(true[2], 1)                       # no background
    pred[3] = 0                                            # one predicted segment
    true[4] = 0                                            # no foreground
    cases = [Case((_t(true), _t(pred)), label="5 label maps of 12 x 14 (one object only; no background; one "
                  "predicted segment; no foreground)")]
    true2 = _blobs(rng, 4, 16, 16, 5)
    pred2 = rng.permutation(9)[np.clip(true2 + rng.integers(-1, 2, true2.shape) * (rng.random(true2.shape) < 0.2), 0, 8)]
    cases.append(Case((_t(true2.astype(np.int32)), _t(pred2)), label="4 label maps of 16 x 16, 5 objects, int32 truth"))
    return cases


def _judge_ari(actual, expected, case):
    from sklearn.metrics import adjusted_rand_score

    true, pred = _np(case.args[0]), _np(case.args[1])
    want = np.array([adjusted_rand_score(t[t != 0], p[t != 0]) for t, p in zip(true, pred)])
    got = _np(actual).astype(np.float64)
    if got.shape != want.shape:
        raise StudentCheckError(f"fg_ari returned shape {got.shape}; expected {want.shape}, one score per image")
    all_pixels = np.array([adjusted_rand_score(t.ravel(), p.ravel()) for t, p in zip(true, pred)])
    bad = np.flatnonzero(~np.isfinite(got))
    if len(bad):
        raise StudentCheckError(f"the score of image {bad[0]} is {got[bad[0]]}: where the denominator is 0 (one true "
                                "and one predicted segment, or fewer than two foreground pixels) the ARI is 1")
    assert_close(got, want, name="the FG-ARI of each image (against scikit-learn's adjusted_rand_score on the "
                 "foreground pixels)", rtol=1e-7, atol=1e-9, axes=("image",),
                 mistakes={"the background pixels are counted: compare only the pixels whose true label is not 0.":
                           all_pixels},
                 hint="Contingency table of the foreground pixels, sum C(n_rs, 2), E = A B / C(n, 2), "
                      "(sum - E) / ((A + B) / 2 - E); 1 where the denominator is 0.")


# ----------------------------------------------------------------------------------------------
# Part 5

def _lr_cases(rng):
    base = float(rng.uniform(1e-4, 1e-3))
    return [Case((int(s), base, int(wu), int(hl)), label=f"step {s}, warmup {wu}, half-life {hl}")
            for s, wu, hl in ((0, 100, 1000), (49, 100, 1000), (int(rng.integers(150, 900)), 100, 250), (5000, 10, 2000))]


def _probe_state(rng, size, num_slots, dim):
    from autograder.kernel_side.probes import StepProbe

    return _state(rng, lambda: StepProbe(size, num_slots, dim))


def _train_step_cases(rng):
    from elvkit.data import make_object_scenes

    cases = []
    for detach, clip in ((True, 1.0), (False, 0.05)):
        images = make_object_scenes(6, seed=int(rng.integers(1 << 20)), size=16, objects=(1, 3), variant="palette").images
        cases.append(Case((_t(images, device=True), _probe_state(rng, 16, 3, 16), 1e-3, clip,
                           int(rng.integers(1 << 20)), detach),
                          label=f"one step on 6 scenes of 16 x 16 with a stand-in model (the interface of "
                                f"SlotAutoencoder) and the grader's weights, clip {clip}, detach_last={detach}"))
    return cases


def _train_step_reference(images, state, lr, clip, seed, detach_last):
    from autograder.kernel_side.probes import StepProbe

    torch = _torch()
    ref = _ref()
    model = StepProbe(images.shape[-1], 3, state["slots_mu"].shape[-1])
    model.load_state_dict(state)
    optimiser = torch.optim.Adam(model.parameters(), lr=1.0)
    for p in model.parameters():            # gradients left over from an earlier step, as the hidden test leaves
        p.grad = torch.full_like(p, 0.25)
    loss, norm = ref.train_step(model, optimiser, images.cpu(), torch.Generator().manual_seed(int(seed)), float(lr),
                                float(clip), bool(detach_last))
    return torch.tensor([loss, norm]), model.q.weight.detach(), model.read.weight.detach()


def _norm_without_zero_grad(images, state, lr, clip, seed, detach_last) -> float:
    """The gradient norm a step that never zeroes its gradients reports: this step's gradient plus the 0.25 the
    hidden test left in every ``.grad``."""
    from autograder.kernel_side.probes import StepProbe

    torch = _torch()
    model = StepProbe(images.shape[-1], 3, state["slots_mu"].shape[-1])
    model.load_state_dict(state)
    recon, _, _ = model(images.cpu(), model.initial_slots(len(images), torch.Generator().manual_seed(int(seed))),
                        bool(detach_last))
    grads = torch.autograd.grad(torch.nn.functional.mse_loss(recon, images.cpu()), list(model.parameters()),
                                allow_unused=True)
    return float(torch.sqrt(sum(((g if g is not None else 0.0) + 0.25).pow(2).sum() if g is not None
                                else torch.full_like(p, 0.25).pow(2).sum()
                                for g, p in zip(grads, model.parameters()))))


def _judge_train_step(actual, expected, case):
    got = _tuple(actual, 3, "(loss and norm, two of the stand-in model's weights)")
    want = [_np(v) for v in _train_step_reference(*case.args)]
    if got[0].shape != (2,):
        raise StudentCheckError("train_step should return two numbers, (loss, gradient norm)")
    clip = case.args[3]
    assert_close(got[0][0], want[0][0], name="the loss", rtol=1e-4, atol=1e-7,
                 hint="The mean squared error of the reconstruction against the images, before the step.")
    assert_close(got[0][1], want[0][1], name="the gradient norm", rtol=1e-3, atol=1e-6,
                 mistakes={**({f"the norm after clipping is returned: return what clip_grad_norm_ returns, the norm "
                              f"before clipping.": clip} if want[0][1] > clip * 1.01 else {}),
                           "the gradients are never zeroed: this step's gradient was added to what an earlier step "
                           "left in .grad. Call optimiser.zero_grad() before loss.backward().":
                               _norm_without_zero_grad(*case.args)},
                 hint="clip_grad_norm_ over all the model's parameters returns the norm before clipping.")
    unset = [_np(v) for v in _train_step_reference(*case.args[:2], 1.0, *case.args[3:])]   # the optimiser's own lr 1
    for g, w, u, what in zip(got[1:], want[1:], unset[1:], ("a weight of the stand-in model's query",
                                                            "a weight of its input layer")):
        assert_close(g, w, name=f"{what} after one Adam step", rtol=1e-4, atol=1e-6,
                     mistakes={"the optimiser's learning rate was never set to lr: the step was taken with the lr the "
                               "optimiser was made with (1.0 here). Set group['lr'] = lr for every group in "
                               "optimiser.param_groups before optimiser.step().": u},
                     hint="Set every parameter group's lr, zero the gradients, backward, clip the norm to clip, step.")


def _e2e_cases(rng):
    from elvkit.data import make_object_scenes

    from autograder.kernel_side.probes import StepProbe

    torch = _torch()
    scenes = make_object_scenes(96, seed=int(rng.integers(1 << 20)), size=16, objects=(1, 3), variant="palette")
    torch.manual_seed(int(rng.integers(1 << 30)))
    state = {k: v.detach().clone() for k, v in StepProbe(16, 3, 16).state_dict().items()}
    rates = np.array([_ref().learning_rate(step, E2E_LR, 10, 1000) for step in range(E2E_STEPS)])
    return [Case((_t(scenes.images, device=True), state, _t(rates), int(rng.integers(1 << 20))),
                 label=f"a stand-in model trained from scratch with your train_step for {E2E_STEPS} steps on 96 scenes "
                       f"drawn for this grading")]


def _rebuilt(state, images, what: str) -> np.ndarray:
    """The reconstructions of ``images`` by the stand-in model rebuilt here, in the grader's process, from a state
    dict, with the fixed initial slots of the hidden test."""
    from autograder.kernel_side.probes import StepProbe

    torch = _torch()
    model = StepProbe(images.shape[-1], 3, 16).eval()
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise StudentCheckError(f"the {what} stand-in model's state_dict() did not come back as tensors")
    try:
        model.load_state_dict({k: v.detach().cpu().float() for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        raise ForReview(f"the {what} stand-in model's weights no longer fit it: "
                        f"{str(exc).splitlines()[0][:300]}") from None
    x = torch.as_tensor(images, dtype=torch.float32)
    with torch.no_grad():
        return model(x, model.initial_slots(len(x), torch.Generator().manual_seed(0)))[0].double().numpy()


def _judge_e2e(actual, expected, case):
    """Judged on what the grader computes: the stand-in rebuilt from its weights before and after training (see the
    module's docstring)."""
    if not isinstance(actual, (tuple, list)) or len(actual) != 4:
        raise StudentCheckError("the training should return (the loss of every step, the reconstructions before and "
                                "after, the stand-in model's weights after)")
    losses, before, after = (_np(x).astype(np.float64) for x in actual[:3])
    losses = losses.reshape(-1)
    steps = len(_np(case.args[2]))
    shown = _np(case.args[0])[:32].astype(np.float64)
    if len(losses) != steps:
        raise StudentCheckError(f"train_step was called {steps} times and returned {len(losses)} losses")
    if not np.isfinite(losses).all():
        raise StudentCheckError("the loss train_step returned became NaN or inf during training: check that the "
                                "gradient norm is clipped to clip before optimiser.step()")
    mine_before, mine_after = _rebuilt(case.args[1], shown, "untrained"), _rebuilt(actual[3], shown, "trained")
    if before.shape != mine_before.shape or not np.allclose(mine_before, before, rtol=1e-3, atol=1e-4):
        raise ForReview("before any training, the stand-in model reconstructed the scenes in your kernel differently "
                        "from the grader's copy of it: something in the notebook changed torch or the stand-in")
    if after.shape != mine_after.shape or not np.allclose(mine_after, after, rtol=1e-3, atol=1e-4):
        raise ForReview("the grader rebuilt the stand-in model from its trained weights, and it does not reconstruct the "
                        "scenes as it did in your kernel: its forward pass changed once train_step had run")
    if not np.isfinite(mine_after).all():
        raise StudentCheckError("the stand-in model's reconstruction became NaN or inf during training")
    error_before, error_after = ((mine_before - shown) ** 2).mean(), ((mine_after - shown) ** 2).mean()
    if not error_after <= E2E_RATIO * error_before:
        moved = max(float(np.abs(_np(v) - _np(case.args[1][k])).max()) for k, v in actual[3].items()
                    if k in case.args[1])
        why = ("its weights never moved: check that train_step calls optimiser.step() after loss.backward(), and "
               "that it sets every parameter group's lr to lr (the optimiser here was made with lr 0)"
               if moved == 0 else
               "check that train_step sets the optimiser's learning rate to lr on every step, zeroes the gradients "
               "before loss.backward() and steps, and that the loss is the mean squared error of the reconstruction "
               "against the images")
        raise StudentCheckError(f"{steps} steps of your train_step (a stand-in model from the grader's initial "
                                f"weights, the learning rates handed in) took the reconstruction error of "
                                f"{len(shown)} scenes from {error_before:.4f} to {error_after:.4f}; a correct step "
                                f"brings it below {E2E_RATIO:.0%} of where it started (the reference: 47-54 %): "
                                + why)


#: the hidden check that judges each class a later check may be judged apart from (a function: its own name)
JUDGED_BY = {"SoftPositionEmbed": "encoder", "Encoder": "encoder", "SlotAttention": "slot_attention"}

SPECS = {
    "position_grid": Spec(_grid_cases, rtol=1e-6, atol=1e-7, axes=("row", "column", "channel"),
                          hint="(x, y, 1 - x, 1 - y) with x = c / (w - 1) and y = r / (h - 1): torch.linspace(0, 1, n)."),
    "encoder": Spec(_encoder_cases, compare=_judge_encoder, reference=None, isolate=("position_grid",)),
    "slot_attention": Spec(_attention_cases, compare=_judge_attention, reference=None),
    "slot_gradients": Spec(_gradient_cases, compare=_judge_gradients, reference=None),
    "mix": Spec(_mix_cases, rtol=1e-5, atol=1e-6,
                hint="alpha = softmax of the logits over the slots (dimension 1); the sum over the slots of alpha * "
                     "rgb, and the masks alpha[:, :, 0]."),
    "autoencoder": Spec(_autoencoder_cases, compare=_judge_autoencoder, reference=None,
                        isolate=("position_grid", "SoftPositionEmbed", "Encoder", "SlotAttention", "mix")),
    "initial_slots": Spec(_slots_cases, compare=_judge_slots, reference=None),
    "fg_ari": Spec(_ari_cases, compare=_judge_ari, reference=None),
    "learning_rate": Spec(_lr_cases, rtol=1e-9, atol=1e-15,
                          hint="base_lr * min(1, (step + 1) / warmup) * 0.5 ** (step / half_life), step from 0."),
    "train_step": Spec(_train_step_cases, compare=_judge_train_step, reference=None),
    "e2e_training": Spec(_e2e_cases, compare=_judge_e2e, reference=None),
}
