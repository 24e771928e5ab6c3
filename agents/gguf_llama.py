"""Turn a llama-architecture GGUF (the embedded model's) into the Hugging Face folder vLLM loads, reading the
file once.

`AutoModelForCausalLM.from_pretrained(gguf_file=...)` gives the same folder but parses the whole file three times
(config, tokenizer, weights: ~4 s each on 2 cores, most of it the 49k-entry vocabulary walked element by element)
and rebuilds gguf's tensor-name table once per submodule: 18 s of a 34 s first start. Here transformers' own
single-pass GGUF reader, its torch dequantizer and its GGUF tokenizer builder do the work once each: 4.6 s with
torch and transformers imported, which the engine needs next anyway (`python -m bench start`: 14 s to the first
turn from empty caches).
tests/test_embedded.py holds the two folders equal, tensor by tensor and token by token.
"""
from __future__ import annotations

from pathlib import Path

# GGUF metadata key (after "llama.") -> LlamaConfig field
CONFIG_KEYS = {
    "context_length": "max_position_embeddings",
    "block_count": "num_hidden_layers",
    "feed_forward_length": "intermediate_size",
    "embedding_length": "hidden_size",
    "rope.dimension_count": "head_dim",
    "rope.freq_base": "rope_theta",
    "attention.head_count": "num_attention_heads",
    "attention.head_count_kv": "num_key_value_heads",
    "attention.layer_norm_rms_epsilon": "rms_norm_eps",
    "vocab_size": "vocab_size",
}
# tokenizer.ggml.<key>_token_id -> config field
TOKEN_IDS = {"bos": "bos_token_id", "eos": "eos_token_id", "unknown": "unk_token_id", "padding": "pad_token_id"}

# GGUF tensor name -> Hugging Face name; "blk.N." is "model.layers.N."
TOP_TENSORS = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
LAYER_TENSORS = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def convert(source: Path, dest: Path) -> None:
    """Write config, generation config, bf16 safetensors, tokenizer and chat template for `source` into `dest`."""
    from transformers import GenerationConfig
    from transformers.integrations.gguf import GgufHeader, read_gguf_metadata

    metadata, _ = read_gguf_metadata(str(source))
    if metadata["general.architecture"] != "llama":
        raise ValueError(f"{source.name} is a {metadata['general.architecture']!r} GGUF; this converter reads llama")
    header = GgufHeader.from_file(str(source))
    config = _config(metadata, header)
    config.save_pretrained(str(dest))
    GenerationConfig.from_model_config(config).save_pretrained(str(dest))
    _save_weights(header, config, dest)
    _tokenizer(source).save_pretrained(str(dest))


def _config(metadata: dict, header):
    from transformers import LlamaConfig

    fields = {name: metadata[f"llama.{key}"] for key, name in CONFIG_KEYS.items() if f"llama.{key}" in metadata}
    ids = {name: metadata.get(f"tokenizer.ggml.{key}_token_id") for key, name in TOKEN_IDS.items()}
    tied = all(info.name != "output.weight" for info in header.tensors)
    config = LlamaConfig(**fields, tie_word_embeddings=tied, architectures=["LlamaForCausalLM"], dtype="bfloat16")
    for name, value in ids.items():  # set one by one: LlamaConfig's signature leaves unk_token_id out
        if value is not None:
            setattr(config, name, value)
    return config


def _save_weights(header, config, dest: Path) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers.integrations.gguf import load_gguf_state_dict
    from transformers.integrations.gguf.dequant import GGML_BLOCK, dequantize

    tensors = {}
    lazy = load_gguf_state_dict(header)
    for info in header.tensors:
        raw = lazy[info.name][()]
        values = dequantize(raw.reshape(-1), info.ggml_type) if info.ggml_type in GGML_BLOCK else raw.float()
        values = values.reshape(info.shape)
        part, kind = info.name.rsplit(".", 1)
        if ".attn_q" in info.name:
            values = _unpermute(values, config.num_attention_heads)
        elif ".attn_k" in info.name:
            values = _unpermute(values, config.num_key_value_heads)
        tensors[f"{_hf_name(part)}.{kind}"] = values.to(torch.bfloat16).contiguous()
    save_file(tensors, str(dest / "model.safetensors"), metadata={"format": "pt"})


def _hf_name(part: str) -> str:
    if part in TOP_TENSORS:
        return TOP_TENSORS[part]
    blk, layer, name = part.split(".", 2)
    if blk != "blk" or name not in LAYER_TENSORS:
        raise ValueError(f"a llama GGUF should not hold a tensor named {part!r}")
    return f"model.layers.{layer}.{LAYER_TENSORS[name]}"


def _unpermute(weights, heads: int):
    """Undo llama.cpp's reordering of each q/k head's rows (it interleaves the rotary halves)."""
    half = weights.shape[0] // heads // 2
    return weights.reshape(heads, half, 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def _tokenizer(source: Path):
    from transformers import TokenizersBackend
    from transformers.integrations.gguf import convert_gguf_tokenizer, get_gguf_tokenizer

    architecture, tokenizer_dict, tokenizer_config = get_gguf_tokenizer(str(source))
    backend, extra = convert_gguf_tokenizer(architecture, tokenizer_dict)
    return TokenizersBackend(tokenizer_object=backend, **tokenizer_config, **extra)
