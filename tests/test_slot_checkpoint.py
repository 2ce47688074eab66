"""The slot-attention checkpoint the course ships (``elvkit/models/weights/slots_palette.pt``) and the script that
makes it (``solutions/05_slot_attention/train_slots.py``): deterministic given its seed, resumable, and the file
matches its record."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "solutions" / "05_slot_attention" / "train_slots.py"


def _train_slots():
    spec = importlib.util.spec_from_file_location("train_slots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_training_script_is_deterministic_given_its_seed_and_resumes(tmp_path):
    """Two runs of a few steps from the same seed write the same weights; a run stopped after its resumable state
    was saved and started again ends with the same weights too."""
    train = _train_slots()
    common = ["--steps", "4", "--batch", "4", "--scenes", "16", "--size", "16", "--warmup", "2", "--device", "cpu",
              "--held-out", "8"]
    train.main([*common, "--out", str(tmp_path / "a.pt"), "--every", "2"])
    train.main([*common, "--out", str(tmp_path / "b.pt"), "--every", "2", "--stop-after", "2"])
    assert not (tmp_path / "b.pt").exists() and (tmp_path / "b.pt.partial").exists()
    train.main([*common, "--out", str(tmp_path / "b.pt"), "--every", "2"])
    a, b = torch.load(tmp_path / "a.pt"), torch.load(tmp_path / "b.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    record = json.loads((tmp_path / "a.json").read_text())
    assert set(record["fg_ari"]) >= {"palette", "colour-proof"} and record["recipe"]["seed"] == 0


def test_slot_attention_is_equivariant_to_the_order_of_the_slots():
    """Permuting the slots passed in permutes the slots and the attention that come out, and nothing else."""
    train = _train_slots()
    torch.manual_seed(0)
    module = train.reference().SlotAttention(dim=16, iterations=3)
    inputs, slots = torch.randn(2, 30, 16), torch.randn(2, 4, 16)
    perm = torch.tensor([2, 0, 3, 1])
    out, attn = module(inputs, slots)
    out_p, attn_p = module(inputs, slots[:, perm])
    torch.testing.assert_close(out_p, out[:, perm], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(attn_p[-1], attn[-1][:, perm], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(attn[-1].sum(dim=1), torch.ones(2, 30), rtol=1e-5, atol=1e-6)   # over the slots


def test_the_shipped_checkpoint_matches_its_record_and_finds_objects():
    """Its sha256 is the recorded one, it is small, it loads into the script's model, and the FG-ARI recorded at
    training is what it scores now on the same new scenes."""
    from elvkit.models import course_state

    state, record = course_state("slots_palette")
    train = _train_slots()
    model = train.reference().SlotAutoencoder(record["size"], record["slots"], record["dim"])
    model.load_state_dict(state)
    assert record["bytes"] < 4_000_000
    scenes = train.scenes_at(256, 10_000, record["size"], "palette")
    assert train.fg_ari(model, scenes) == pytest.approx(record["fg_ari"]["palette"]["slot_attention"], abs=2e-3)


def test_training_further_starts_from_the_given_weights_and_records_them(tmp_path):
    """``--init`` loads saved weights before the first step (with a learning rate of 0 they come out unchanged) and
    the record names the file and its sha256."""
    import hashlib

    train = _train_slots()
    common = ["--batch", "2", "--scenes", "8", "--size", "16", "--warmup", "1", "--device", "cpu", "--held-out", "4"]
    train.main([*common, "--steps", "2", "--out", str(tmp_path / "first.pt")])
    train.main([*common, "--steps", "2", "--lr", "0", "--seed", "3", "--init", str(tmp_path / "first.pt"),
                "--out", str(tmp_path / "again.pt")])
    first, again = torch.load(tmp_path / "first.pt"), torch.load(tmp_path / "again.pt")
    assert all(torch.equal(first[k], again[k]) for k in first)
    record = json.loads((tmp_path / "again.json").read_text())
    assert record["init"] == {"file": "first.pt",
                              "sha256": hashlib.sha256((tmp_path / "first.pt").read_bytes()).hexdigest()}
    assert "--init" in record["command"]
