"""Assignment 03's data and reference: the digits split, the lecture's NT-Xent against its loop definition
(gradient and low precision included), augmentations that are batched and reproducible, and the probes."""

import math

import numpy as np
import pytest
import torch

from conftest import DEVICES


@pytest.fixture(scope="module")
def ssl():
    from autograder.integrity.reference import load

    return load("03_self_supervised")


def test_digits_split_is_stratified_deterministic_and_real():
    from elvkit.data import load_digits

    d = load_digits()
    assert d.train_images.shape == (1198, 1, 8, 8) and d.test_images.shape == (599, 1, 8, 8)
    assert d.train_images.dtype == np.float32 and 0 <= d.train_images.min() and d.train_images.max() == 1
    counts = np.bincount(d.test_labels, minlength=10)
    assert counts.min() >= 54 and counts.max() <= 62, counts            # a third of each class (174-183 images)
    again = load_digits()
    np.testing.assert_array_equal(again.train_labels, d.train_labels)
    np.testing.assert_array_equal(again.test_images, d.test_images)
    few = d.few_shot(10, seed=3)
    assert len(few) == 100 and np.all(np.bincount(d.train_labels[few]) == 10)
    assert not np.array_equal(few, d.few_shot(10, seed=4))
    with pytest.raises(ValueError, match="shots must be a positive integer, got 0"):
        d.few_shot(0)
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\), got 1.5"):
        load_digits(test_fraction=1.5)


