"""The in-process vLLM backend on the real embedded model: one engine for the whole session (~25 s to start)."""
from __future__ import annotations

import json
import os

import jsonschema
import pytest

from sim.policy import Ask

pytestmark = pytest.mark.model

GOODS = ["acorns", "honey", "berries", "mushrooms"]


class Market:
    """A stand-in world: only what Ask reads. Each agent may buy only goods it does not make, so every agent
    has its own enum, and `say` is bounded so replies stay short."""

    briefing = "You are a creature at a market in the wood. Goods: acorns, honey, berries, mushrooms."
    example = '{"side":"buy","good":"honey","qty":2,"say":"Honey please"}'

    def __init__(self, makes: dict[str, str], broken: frozenset[str] = frozenset()):
        self.makes = makes
        self.broken = broken

    def news(self, state):
        return "Market day. Honey is dear."

    def observe(self, state, agent):
        return f"You are {agent}. You make {self.makes[agent]} and hold 3 of it. Never buy {self.makes[agent]}."

    def action_schema(self, state, agent):
        if agent in self.broken:  # a regex no grammar engine can compile
            return {"type": "object", "properties": {"x": {"type": "string", "pattern": "(("}}, "required": ["x"]}
        return {
            "type": "object",
            "properties": {
                "side": {"enum": ["buy", "sell"]},
                "good": {"enum": [g for g in GOODS if g != self.makes[agent]]},
                "qty": {"type": "integer", "minimum": 1, "maximum": 5},
                "say": {"type": "string", "maxLength": 30},
            },
            "required": ["side", "good", "qty", "say"],
            "additionalProperties": False,
        }


def outside_strings(text: str) -> str:
    """The characters of a JSON text that are not inside string literals: where padding would show."""
    out, in_string, escaped = [], False, False
    for c in text:
        if in_string:
            escaped, in_string = (not escaped and c == "\\"), in_string and (escaped or c != '"')
        elif c == '"':
            in_string = True
        else:
            out.append(c)
    return "".join(out)


def market_asks(n: int, broken: frozenset[str] = frozenset()) -> list[Ask]:
    world = Market({f"c{i}": GOODS[i % len(GOODS)] for i in range(n)}, broken)
    return [Ask(world, None, agent, 0) for agent in world.makes]


@pytest.fixture(scope="session")
def model_path():
    from agents.embedded import embedded_model_path

    return embedded_model_path()


@pytest.fixture(scope="session")
def backend(model_path):
    from agents.backends.vllm import VLLMBackend

    return VLLMBackend(model_path, seed=0)


def test_one_call_answers_every_agent_within_its_schema(backend):
    asks = market_asks(5)
    replies = backend.generate(0, asks)
    assert len(replies) == 5
    for ask, reply in zip(asks, replies):
        assert reply.error is None, reply.error
        jsonschema.validate(json.loads(reply.text), ask.schema)
        assert not any(c.isspace() for c in outside_strings(reply.text)), reply.text
        assert reply.prompt_tokens and reply.output_tokens and reply.prompt and ask.observation in reply.prompt
        assert reply.backend == "vllm"


def test_each_agent_keeps_to_its_own_enum(backend):
    asks = market_asks(8)
    for ask, reply in zip(asks, backend.generate(1, asks)):
        assert json.loads(reply.text)["good"] != ask._world.makes[ask.agent]


def test_a_request_vllm_refuses_costs_only_that_agent(backend):
    asks = market_asks(4, broken=frozenset({"c2"}))
    replies = backend.generate(2, asks)
    assert replies[2].text is None and "rror" in replies[2].error
    for i in (0, 1, 3):
        jsonschema.validate(json.loads(replies[i].text), asks[i].schema)


def test_missing_model_folder_is_a_one_line_error():
    from agents.backends.base import BackendUnavailable
    from agents.backends.vllm import VLLMBackend

    with pytest.raises(BackendUnavailable, match="does not exist"):
        VLLMBackend("/nonexistent/model")


