"""The course's ViT: attention and keys of every layer, any multiple of the patch size, and DINO's layout."""

import pytest
import torch

from conftest import DEVICES


@pytest.mark.parametrize("device", DEVICES)
def test_attention_rows_are_distributions_and_keys_have_one_row_per_token(device):
    from elvkit.models import vit_tiny

    torch.manual_seed(0)
    model = vit_tiny().to(device).eval()
    x = torch.rand(2, 3, 64, 64, device=device)
    with torch.no_grad():
        out = model.inspect(x)
    assert out["cls"].shape == (2, 96) and out["patches"].shape == (2, 64, 96) and out["grid"] == (8, 8)
    assert len(out["attention"]) == 4 and out["attention"][0].shape == (2, 3, 65, 65)
    torch.testing.assert_close(out["attention"][-1].sum(-1), torch.ones(2, 3, 65, device=device))
    assert out["keys"].shape == (2, 3, 65, 32)
    with torch.no_grad():
        wide = model.inspect(torch.rand(1, 3, 48, 80, device=device))     # position embeddings interpolated
    assert wide["grid"] == (6, 10) and wide["attention"][0].shape == (1, 3, 61, 61)
    torch.testing.assert_close(model(x), out["cls"])


def test_images_that_do_not_tile_are_refused_with_the_shape():
    from elvkit.models import vit_tiny

    with pytest.raises(ValueError, match=r"multiples of 8; got \(1, 3, 60, 64\)"):
        vit_tiny()(torch.rand(1, 3, 60, 64))


def test_a_checkpoint_in_dinos_layout_loads_with_prefixes_heads_and_another_grid():
    """A fake ViT-S/16-shaped teacher checkpoint: DINO's key names, its 'backbone.' prefix, a projection head to
    ignore, and position embeddings for 224x224 loaded into a model for 112x112."""
    from elvkit.models import VisionTransformer, load_dino_state_dict

    torch.manual_seed(1)
    shape = dict(patch=16, dim=48, depth=2, heads=2)
    source = VisionTransformer(image_size=224, **shape)
    state = {f"backbone.{k}": v.clone() for k, v in source.state_dict().items()}
    state["head.mlp.0.weight"] = torch.zeros(3, 3)
    assert {"backbone.cls_token", "backbone.pos_embed", "backbone.patch_embed.proj.weight",
            "backbone.blocks.0.attn.qkv.weight", "backbone.blocks.1.mlp.fc2.bias", "backbone.norm.weight"} <= set(state)
    target = load_dino_state_dict(VisionTransformer(image_size=112, **shape), state)
    torch.testing.assert_close(target.blocks[1].attn.qkv.weight, source.blocks[1].attn.qkv.weight)
    assert target.pos_embed.shape == (1, 1 + 49, 48)
    source.eval(), target.eval()
    x = torch.rand(1, 3, 112, 112)
    with torch.no_grad():   # the source interpolates its 14x14 embeddings to 7x7 as the loader did: same features
        torch.testing.assert_close(target(x), source(x))
    del state["backbone.norm.weight"]
    with pytest.raises(ValueError, match="has no weight 'norm.weight'"):
        load_dino_state_dict(VisionTransformer(image_size=112, **shape), state)


