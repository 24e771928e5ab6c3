"""The int8 (W8A8) copy of a model folder: the weights' rounding and the config vLLM reads (no model needed)."""
from __future__ import annotations

import json

import torch
from safetensors.torch import load_file, save_file

from agents import w8a8


def test_each_output_channel_gets_its_own_scale_and_rounds_within_half_of_it():
    weight = torch.randn(6, 32) * torch.tensor([1e-3, 1e-2, 0.1, 1.0, 10.0, 0.0]).unsqueeze(1)
    q, scale = w8a8.quantize_rows(weight)
    assert q.dtype == torch.int8 and scale.shape == (6, 1) and scale.dtype == torch.float32
    assert int(q[:5].abs().amax(dim=1).min()) == 127  # every row uses the whole int8 range
    assert bool((q[5] == 0).all())  # a zero row stays zero, no division by zero
    assert bool(((q.float() * scale - weight).abs() <= scale / 2 + 1e-7).all())


def test_the_copy_quantizes_the_decoder_linears_only(tmp_path):
    source, dest = tmp_path / "float", tmp_path / "int8"
    source.mkdir()
    dest.mkdir()
    tensors = {"model.embed_tokens.weight": torch.randn(10, 8, dtype=torch.bfloat16),
               "model.layers.0.input_layernorm.weight": torch.ones(8, dtype=torch.bfloat16),
               "model.layers.0.self_attn.q_proj.weight": torch.randn(8, 8, dtype=torch.bfloat16),
               "model.layers.0.mlp.down_proj.weight": torch.randn(8, 16, dtype=torch.bfloat16)}
    save_file(tensors, str(source / "model.safetensors"))
    (source / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    (source / "tokenizer.json").write_text("{}")
    w8a8.write(source, dest)
    out = load_file(str(dest / "model.safetensors"))
    assert out["model.layers.0.self_attn.q_proj.weight"].dtype == torch.int8
    assert out["model.layers.0.mlp.down_proj.weight_scale"].shape == (8, 1)
    assert out["model.embed_tokens.weight"].dtype == torch.bfloat16  # embeddings (and the tied head) stay float
    assert "model.layers.0.input_layernorm.weight_scale" not in out
    config = json.loads((dest / "config.json").read_text())["quantization_config"]
    group = config["config_groups"]["group_0"]
    assert group["weights"]["strategy"] == "channel" and not group["weights"]["dynamic"]
    assert group["input_activations"]["strategy"] == "token" and group["input_activations"]["dynamic"]
    assert w8a8.is_w8a8(str(dest)) and not w8a8.is_w8a8(str(source)) and (dest / "tokenizer.json").is_file()