@pytest.mark.parametrize("layout", ["in_process", "vllm_processes"])
def test_sigterm_to_a_model_run_takes_its_engine_processes_down(tmp_path, layout):
    """Stopping `sim run --policy llm` with SIGTERM (as a supervisor or Ctrl-C in a terminal does to the whole
    process group) leaves no process behind: no vLLM EngineCore or worker where vLLM runs them apart
    (`VLLM_ENABLE_V1_MULTIPROCESSING=1`), and a whole last trace line either way."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import alive, process_tree

    out = tmp_path / "run"
    run = subprocess.Popen([sys.executable, "-m", "sim", "run", "--policy", "llm", "--backend", "embedded",
                            "--turns", "200", "--out", str(out), "--quiet"], start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=os.environ | {"VLLM_ENABLE_V1_MULTIPROCESSING": "1" if layout == "vllm_processes" else "0"})
    try:
        deadline = time.monotonic() + 600
        while not ((out / "trace.jsonl").exists() and len((out / "trace.jsonl").read_text().splitlines()) >= 2):
            assert run.poll() is None, "the run ended before its first turn"
            assert time.monotonic() < deadline, "no turn within 600 s"
            time.sleep(1)
        engine = process_tree(run.pid)
        assert bool(engine) == (layout == "vllm_processes"), engine
        os.killpg(run.pid, signal.SIGTERM)
        assert run.wait(timeout=120) != 0
        deadline = time.monotonic() + 30
        while any(alive(p) for p in engine) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [p for p in engine if alive(p)], "engine processes outlived the run"
        lines = (out / "trace.jsonl").read_text().splitlines()
        json.loads(lines[-1])  # the trace ends on a whole line
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)


def one_embedded_turn(out, env: dict[str, str | None], *args: str, timeout: int = 900):
    """`python -m sim run --policy llm --backend embedded --turns 1 --out OUT ARGS` in a process of its own, with
    this test's environment changed by `env` (None unsets a variable)."""
    import os
    import subprocess
    import sys

    changed = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "sim", "run", "--policy", "llm", "--backend", "embedded",
                           "--turns", "1", "--out", str(out), *args],
                          check=False, capture_output=True, text=True, timeout=timeout, env=changed)