@pytest.mark.parametrize("tau", [0.05, 0.1, 0.5, 2.0])
def test_nt_xent_equals_the_lectures_loop_with_its_gradient(ssl, tau):
    from elvkit.contrastive import nt_xent_loop

    gen = torch.Generator().manual_seed(int(tau * 100))
    z1 = torch.randn(7, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(7, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    fast, slow = ssl.nt_xent(z1, z2, tau), nt_xent_loop(z1, z2, tau)
    assert abs(fast.item() - slow.item()) <= 1e-6 * max(1.0, abs(slow.item()))
    for a, b in zip(torch.autograd.grad(fast, [z1, z2]), torch.autograd.grad(slow, [z1, z2])):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_nt_xent_is_stable_in_half_precision_down_to_tau_0_05(ssl, dtype):
    from elvkit.contrastive import nt_xent_loop

    gen = torch.Generator().manual_seed(0)
    z1 = torch.randn(64, 16, generator=gen)
    z2 = z1 + 1.0 * torch.randn(64, 16, generator=gen)
    for tau in (0.05, 0.1):
        low = ssl.nt_xent(z1.to(dtype), z2.to(dtype), tau)
        assert torch.isfinite(low), (dtype, tau)
        truth = float(nt_xent_loop(z1, z2, tau))
        assert abs(float(low) - truth) <= 0.03 * truth + 0.02, (dtype, tau, float(low), truth)
    # the slide's exp and log written out overflow where the reference does not
    z = torch.nn.functional.normalize(torch.cat([z1, z2]).half(), dim=1)
    assert not torch.isfinite(torch.exp(z @ z.T / 0.05)).all()


def test_masking_after_exp_is_exact_in_float64_and_fails_only_by_overflow():
    """What the notebook says of a 0/1 mask multiplied after exp: the same value and gradient as the lecture's loop
    in float64 (nothing flows through s_ii), and NaN in float16 at tau 0.05 (e^(1/tau) overflows, inf * 0)."""
    from elvkit.contrastive import nt_xent_loop

    def mask_after_exp(z1, z2, tau):
        z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
        n = len(z1)
        e = torch.exp(z @ z.T / tau) * (1 - torch.eye(2 * n, dtype=z.dtype))
        rows = torch.arange(2 * n)
        return (-torch.log(e[rows, (rows + n) % (2 * n)] / e.sum(1))).mean()

    gen = torch.Generator().manual_seed(3)
    z1 = torch.randn(6, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(6, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    masked, loop = mask_after_exp(z1, z2, 0.5), nt_xent_loop(z1, z2, 0.5)
    assert abs(masked.item() - loop.item()) <= 1e-14
    for a, b in zip(torch.autograd.grad(masked, [z1, z2]), torch.autograd.grad(loop, [z1, z2])):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)
    assert torch.isnan(mask_after_exp(z1.detach().half(), z2.detach().half(), 0.05))


def test_nt_xent_loop_names_the_shapes_it_needs():
    from elvkit.contrastive import nt_xent_loop

    with pytest.raises(ValueError, match=r"must both have shape \(N, D\); got \(3, 4\) and \(3, 5\)"):
        nt_xent_loop(torch.zeros(3, 4), torch.zeros(3, 5), 0.5)


@pytest.mark.parametrize("device", DEVICES)
def test_views_are_batched_reproducible_and_stay_on_the_device(ssl, device):
    from elvkit.data import load_digits

    images = torch.as_tensor(load_digits().train_images[:128], device=device)
    v1, v2 = ssl.two_views(images, 5)
    assert v1.device.type == device and v1.shape == images.shape
    w1, _ = ssl.two_views(images, torch.Generator().manual_seed(5))
    torch.testing.assert_close(v1, w1)
    assert float((v1 - v2).abs().mean()) > 0.05
    same, _ = ssl.two_views(images, 5, ssl.IDENTITY)
    torch.testing.assert_close(same, images, rtol=0, atol=1e-5)


def test_a_mirrored_box_is_the_flipped_crop(ssl):
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(4, 3, 10, 12, generator=gen)
    boxes = torch.tensor([[1.0, 2.0, 9.0, 8.0]]).repeat(4, 1)
    mirrored = boxes[:, [2, 1, 0, 3]]
    torch.testing.assert_close(ssl.resized_crop(images, mirrored, 6), ssl.resized_crop(images, boxes, 6).flip(-1))


def test_probe_and_knn_separate_clusters_and_agree_with_scikit_learn(ssl):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, size=(5, 12))
    labels = np.repeat(np.arange(5), 40)
    x = centres[labels] + 0.9 * rng.normal(size=(200, 12))
    train, test = np.arange(200) % 4 != 0, np.arange(200) % 4 == 0
    wd = 1e-2
    ours = ssl.linear_probe(torch.as_tensor(x[train]), torch.as_tensor(labels[train]), torch.as_tensor(x[test]),
                            weight_decay=wd, num_classes=5).numpy()
    scaler = StandardScaler().fit(x[train])
    # scikit-learn's C multiplies the summed loss: mean CE + wd |W|^2 is C = 1 / (2 wd n)
    sk = LogisticRegression(C=1 / (2 * wd * train.sum()), max_iter=5000, tol=1e-10)
    sk.fit(scaler.transform(x[train]), labels[train])
    assert (ours == sk.predict(scaler.transform(x[test]))).mean() >= 0.98
    knn = ssl.knn_classify(torch.as_tensor(x[train]), torch.as_tensor(labels[train]), torch.as_tensor(x[test]),
                           k=10, num_classes=5).numpy()
    assert (knn == labels[test]).mean() >= 0.8 and (ours == labels[test]).mean() >= 0.8


def test_dino_centring_and_sharpening_move_the_teachers_entropy_apart(ssl):
    """What the lecture says each does, on logits where one unit dominates every image."""
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(256, 16, generator=gen)
    logits[:, 3] += 4.0                                    # one unit wins for every image
    center = ssl.update_center(torch.zeros(16), logits, momentum=0.0)
    entropy = {}
    for name, c, tau in (("raw", 0, 0.1), ("centred", center, 0.1), ("sharpened", 0, 0.04)):
        p = F.softmax((logits - c) / tau, dim=-1)
        entropy[name] = float(-(p * p.clamp_min(1e-12).log()).sum(-1).mean())
        if name != "raw":
            assert p.argmax(-1).float().std() > 0 or name == "sharpened"
    assert entropy["sharpened"] < entropy["raw"] < math.log(16)
    assert (F.softmax((logits - center) / 0.1, -1).argmax(-1) == 3).float().mean() < 0.5
    assert (F.softmax(logits / 0.04, -1).argmax(-1) == 3).float().mean() > 0.9


def test_an_encoder_that_looks_the_digits_up_with_their_labels_fails_the_end_to_end_check():
    """A trick: the digits are public, so an 'encoder' can find each image in scikit-learn's copy and nudge its
    representation towards the label (or return the label one-hot). The grader computes the representations
    itself, from the recorded weights with the architecture of Part 3: what the kernel returned for 64 training
    digits is not what those weights compute, so the check fails and asks a person to look. A stand-in whose forward
    pass computed something else in the kernel (its networks are the grader's) is flagged too; weights of another
    architecture are refused with what was found."""
    from sklearn.datasets import load_digits as sk_digits

    from autograder.course import get_assignment
    from autograder.integrity.reference import load
    from autograder.integrity.specs import ForReview, make_cases, specs
    from elvkit.testing import StudentCheckError

    a = get_assignment("03_self_supervised")
    ref = load(a)
    case = make_cases(a, "e2e_simclr", 7)[0]
    judge = specs(a)["e2e_simclr"].compare
    public = sk_digits()
    table = public.images.reshape(len(public.images), -1) / 16.0
    train, noise, steps, _ = case.args

    def lookup(images):
        flat = images.reshape(len(images), -1).double().numpy()
        nearest = ((flat[:, None, :] - table[None]) ** 2).sum(-1).argmin(1)
        return torch.nn.functional.one_hot(torch.as_tensor(public.target[nearest]), 128).float()

    torch.manual_seed(0)
    encoder, head = ref.Encoder().eval(), ref.ProjectionHead(128).eval()
    losses = torch.linspace(5.0, 4.0, steps)
    with torch.no_grad():
        h, n = encoder(train[:64].cpu()), encoder(noise.cpu())
        nudged = h + 3 * lookup(train[:64].cpu())
        recorded = (losses, dict(encoder.state_dict()), dict(head.state_dict()))
        notes = torch.tensor([0, 0, 0])
        with pytest.raises(ForReview, match="representations of 64 training digits differ"):
            judge(recorded + (nudged, head(nudged), n, notes), None, case)
        # the honest untrained twin: its representations are its weights', and its probe stays low
        with pytest.raises(StudentCheckError, match="NT-Xent|reaches 0\\.8") as honest:
            judge(recorded + (h, head(h), n, notes), None, case)
        assert not isinstance(honest.value, ForReview)
        # a forward pass changed in the kernel (no ReLU after the last block): the stand-in is the grader's, flagged
        other = (losses, recorded[1], recorded[2], h, head(h), encoder.net[:-1](noise.cpu()).mean(dim=(2, 3)), notes)
        with pytest.raises(ForReview, match="on noise images it computes something else"):
            judge(other, None, case)
    fewer = {k: v for k, v in encoder.state_dict().items() if not k.startswith("net.6")}
    with pytest.raises(StudentCheckError, match=r"not those of the architecture.*found convolutions"):
        judge((losses, fewer, dict(head.state_dict()), h, head(h), n, notes), None, case)


def test_the_graders_probe_is_the_notebooks_probe_draw_by_draw(ssl):
    """The end-to-end check solves its five 10-shot probes jointly (one L-BFGS on the summed, separable losses):
    the same accuracy as the reference's `linear_probe` run once per draw, on the pixels and on seeded features
    where the classes overlap."""
    from autograder.course import get_assignment
    from autograder.integrity.specs import spec_module
    from elvkit.data import load_digits

    sm = spec_module(get_assignment("03_self_supervised"))
    d = load_digits()
    rng = np.random.default_rng(3)
    mixing = rng.normal(size=(64, 24))
    sets = {"pixels": (d.train_images.reshape(len(d.train_images), -1), d.test_images.reshape(len(d.test_images), -1)),
            "noisy projection": (d.train_images.reshape(len(d.train_images), -1) @ mixing
                                 + rng.normal(0, 2.0, size=(len(d.train_images), 24)),
                                 d.test_images.reshape(len(d.test_images), -1) @ mixing)}
    for name, (ftr, fte) in sets.items():
        one_by_one = [float((ssl.linear_probe(torch.as_tensor(ftr[idx]), torch.as_tensor(d.train_labels[idx]),
                                              torch.as_tensor(fte)).numpy() == d.test_labels).mean())
                      for idx in sm.probe_draws(d.train_labels, 5)]
        joint = sm.probe_accuracy(ftr, d.train_labels, fte, d.test_labels)
        assert joint == pytest.approx(np.mean(one_by_one), abs=1.5 / len(d.test_labels)), name
        assert 0.5 < joint < 0.99, (name, joint)


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_representations_at_extreme_scales_are_refused_not_a_crash(scale):
    """A trick: weights scaled so that the representations overflow or underflow the probe's standardisation. The
    grader's rebuilt encoder and its joint probe must still answer with the student's message (a failed check),
    never an error of its own or a pass."""
    from autograder.course import get_assignment
    from autograder.integrity.reference import load
    from autograder.integrity.specs import make_cases, spec_module, specs
    from elvkit.testing import StudentCheckError

    a = get_assignment("03_self_supervised")
    sm, ref = spec_module(a), load(a)
    case = make_cases(a, "e2e_simclr", 7)[0]
    train, noise, steps, _ = case.args
    torch.manual_seed(0)
    encoder, head = ref.Encoder().eval(), ref.ProjectionHead(128).eval()
    state = {k: v.double() for k, v in encoder.state_dict().items()}
    last_norm = [k for k in state if k.endswith("running_mean")][-1][: -len("running_mean")]
    state[last_norm + "weight"] = state[last_norm + "weight"] * scale
    state[last_norm + "bias"] = state[last_norm + "bias"] * scale
    layers = sm._encoder_layers(state)
    h = sm._encode(layers, train[:64])                                 # what such a kernel computes (float64)
    with pytest.raises(StudentCheckError):
        specs(a)["e2e_simclr"].compare((torch.linspace(5.0, 4.0, steps), state,
                                        {k: v.double() for k, v in head.state_dict().items()}, h,
                                        sm._head(head.state_dict())(h), sm._encode(layers, noise),
                                        torch.tensor([0, 0, 0])), None, case)
    d = case.truth
    g = torch.Generator().manual_seed(0)
    acc = sm.probe_accuracy(torch.randn(len(train), 16, generator=g, dtype=torch.float64).numpy() * scale,
                            d["train_labels"],
                            torch.randn(len(d["test_labels"]), 16, generator=g, dtype=torch.float64).numpy() * scale,
                            d["test_labels"])
    assert 0.0 <= acc < 0.5


def test_the_parts_of_nt_xent_are_credited_apart_from_a_wrong_value():
    """A loss whose value is a common mistake (the anchor left in its denominator) loses the value's points; its
    gradient (that loss's own, computed in the graph), its stability in half precision and its vectorisation are
    credited with a note that names the mistake. A loss that is no NT-Xent at all earns none of them."""
    from autograder.course import get_assignment
    from autograder.integrity.specs import PassedNote, make_cases, spec_module
    from elvkit.testing import StudentCheckError

    a = get_assignment("03_self_supervised")
    sm = spec_module(a)
    cases = make_cases(a, "nt_xent", 7) + make_cases(a, "nt_xent_low_precision", 7)

    def recorded(loss_fn, case):
        z1, z2, tau = case.args
        low = z1.dtype in (torch.float16, torch.bfloat16)
        a_, b_ = (z.detach().clone().requires_grad_(not low) for z in (z1, z2))
        loss = loss_fn(a_, b_, tau)
        if low:
            return loss.detach().float(), None, None, 0
        g1, g2 = torch.autograd.grad(loss, [a_, b_])
        return loss.detach(), g1, g2, 15

    def anchor(z1, z2, tau):
        z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
        n, logits = len(z1), z @ z.T / tau
        rows = torch.arange(2 * n)
        return (torch.logsumexp(logits, dim=1) - logits[rows, (rows + n) % (2 * n)]).mean()

    def junk(z1, z2, tau):
        return (z1 * z2).sum() / tau

    f64 = [c for c in cases if c.args[0].dtype == torch.float64][0]
    half = [c for c in cases if c.args[0].dtype == torch.float16][0]
    with pytest.raises(StudentCheckError, match="anchor itself is left in the denominator"):
        sm._judge_nt_xent(recorded(anchor, f64), None, f64)
    for judge, case in ((sm._judge_nt_xent_gradient, f64), (sm._judge_nt_xent_graph, f64),
                        (sm._judge_nt_xent_low_precision, half)):
        with pytest.raises(PassedNote, match="anchor itself is left in the denominator"):
            judge(recorded(anchor, case), None, case)
        with pytest.raises(StudentCheckError):
            judge(recorded(junk, case), None, case)
