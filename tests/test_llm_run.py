"""The wood with a language model deciding: vLLM on this CPU with the embedded tiny model, for real."""
import subprocess
import sys

import pytest

from sim import Engine
from sim.config import make_policy
from sim.policy import PolicyOptions
from sim.trace import read_header
from worlds.wood import WoodWorld

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def llm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("llm")
    said = []
    policy = make_policy("llm", PolicyOptions(backend="auto", seed=7, announce=said.append))
    turns = list(Engine(WoodWorld(), policy, seed=7, out=out, legends={1: ["bank_run"]}).run(3))
    return out, turns, said


def test_auto_picks_the_embedded_model_and_says_why(llm_run):
    _, _, said = llm_run
    assert said[0].startswith("backend: embedded (no GPU and no server URL")
    # and what it chose for this processor, in one more line
    cpu_lines = [line for line in said if line.startswith("cpu: ")]
    assert len(cpu_lines) == 1 and "-> dtype " in cpu_lines[0], said


def test_every_turn_is_one_model_call_and_every_reply_parses(llm_run):
    _, turns, _ = llm_run
    for turn in turns:
        assert turn.metrics["llm_calls"] == 1
        assert turn.metrics["valid"] + turn.metrics["repaired"] == 5, [d.reason for d in turn.decisions]


def test_the_trace_records_prompts_replies_tokens_and_models(llm_run):
    out, turns, _ = llm_run
    header = read_header(out / "trace.jsonl")
    assert all(a["backend"] == "vllm" and "SmolLM2" in a["model"] for a in header["agents"].values())
    for d in turns[0].decisions:
        assert d.agent in d.prompt and "Never buy" in d.prompt
        assert d.reply and d.prompt_tokens > 100 and 0 < d.output_tokens < 200
        assert "SmolLM2" in d.model


def test_replay_reproduces_the_run_without_loading_a_model(llm_run):
    out, _, _ = llm_run
    code = ("import sys; from sim.cli import main; rc = main(['replay', sys.argv[1]]);"
            "assert 'vllm' not in sys.modules and 'torch' not in sys.modules; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(out / "trace.jsonl")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "every state identical" in proc.stdout
