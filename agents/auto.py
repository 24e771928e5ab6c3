"""`--backend auto|vllm|openai|modal|embedded` -> a backend object, saying in one line which and why.

auto picks: a server URL configured -> openai; a CUDA GPU with vLLM -> vllm with the default model;
otherwise vLLM on the CPU with the tiny model embedded in a PyPI package (no network, ever).
"""
from __future__ import annotations

import importlib.util
import os

from agents.backends.base import Backend, BackendUnavailable
from sim.config import check_url
from sim.errors import MissingExtra
from sim.policy import PolicyOptions

DEFAULT_GPU_MODEL = "Qwen/Qwen2.5-3B-Instruct"
URL_ENV = "SMALLWORLDS_URL"
KINDS = ("auto", "vllm", "embedded", "openai", "modal")


def choose(opts: PolicyOptions) -> Backend:
    kind = opts.backend
    url = opts.url or os.environ.get(URL_ENV)
    if kind == "auto":
        if url:
            kind, why = "openai", f"a server URL is set ({url})"
        elif cuda_with_vllm():
            kind, why = "vllm", f"a CUDA GPU and vLLM are here; model {opts.model or DEFAULT_GPU_MODEL}"
        else:
            kind, why = "embedded", "no GPU and no server URL: the tiny embedded model on vLLM's CPU backend"
        opts.announce(f"backend: {kind} ({why})")
    if kind == "openai":
        try:
            from agents.backends.openai import OpenAIBackend
        except ModuleNotFoundError as exc:
            raise MissingExtra.of("the openai backend", exc) from exc

        if not url:
            raise BackendUnavailable(f"the openai backend needs --url or {URL_ENV} (an OpenAI-compatible /v1 base URL)")
        check_url(url)  # from the environment or a council file: not yet checked as RunConfig checks --url
        backend = OpenAIBackend(url, opts.model or "", temperature=opts.temperature, announce=opts.announce)
        backend.check()
        return backend
    if kind in ("vllm", "embedded"):
        if importlib.util.find_spec("vllm") is None:  # before the model: without vLLM no model helps
            raise MissingExtra(f"the {kind} backend", "vllm", "gpu" if cuda_with_torch() else "cpu")
        from agents.backends.vllm import VLLMBackend

        model = opts.model
        if model is None:
            model = DEFAULT_GPU_MODEL if kind == "vllm" and cuda_with_vllm() else _embedded(opts.announce)
        return VLLMBackend(model, temperature=opts.temperature, seed=opts.seed, announce=opts.announce)
    if kind == "modal":
        try:
            from agents.backends.modal import ModalBackend
        except ModuleNotFoundError as exc:
            raise MissingExtra.of("the modal backend", exc) from exc

        return ModalBackend(opts.model, temperature=opts.temperature)
    raise BackendUnavailable(f"unknown backend {kind!r} (choose from {', '.join(KINDS)})")


def _embedded(announce=lambda line: None) -> str:
    from agents.embedded import embedded_for_this_cpu

    return embedded_for_this_cpu(announce)


def cuda_with_vllm() -> bool:
    return importlib.util.find_spec("vllm") is not None and cuda_with_torch()


def cuda_with_torch() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())