def _train_vit():
    import importlib.util

    from autograder.course import get_assignment

    path = get_assignment("03_self_supervised").source.parent / "train_vit.py"
    spec = importlib.util.spec_from_file_location("train_vit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_checkpoint_matches_its_record_and_its_attention_separates_objects():
    """The checkpoint the course ships: its sha256 is the recorded one, it is small, and the FG-ARI of its [CLS]
    attention recorded at training is what it scores now, above a random-init ViT's on the same scenes."""
    import hashlib
    import json

    from elvkit.data import make_object_scenes
    from elvkit.models import course_vit, vit_tiny
    from elvkit.models.vit import WEIGHTS

    record = json.loads((WEIGHTS / "vit_tiny_dino.json").read_text())
    data = (WEIGHTS / record["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == record["sha256"] and len(data) == record["bytes"] < 4_000_000
    model = course_vit()
    train_vit = _train_vit()
    scenes = make_object_scenes(256, seed=10_000)
    trained = train_vit.attention_fg_ari(model, scenes)
    torch.manual_seed(0)
    random_init = train_vit.attention_fg_ari(vit_tiny(), scenes)
    assert trained == pytest.approx(record["fg_ari_cls_attention"]["trained"], abs=2e-3)
    assert random_init == pytest.approx(record["fg_ari_cls_attention"]["random_init"], abs=2e-3)
    assert trained > random_init + 0.03


def test_a_damaged_checkpoint_is_refused_by_its_sha256(tmp_path, monkeypatch):
    import json
    import shutil

    from elvkit.models import vit as vit_module

    for suffix in (".pt", ".json"):
        shutil.copy(vit_module.WEIGHTS / f"vit_tiny_dino{suffix}", tmp_path / f"vit_tiny_dino{suffix}")
    record = json.loads((tmp_path / "vit_tiny_dino.json").read_text())
    data = bytearray((tmp_path / "vit_tiny_dino.pt").read_bytes())
    data[-100] ^= 1
    (tmp_path / "vit_tiny_dino.pt").write_bytes(bytes(data))
    monkeypatch.setattr(vit_module, "WEIGHTS", tmp_path)
    with pytest.raises(ValueError, match=f"its record says {record['sha256']}"):
        vit_module.course_vit()
    with pytest.raises(FileNotFoundError, match="no course checkpoint 'vit_small_dino'.*found: vit_tiny_dino"):
        vit_module.course_vit("vit_small_dino")


def test_the_training_script_is_deterministic_given_its_seed_and_resumes(tmp_path):
    """Two runs of a few steps from the same seed write the same checkpoint; a run stopped after its resumable
    state was saved and started again ends with the same checkpoint too."""
    train_vit = _train_vit()
    common = ["--steps", "4", "--batch", "4", "--scenes", "16", "--local", "2", "--warmup", "2", "--device", "cpu",
              "--held-out", "8"]
    train_vit.main([*common, "--out", str(tmp_path / "a.pt"), "--every", "2"])
    train_vit.main([*common, "--out", str(tmp_path / "b.pt"), "--every", "2", "--stop-after", "2"])
    assert not (tmp_path / "b.pt").exists() and (tmp_path / "b.pt.partial").exists()
    train_vit.main([*common, "--out", str(tmp_path / "b.pt"), "--every", "2"])
    a, b = torch.load(tmp_path / "a.pt"), torch.load(tmp_path / "b.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "a.json").read_text().count(":") > 5


def test_dino_loads_only_with_a_committed_hash_and_the_real_weights_path_runs_offline(fake_dino, monkeypatch):
    """The path of the notebooks and demos with DINO's published ViTs, on the offline photographs: the last
    layer's [CLS] attention per head, the attention from a query patch, the patch keys, and MaskCut's masks on the
    ViT-S/8's 28 x 28 grid of keys, as the paper cuts them. Without the committed hashes neither model loads."""
    import numpy as np

    from autograder.integrity.reference import load
    from elvkit.data import load_photographs
    from elvkit.models import dino_available, dino_vit, imagenet_normalise

    assert not dino_available("vits8") and not dino_available("vits16")        # the shipped registry: no hash yet
    with pytest.raises(ValueError, match="sha256 committed"):
        dino_vit("vits8")
    monkeypatch.setenv("ELVKIT_REGISTRY", str(fake_dino / "registry.toml"))
    assert dino_available("vits8") and dino_available("vits16")
    with pytest.raises(ValueError, match="one of vits16, vits8"):
        dino_vit("vitb8")
    photos = load_photographs(224)
    x = imagenet_normalise(torch.as_tensor(photos.images[:2]))
    ncut = load("04_normalized_cuts")
    for name, grid in (("vits16", 14), ("vits8", 28)):
        model = dino_vit(name)
        with torch.no_grad():
            out = model.inspect(x)
        last = out["attention"][-1]
        assert out["grid"] == (grid, grid) and last.shape == (2, 6, 1 + grid * grid, 1 + grid * grid)
        per_head = last[:, :, 0, 1:].reshape(2, 6, grid, grid)                 # what [CLS] attends to, per head
        torch.testing.assert_close(per_head.sum(dim=(2, 3)) + last[:, :, 0, 0], torch.ones(2, 6))
        query = grid * (grid // 2) + grid // 2                                   # the centre patch
        assert last[0, :, 1 + query, 1:].reshape(6, grid, grid).shape == (6, grid, grid)
        keys = out["keys"][:, :, 1:].permute(0, 2, 1, 3).flatten(2).numpy()    # (B, P, 384)
        assert keys.shape == (2, grid * grid, 384)
        if name == "vits8":
            masks = ncut.maskcut(keys[0], out["grid"], 3, 0.15)
            assert masks.shape == (3, 28, 28) and masks.dtype == bool and masks[0].any()
    with pytest.raises(ValueError, match="RGB images"):
        imagenet_normalise(torch.zeros(1, 1, 8, 8))
    assert np.isclose(float(imagenet_normalise(torch.full((1, 3, 1, 1), 0.485))[0, 0]), 0.0, atol=1e-6)


@pytest.mark.parametrize("assignment_id", ["03_self_supervised", "04_normalized_cuts"])
def test_the_notebooks_dino_cells_run_on_the_real_weights_path(fake_dino, monkeypatch, assignment_id):
    """The notebooks' cells that use DINO's published ViTs when an instructor has them, run offline on checkpoints
    in DINO's layout (the fake_dino fixture): each draws its figure and prints its numbers; with the shipped
    registry (no hash committed) each says how to get the weights instead."""
    import ast
    import contextlib
    import io

    import matplotlib

    matplotlib.use("Agg")
    from autograder.course import get_assignment
    from autograder.course.notebooks import imports_source, read_source
    from autograder.integrity.reference import load
    from autograder.integrity.replay import base_namespace
    from elvkit.data import make_object_scenes

    a = get_assignment(assignment_id)
    source = read_source(a.source)
    at = next(i for i, c in enumerate(source.cells) if c.cell_type == "code" and "dino_available(" in c.source)
    ns = dict(base_namespace(imports_source(source)))
    ns.update({k: v for k, v in vars(load(a)).items() if not k.startswith("__")})
    for cell in source.cells[:at]:                  # the helpers the earlier cells define (figures not redrawn)
        if cell.cell_type == "code":
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    try:
                        exec(compile(ast.Module(body=[node], type_ignores=[]), node.name, "exec"), ns)
                    except NameError:       # a default taken from a cell's variable: not a helper the cell needs
                        pass
    ns["scenes"] = make_object_scenes(8, seed=21)
    cell = source.cells[at].source
    import matplotlib.pyplot as plt

    for registry in (None, fake_dino / "registry.toml"):
        if registry is not None:
            monkeypatch.setenv("ELVKIT_REGISTRY", str(registry))
        plt.close("all")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(cell, f"{assignment_id} DINO cell", "exec"), dict(ns))
        if registry is None:
            assert "is not on this machine" in printed.getvalue() and not plt.get_fignums(), printed.getvalue()
        else:
            assert "not on this machine" not in printed.getvalue() and plt.get_fignums(), "the figure is drawn"
    plt.close("all")
    if assignment_id == "04_normalized_cuts":
        assert "MaskCut with DINO ViT-S/8, 8 scenes: FG-ARI" in printed.getvalue()