def fresh_caches(tmp_path) -> dict[str, str]:
    """Compile caches nothing has used, as on a new machine (the converted embedded model is kept)."""
    return {"VLLM_CACHE_ROOT": str(tmp_path / "vllm"), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor")}


def markers(tmp_path) -> list[dict]:
    """What agents/warmup.py recorded about building the graphs in these caches."""
    return [json.loads(p.read_text()) for p in (tmp_path / "inductor" / "smallworlds").glob("*.json")]


def wait_for_marker(tmp_path, seconds: float = 600) -> dict:
    import time

    deadline = time.monotonic() + seconds
    while not markers(tmp_path) and time.monotonic() < deadline:
        time.sleep(2)
    assert markers(tmp_path), "the background build of the graphs never finished"
    return markers(tmp_path)[0]


def test_a_compiler_that_cannot_build_the_graphs_leaves_the_model_eager(tmp_path):
    """A C++ compiler that answers --version but builds nothing (a broken toolchain): a start that compiles in
    the foreground (SMALLWORLDS_WARMUP=0) fails to compile vLLM's graphs, says so in one line, and the run goes
    on with the engine eager; the next start, in the background's default way, remembers it and does not try
    again."""
    broken = tmp_path / "cxx"
    broken.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "g++ 13"; exit 0; fi\nexit 1\n')
    broken.chmod(0o755)
    env = {"CXX": str(broken), **fresh_caches(tmp_path)}
    run = one_embedded_turn(tmp_path / "run", {**env, "SMALLWORLDS_WARMUP": "0"})
    assert run.returncode == 0, run.stderr[-2000:]
    said = run.stdout + run.stderr
    assert "compiled graphs" in said and "compiling the model's graphs failed" in said
    turns = (tmp_path / "run" / "trace.jsonl").read_text().splitlines()[1:]
    assert len(turns) == 1 and json.loads(turns[0])["metrics"]["llm_calls"] == 1
    assert [m["built"] for m in markers(tmp_path)] == [False]
    again = one_embedded_turn(tmp_path / "again", {**env, "SMALLWORLDS_WARMUP": None})
    assert again.returncode == 0, again.stderr[-2000:]
    said = again.stdout + again.stderr
    assert "building them failed on this machine" in said and "plays eager now" not in said


def test_a_first_start_plays_eager_and_builds_the_graphs_in_the_background_for_the_next(tmp_path):
    """With empty compile caches the first start does not wait for torch.compile: it plays eager at once and a
    background process builds the graphs; once it has, the next start runs them."""
    from agents import cpu

    if cpu.cpp_compiler() is None:
        pytest.skip("no C++ compiler: the plan is eager anyway")
    env = {**fresh_caches(tmp_path), "SMALLWORLDS_WARMUP": None}
    first = one_embedded_turn(tmp_path / "first", env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "plays eager now" in first.stdout + first.stderr
    assert wait_for_marker(tmp_path)["built"] is True
    second = one_embedded_turn(tmp_path / "second", env)
    assert second.returncode == 0, second.stderr[-2000:]
    said = second.stdout + second.stderr
    assert "compiled graphs" in said and "plays eager now" not in said and "graphs:" not in said
    metrics = json.loads((tmp_path / "second" / "trace.jsonl").read_text().splitlines()[1])["metrics"]
    assert metrics["llm_calls"] == 1 and metrics["noop"] == 0, metrics


def test_the_avx2_plan_runs_here_whatever_the_cpu(tmp_path):
    """torch's ATEN_CPU_CAPABILITY=avx2 plans the model as an AVX2-only CPU gets it (float32, torch.compile's
    AVX2 code, oneDNN capped to AVX2): on a Xeon with AMX this runs the other CPU kind's plan for real, so a
    day on either kind of machine tests both."""
    from agents import cpu

    if "avx2" not in cpu.cpu_flags():
        pytest.skip("not an x86 CPU with AVX2")
    run = one_embedded_turn(tmp_path / "run", {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": None,
                                               "SMALLWORLDS_WARMUP": "0"},  # compile them now, to run them
                            "--agents", "3")
    assert run.returncode == 0, run.stderr[-2000:]
    said = run.stdout + run.stderr
    assert "dtype float32" in said and ("compiled graphs" in said) == bool(cpu.cpp_compiler())
    if {"avx512f", "amx_bf16"} & cpu.cpu_flags():
        assert "capped by ATEN_CPU_CAPABILITY=avx2" in said
    turns = (tmp_path / "run" / "trace.jsonl").read_text().splitlines()[1:]
    metrics = json.loads(turns[0])["metrics"]
    assert metrics["llm_calls"] == 1 and metrics["noop"] == 0, metrics


def test_onednn_capped_alone_is_a_one_line_error_not_a_crash(tmp_path):
    """ONEDNN_MAX_CPU_ISA below the AVX-512 kernels torch still uses made vLLM abort with a corrupted heap on a
    Xeon; the run now stops before the engine starts, saying which switch to change."""
    from agents import cpu

    if "avx512f" not in cpu.cpu_flags():
        pytest.skip("no AVX-512 kernels here for a oneDNN cap to disagree with")
    run = one_embedded_turn(tmp_path / "run", {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": None},
                            timeout=300)
    assert run.returncode == 2, run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "ATEN_CPU_CAPABILITY=avx2" in errors[0], run.stderr[-2000:]


def test_a_root_variant_schema_holds_every_reply_to_one_branch(backend):
    """A variant action (tests/variant_world.py): each forager's own root anyOf of closed objects, and pydantic's
    tagged oneOf with $defs and discriminator, go to vLLM's grammar as sim.variants.for_decoding gives them;
    every reply is one whole branch inside that agent's bounds, and parses."""
    import numpy as np

    from sim.parse import parse
    from sim.policy import Reply
    from sim.schemas import decoding_problems
    from tests.variant_world import Act, Forage, PlainForage

    asks, states = [], {}
    for world in (Forage(agents=4), PlainForage(agents=4)):
        states[world.name] = world.initial_state(np.random.default_rng(0))
        asks += [Ask(world, states[world.name], agent, 0) for agent in world.agents(states[world.name])]
    replies = backend.generate(3, asks)
    for ask, reply in zip(asks, replies):
        assert decoding_problems(ask.schema) == []
        sent = backend._params(3, ask).structured_outputs.json  # what the grammar was built from
        assert "anyOf" in sent and "oneOf" not in json.dumps(sent) and "discriminator" not in sent
        assert reply.error is None, reply.error
        data = json.loads(reply.text)
        jsonschema.validate(data, ask.schema)
        Act.model_validate(data)
        decision = parse(Reply(reply.text), ask._world, states[ask._world.name], ask.agent, ask)[0]
        assert decision.status == "valid" or decision.reason.startswith("infeasible"), (reply.text, decision.reason)


def test_the_int8_copy_is_made_when_asked_for_and_plays_a_constrained_turn(tmp_path):
    """A fresh cache and SMALLWORLDS_INT8=1: the embedded model is converted and its W8A8 copy written beside it
    (int8 weights per channel, int8 activations per token); the run plays the copy, `sim run` says so in its
    cpu: line, and the turn's schema-constrained replies all parse."""
    from agents.embedded import INT8_NAME, MODEL_NAME
    from agents.w8a8 import is_w8a8

    run = one_embedded_turn(tmp_path / "run", {"SMALLWORLDS_CACHE": str(tmp_path / "cache"), "SMALLWORLDS_INT8": "1",
                                               "SMALLWORLDS_WARMUP": "0"},  # no graph build left running after
                            "--agents", "5")
    assert run.returncode == 0, run.stderr[-2000:]
    models = tmp_path / "cache" / "models"
    assert is_w8a8(str(models / INT8_NAME)) and not is_w8a8(str(models / MODEL_NAME))
    said = run.stdout + run.stderr
    assert "int8 weights and activations (W8A8, SMALLWORLDS_INT8=1)" in said, said[-2000:]
    lines = (tmp_path / "run" / "trace.jsonl").read_text().splitlines()
    assert INT8_NAME in lines[0]  # the trace header names the model every agent ran
    metrics = json.loads(lines[1])["metrics"]
    assert metrics["llm_calls"] == 1 and metrics["noop"] == 0, metrics


def test_a_cpu_start_knows_the_model_class_as_vllms_own_child_would_tell_it(tmp_path, model_path):
    """What the engine start writes into vLLM's model-info cache in its own process (no child Python importing
    vLLM again) is byte for byte what vLLM's child writes there."""
    import subprocess
    import sys

    ours = ("from agents.backends.vllm import _inspect_model_class_here; import sys; "
            "_inspect_model_class_here(sys.argv[1])")
    vllms = ("import json, sys; from vllm.model_executor.models.registry import ModelRegistry; "
             "arch = json.load(open(sys.argv[1] + '/config.json'))['architectures'][0]; "
             "ModelRegistry.models[arch].inspect_model_cls()")
    written = []
    for name, code in (("ours", ours), ("vllms", vllms)):
        env = {**os.environ, "VLLM_CACHE_ROOT": str(tmp_path / name)}
        subprocess.run([sys.executable, "-c", code, model_path], check=True, env=env, timeout=300)
        written.append({p.name: p.read_bytes() for p in (tmp_path / name / "modelinfos").glob("*.json")})
    assert list(written[0]) == ["vllm-model_executor-models-llama-LlamaForCausalLM.json"]
    assert written[0] == written[1]
