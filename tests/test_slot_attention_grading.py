"""What assignment 5's grader refuses beyond the reference comparisons: an end-to-end training whose model copies
its input instead of decoding slots, or whose optimiser never moves; and module answers diagnosed by the mistake
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


def _untrained(spec, case):
    """A model as the hidden test builds it (seeded from the case), its state and its reconstructions."""
    torch.manual_seed(case.args[2])
    model = spec._ref().SlotAutoencoder(case.args[0].shape[-1], 3, 32, 16)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    shown = np.asarray(case.args[0][:32], dtype=np.float64)
    return state, torch.as_tensor(spec._rebuilt(state, shown, "untrained"))


def test_a_model_that_returns_its_input_as_the_reconstruction_gets_no_training_points(spec):
    """The attacks the kernel can make on this check: an 'autoencoder' whose output is its input, or one whose forward
    returns (half) its input once train_step has run. The grader rebuilds the model from the recorded weights and
    computes the reconstructions itself: they are not the kernel's, the check fails and asks a person to look."""
    from autograder.integrity.specs import ForReview

    case = spec._e2e_cases(np.random.default_rng(0))[0]
    images = case.args[0][:32]
    losses = torch.linspace(0.05, 0.01, case.args[1], dtype=torch.float64)
    state, honest = _untrained(spec, case)
    with pytest.raises(StudentCheckError, match="before any training they already differ") as copier:
        spec._judge_e2e((losses, images.clone(), images.clone(), state, state), None, case)
    assert not isinstance(copier.value, ForReview)                    # what an honest wrong forward pass does too
    with pytest.raises(ForReview, match="changed once train_step"):
        spec._judge_e2e((losses, honest, images / 2, state, state), None, case)


def test_a_training_that_never_moves_the_model_fails_with_the_likely_cause(spec):
    case = spec._e2e_cases(np.random.default_rng(1))[0]
    state, honest = _untrained(spec, case)
    losses = torch.full((case.args[1],), 0.05, dtype=torch.float64)
    with pytest.raises(StudentCheckError, match="learning rate"):
        spec._judge_e2e((losses, honest, honest, state, state), None, case)


def test_a_softmax_over_the_inputs_is_named_as_such(spec):
    """The module's answer is diagnosed by running the reference's layers in the mistaken order."""
    case = spec._attention_cases(np.random.default_rng(2))[0]
    inputs, slots, state, iterations = case.args
    wrong = spec._run_attention(state, inputs, slots, iterations, over="inputs")
    with pytest.raises(StudentCheckError, match="over the inputs"):
        spec._judge_attention(wrong, None, case)
    right = spec._run_attention(state, inputs, slots, iterations)
    spec._judge_attention(right, None, case)
