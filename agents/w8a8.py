"""An int8 (W8A8) copy of a converted model folder, in the compressed-tensors format vLLM's CPU backend loads.

Every linear layer of the decoder keeps int8 weights with one float32 scale per output channel (symmetric,
absmax / 127); its activations are quantized per token at run time (dynamic, symmetric), so no calibration
data is needed. Embeddings, norms and the (tied) output head stay in the folder's float dtype. vLLM 0.32 runs
such a layer through oneDNN's int8 matmul (`onednn_scaled_mm`) on AVX2 and AVX-512 CPUs, or sgl's AMX kernel
where AMX is there (`vllm/model_executor/kernels/linear/scaled_mm/cpu.py`).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

QUANTIZED = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
COPIED = ("chat_template.jinja", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
          "special_tokens_map.json")


def quantization_config() -> dict:
    """The `quantization_config` of config.json: int8 weights per output channel, int8 activations per token."""
    from compressed_tensors.quantization import QuantizationArgs, QuantizationConfig, QuantizationScheme

    weights = QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="channel", dynamic=False)
    activations = QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="token", dynamic=True)
    config = QuantizationConfig(
        config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=weights,
                                                     input_activations=activations)},
        ignore=["lm_head"], format="int-quantized", quantization_status="compressed")
    return config.model_dump(mode="json")


def is_w8a8(folder: str) -> bool:
    """Whether the model folder's config says int8 weights and int8 activations (compressed-tensors)."""
    try:
        config = json.loads((Path(folder).expanduser() / "config.json").read_text()).get("quantization_config")
    except (OSError, ValueError):
        return False
    if not isinstance(config, dict) or config.get("quant_method") != "compressed-tensors":
        return False
    groups = [g for g in (config.get("config_groups") or {}).values() if isinstance(g, dict)]
    return bool(groups) and all((g.get(part) or {}).get("num_bits") == 8 and (g.get(part) or {}).get("type") == "int"
                                for g in groups for part in ("weights", "input_activations"))


def quantize_rows(weight):
    """(int8 weight, float32 scale of shape [rows, 1]) of a float [rows, cols] matrix: each row scaled so its
    largest magnitude becomes 127."""
    import torch

    w = weight.to(torch.float32)
    scale = w.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127.0
    return torch.round(w / scale).clamp(-127, 127).to(torch.int8), scale


def write(source: Path, dest: Path) -> None:
    """Write the W8A8 copy of the float folder `source` into the (existing, empty) folder `dest`."""
    from safetensors.torch import load_file, save_file

    tensors = {}
    for name, tensor in load_file(str(source / "model.safetensors")).items():
        layer = name.rsplit(".", 2)
        if len(layer) == 3 and layer[1] in QUANTIZED and layer[2] == "weight":
            tensors[name], tensors[f"{layer[0]}.{layer[1]}.weight_scale"] = quantize_rows(tensor)
        else:
            tensors[name] = tensor.contiguous()
    save_file(tensors, str(dest / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((source / "config.json").read_text())
    config["quantization_config"] = quantization_config()
    (dest / "config.json").write_text(json.dumps(config, indent=2))
    for name in COPIED:
        if (source / name).is_file():
            shutil.copy(source / name, dest / name)
