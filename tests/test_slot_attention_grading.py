"""What assignment 5's grader refuses beyond the reference comparisons: an end-to-end training whose stand-in model
changed its forward pass in the kernel, or whose optimiser never moves; and module answers diagnosed by the mistake
they make."""

import numpy as np
import pytest
import torch

from autograder.course import get_assignment
from autograder.integrity.specs import spec_module
from elvkit.testing import StudentCheckError


@pytest.fixture(scope="module")
def spec():
    return spec_module(get_assignment("05_slot_attention"))


def _trained(spec, case, train_step=None):
    """The hidden test's training run, here: the stand-in from the case's weights, ``train_step`` (the reference's)
    at the case's learning rates; returns what the hidden test returns."""
    from autograder.kernel_side.probes import StepProbe

    images, state, rates, seed = case.args
    step = train_step or spec._ref().train_step
    model = StepProbe(16, 3, 16)
    model.load_state_dict(state)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.0)
    shown = images[:32]

    def reconstruct():
        with torch.no_grad():
            return model(shown, model.initial_slots(32, torch.Generator().manual_seed(0)))[0].clone()

    before, draws, losses = reconstruct(), torch.Generator().manual_seed(seed), []
    for lr in rates.tolist():
        losses.append(step(model, optimiser, images[torch.randint(len(images), (16,), generator=draws)], draws, lr,
                           1.0)[0])
    return (torch.tensor(losses, dtype=torch.float64), before, reconstruct(),
            {k: v.detach().clone() for k, v in model.state_dict().items()})


def test_the_reference_training_loop_passes_with_a_margin(spec):
    """The bar (85 % of the error before) is far from the reference's 47-54 % on every seed tried."""
    for seed in range(3):
        case = spec._e2e_cases(np.random.default_rng(seed))[0]
        spec._judge_e2e(_trained(spec, case), None, case)


def test_a_stand_in_whose_forward_changed_in_the_kernel_is_flagged(spec):
    """The attacks the kernel can make on this check: a stand-in whose output is its input, or one whose forward
    returns (half) its input once train_step has run. The grader rebuilds the stand-in from the weights and computes
    the reconstructions itself: they are not the kernel's, the check fails and asks a person to look."""
    from autograder.integrity.specs import ForReview

    case = spec._e2e_cases(np.random.default_rng(0))[0]
    losses, honest, trained, state = _trained(spec, case)
    images = case.args[0][:32]
    with pytest.raises(ForReview, match="before any training"):
        spec._judge_e2e((losses, images.clone(), trained, state), None, case)
    with pytest.raises(ForReview, match="changed once train_step"):
        spec._judge_e2e((losses, honest, images / 2, state), None, case)


def test_a_training_that_never_moves_the_model_fails_with_the_likely_cause(spec):
    case = spec._e2e_cases(np.random.default_rng(1))[0]
    losses, honest, _, _ = _trained(spec, case)
    with pytest.raises(StudentCheckError, match="never moved.*lr"):
        spec._judge_e2e((losses, honest, honest, dict(case.args[1])), None, case)


def test_a_step_that_never_sets_the_learning_rate_fails(spec):
    """The optimiser starts at lr 0: a step that leaves it there trains nothing."""
    ref = spec._ref()

    def no_lr(model, optimiser, images, generator, lr, clip=1.0, detach_last=True):
        recon, _, _ = model(images, model.initial_slots(len(images), generator, images.device), detach_last)
        loss = torch.nn.functional.mse_loss(recon, images)
        optimiser.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimiser.step()
        return loss.item(), float(norm)

    assert ref.train_step is not no_lr
    case = spec._e2e_cases(np.random.default_rng(2))[0]
    with pytest.raises(StudentCheckError, match="never moved"):
        spec._judge_e2e(_trained(spec, case, no_lr), None, case)


def test_a_softmax_over_the_inputs_is_named_as_such(spec):
    """The module's answer is diagnosed by running the reference's layers in the mistaken order."""
    case = spec._attention_cases(np.random.default_rng(2))[0]
    inputs, slots, state, iterations = case.args
    wrong = spec._run_attention(state, inputs, slots, iterations, over="inputs")
    with pytest.raises(StudentCheckError, match="over the inputs"):
        spec._judge_attention(wrong, None, case)
    right = spec._run_attention(state, inputs, slots, iterations)
    spec._judge_attention(right, None, case)
