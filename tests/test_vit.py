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
