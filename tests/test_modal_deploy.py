"""Modal without a Modal account: the App builds on import with no token, a sweep cell gives the same
numbers through run_cell as through sim.sweep, the modal executor sends `.map` plain cells whose traces go
to the Volume and records every cell (a lost one with its error), and the modal backend's request/reply
handling works against the in-process vLLM CPU engine standing in for the deployed class."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.backends.modal import ModalBackend, TurnServer
from agents.council import Council
from sim import Engine, sweep
from sim.cli import UsageError
from sim.executors.modal import ModalMap
from worlds.wood import WoodWorld

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def no_token_env(tmp_path, **extra) -> dict:
    """This process's environment with every way Modal finds a token removed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}
    return {**env, "HOME": str(tmp_path), "MODAL_CONFIG_PATH": str(tmp_path / "none.toml"), **extra}


def test_import_builds_the_app_without_a_token(tmp_path):
    probe = """
import json, modal, modal_deploy as m
print(json.dumps({"app": m.app.name, "gpu": m.GPU, "model_cls": isinstance(m.Model, modal.Cls),
                  "functions": sorted(n for n in ("run_cell", "api", "demo") if isinstance(getattr(m, n), modal.Function)),
                  "entrypoint": type(m.sweep).__name__}))
"""
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=no_token_env(tmp_path, SMALLWORLDS_GPU="A10G"))
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout.splitlines()[-1])
    assert facts == {"app": "smallworlds", "gpu": "A10G", "model_cls": True,
                     "functions": ["api", "demo", "run_cell"], "entrypoint": "LocalEntrypoint"}


@pytest.mark.filterwarnings("ignore:The run_cell function is executing locally")  # as intended: no Volume
def test_run_cell_matches_run_episode(tmp_path):
    import modal_deploy

    cells, settings = modal_deploy.plan("wood", "4", "agents=6;pebbles=12", 9, "scripted", "auto", "", tmp_path / "t")
    [cell] = cells
    assert settings["turns"] == 9
    assert ModalMap(modal_deploy.run_cell, "t").sent(cell)["out"] == f"/sweeps/t/cells/{Path(cell['out']).name}"
    here = sweep.run_episode({**cell, "out": str(tmp_path / "local")})
    got_cell, there, error = modal_deploy.run_cell.local({**cell, "out": str(tmp_path / "remote")})
    assert error is None and got_cell["key"] == cell["key"]
    varying = ("seconds", "trace")
    assert {k: v for k, v in here.items() if k not in varying} == {k: v for k, v in there.items() if k not in varying}


def test_bad_modal_grid_is_a_usage_error():
    import modal_deploy

    for grid, seeds in (("agents=5", "7-3"), ("colour=red", "0"), ("agents=", "0")):
        with pytest.raises(UsageError):
            modal_deploy.plan("wood", seeds, grid, 5, "scripted", "auto", "", "sweeps/t")


class MapAtTheEdge:
    """What Modal's `.map` gets, kept; each input then crosses as JSON and runs through run_cell's own body
    (`.local`) with the Volume's mount point under a temporary folder. The input at `lose` comes back as
    the exception Modal returns for an input whose container died."""

    def __init__(self, volume: Path, lose: int):
        self.volume, self.lose, self.sent = volume, lose, []

    def map(self, inputs, order_outputs=True, return_exceptions=False):
        import modal_deploy

        self.sent = list(inputs)
        assert order_outputs is False and return_exceptions is True  # stream as finished; never stop on one
        for i, cell in enumerate(reversed(self.sent)):  # finishing out of order
            if i == self.lose:
                yield ConnectionError("container lost\nsecond line")
                continue
            crossed = json.loads(json.dumps(cell))
            crossed["out"] = str(self.volume) + crossed["out"]
            yield modal_deploy.run_cell.local(crossed)


@pytest.mark.filterwarnings("ignore:The run_cell function is executing locally")  # as intended: no Volume
def test_modal_executor_sends_plain_cells_and_records_every_one(tmp_path):
    import modal_deploy

    out = tmp_path / "results"
    cells, _ = modal_deploy.plan("wood", "0-2", "agents=3", 6, "scripted", "auto", "", out)
    edge = MapAtTheEdge(tmp_path / "volume", lose=1)
    assert sweep.collect(ModalMap(edge, "mine").run(cells), 3, out, quiet=True) == 1

    assert [c["out"] for c in edge.sent] == [f"/sweeps/mine/cells/{Path(c['out']).name}" for c in cells]
    assert [{k: v for k, v in c.items() if k != "out"} for c in edge.sent] == \
           [{k: v for k, v in c.items() if k != "out"} for c in cells]
    rows = {row["key"]: row for row in sweep.iter_results(out)}
    lost = cells[1]["key"]  # the second input from the end
    assert rows[lost]["error"] == "Modal returned no result: ConnectionError: container lost"
    for cell in (cells[0], cells[2]):
        here = sweep.run_episode({**cell, "out": str(tmp_path / "here" / cell["key"])})
        there = rows[cell["key"]]
        assert there["trace"].startswith(str(tmp_path / "volume" / "sweeps" / "mine" / "cells"))
        assert {k: v for k, v in here.items() if k not in ("seconds", "trace")} == \
               {k: v for k, v in there.items() if k not in ("seconds", "trace")}


def test_modal_executor_without_a_token_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sim", "sweep", "--executor", "modal", "--out", str(tmp_path / "s"),
                           "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=no_token_env(tmp_path))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: no Modal token: run `modal token new`, then `modal deploy modal_deploy.py`")
    assert not (tmp_path / "s").exists()


def test_modal_commands_without_a_token_say_what_to_do(tmp_path):
    modal_cli = str(Path(sys.executable).parent / "modal")  # the venv's, whether or not its bin is on PATH
    done = subprocess.run([modal_cli, "run", "modal_deploy.py::sweep", "--seeds", "0-1"], cwd=ROOT, timeout=120,
                          capture_output=True, text=True, env=no_token_env(tmp_path))
    said = (done.stdout + done.stderr).strip()
    assert done.returncode != 0 and "modal token new" in said and said.count("\n") == 0


def test_backend_without_a_token_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sim", "run", "--policy", "llm", "--backend", "modal", "--turns", "1",
                           "--out", str(tmp_path / "run"), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=no_token_env(tmp_path))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: no Modal token") and "modal token new" in done.stderr


def test_a_failed_remote_call_fails_every_agent_in_one_line():
    def down(requests):
        raise ConnectionError("modal.com unreachable\nsecond line")

    engine = Engine(WoodWorld(agents=4), Council.of(ModalBackend(call=down)), seed=1)
    [turn] = list(engine.run(1))
    assert [d.status for d in turn.decisions] == ["noop"] * 4
    assert all(d.reason and "modal call failed: ConnectionError: modal.com unreachable" in d.reason
               and "\n" not in d.reason for d in turn.decisions)
    assert turn.metrics["llm_calls"] == 1

    short = ModalBackend(call=lambda requests: requests[:1])  # a server answering too few: all fail too
    [turn] = list(Engine(WoodWorld(agents=3), Council.of(short), seed=1).run(1))
    assert all("1 replies for 3 requests" in d.reason for d in turn.decisions)


@pytest.mark.model
def test_turn_server_stands_in_for_the_deployed_class():
    from agents.backends.vllm import VLLMBackend
    from agents.embedded import embedded_model_path

    model = embedded_model_path()
    server = TurnServer(model)
    calls = []

    def one_call_per_turn(requests):
        calls.append(len(requests))
        return json.loads(json.dumps(server.generate(requests)))  # what crosses the wire is plain JSON

    engine = Engine(WoodWorld(agents=3), Council.of(ModalBackend(model, temperature=0.0, call=one_call_per_turn)),
                    seed=2)
    turns = list(engine.run(2))
    assert calls == [3, 3] and [t.metrics["llm_calls"] for t in turns] == [1, 1]
    for d in (d for t in turns for d in t.decisions):
        assert d.backend == "modal" and d.model == model and d.reply and d.output_tokens and d.prompt_tokens
        assert d.status in ("valid", "repaired"), d.reason

    # the same asks through the modal path and the vLLM backend directly: the same prompts reach the model
    # (rendered by vLLM's chat template), and the modal path's replies fit each agent's schema. Texts are not
    # compared: on the CPU, prefix-cache hits change bf16 numerics enough to flip a greedy token now and then.
    import jsonschema

    asks = _asks(WoodWorld(agents=3), seed=5)
    direct = VLLMBackend(model, temperature=0.0).generate(0, asks)
    remote = ModalBackend(model, temperature=0.0, call=server.generate)
    via_modal = remote.generate(0, asks)
    assert [r.prompt for r in via_modal] == [r.prompt for r in direct]
    assert [r.prompt_tokens for r in via_modal] == [r.prompt_tokens for r in direct]
    for ask, reply in zip(asks, via_modal):
        assert reply.error is None, reply.error
        jsonschema.validate(json.loads(reply.text), ask.schema)

    good = remote.request(asks[0])
    answers = server.generate([good, {"messages": good["messages"]}])  # the second has no schema
    assert answers[0]["text"] and answers[0]["error"] is None
    assert answers[1]["text"] is None and answers[1]["error"].startswith("bad request: KeyError")


def _asks(world, seed):
    import numpy as np

    from sim.policy import Ask

    state = world.initial_state(np.random.default_rng(seed))
    return [Ask(world, state, agent, 0) for agent in world.agents(state)]
