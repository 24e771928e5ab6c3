"""One backend's agents spread over several OpenAI-compatible servers: how agents are dealt out, council files
that name several servers, and a run against two real servers on loopback in which every server gets one
call a turn, the calls overlap, and the trace records which server answered each agent.

The servers are `transformers serve` with the embedded model: the lightest real server of the protocol on
this machine (measured on 2 busy cores: ready in ~17 s at ~0.6 GB each, against ~30 s and GBs for vLLM's).
It ignores `response_format`, so replies are not held to a schema and run to max_tokens: the run is of the
template world, whose replies are short (22 tokens), so each request takes about a second.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agents.backends.base import BackendUnavailable
from agents.backends.spread import Spread
from agents.policies import council_from_file
from bench.model_bench import wood_asks
from sim.policy import PolicyOptions, Reply
from tests.conftest import free_port

READY_WITHIN = 240  # seconds; ~17 s alone, much more while other engines load the cores


class Named:
    def __init__(self, url):
        self.name, self.model, self.is_model, self.base_url = "openai", "m", True, url


def test_agents_are_dealt_round_robin_or_by_size():
    assert Spread([Named("a"), Named("b")]).deal(5) == [0, 1, 0, 1, 0]
    assert Spread([Named("a"), Named("b")], sizes=[2, 1]).deal(6) == [0, 0, 0, 0, 1, 1]
    assert Spread([Named("a"), Named("b"), Named("c")], sizes=[1, 1, 1]).deal(4) == [0, 0, 1, 2]
    assert Spread([Named("a"), Named("b")], sizes=[1, 3]).deal(1) == [1]
    assert Spread([Named("a"), Named("b")]).calls(1) == 1 and Spread([Named("a"), Named("b")]).calls(7) == 2
    assert Spread([Named("a"), Named("b")]).describe(["X", "Y", "Z"]) == {"X": "a", "Y": "b", "Z": "a"}


def test_a_server_that_fails_costs_only_its_own_agents():
    class Echo(Named):
        def generate(self, turn, asks):
            return [Reply(text=ask.agent, server=self.base_url) for ask in asks]

    class Broken(Named):
        def generate(self, turn, asks):
            raise ConnectionError("gone")

    class Short(Named):
        def generate(self, turn, asks):
            return []

    asks = wood_asks(5)
    replies = Spread([Echo("a"), Broken("b"), Short("c")]).generate(0, asks)
    assert [r.text for r in replies] == ["Bramble", None, None, "Moss", None]
    assert [r.server for r in replies] == ["a", "b", "c", "a", "b"]
    assert replies[1].error == "openai failed: ConnectionError: gone"
    assert replies[2].error == "openai returned 0 replies for 1 agents"
    assert Spread([Echo("a")]).generate(0, []) == []


@pytest.mark.parametrize("spec, says", [
    ({"backend": "scripted", "urls": ["http://a/v1"]}, "spreads an openai backend"),
    ({"backend": "openai", "url": "http://a/v1", "urls": ["http://b/v1"]}, 'not both'),
    ({"backend": "openai", "urls": []}, 'not both'),
    ({"backend": "openai", "urls": ["http://a/v1", "http://b/v1"], "sizes": [1]}, "one number per entry"),
    ({"backend": "openai", "urls": ["http://a/v1", "http://b/v1"], "sizes": [1, 0]}, "greater than 0"),
])
def test_a_bad_spread_in_a_council_file_is_one_line(tmp_path, spec, says):
    path = tmp_path / "council.json"
    path.write_text(json.dumps({"backends": {"qwen": spec}, "assign": {"*": "qwen"}}))
    with pytest.raises(BackendUnavailable, match=says) as caught:
        council_from_file(PolicyOptions(council=str(path)))
    assert "\n" not in str(caught.value) and "backends.qwen" in str(caught.value)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two `transformers serve` processes of the embedded model on loopback: yields (model, [url, url])."""
    from agents import cpu
    from agents.embedded import embedded_model_path

    model = embedded_model_path()
    dtype = cpu.plan().dtype  # bf16 only where the CPU has fast kernels for it
    folder = tmp_path_factory.mktemp("serve")
    cli = str(Path(sys.executable).parent / "transformers")
    # /v1/models lists the hub cache, and fails when there is none: an empty one answers with no models
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(folder / "hub"), "OMP_NUM_THREADS": "1"}
    (folder / "hub").mkdir()
    procs, urls = [], []
    for i in range(2):
        port = free_port()
        log = (folder / f"serve{i}.log").open("w")
        procs.append(subprocess.Popen([cli, "serve", model, "--device", "cpu", "--host", "127.0.0.1",
                                       "--port", str(port), "--dtype", dtype], stdout=log, stderr=subprocess.STDOUT, env=env))
        urls.append(f"http://127.0.0.1:{port}/v1")
    try:
        deadline = time.monotonic() + READY_WITHIN
        for proc, url in zip(procs, urls):
            while not _answers(url):
                assert proc.poll() is None and time.monotonic() < deadline, f"{url} did not start; see {folder}"
                time.sleep(0.5)
        yield model, urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # still finishing a generation it was asked for
                proc.kill()
                proc.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/models", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.model
def test_a_turn_spread_over_two_servers_overlaps_and_says_who_answered(servers, tmp_path):
    import worlds
    from sim import Engine
    from sim.trace import iter_turns, read_header

    model, urls = servers
    path = tmp_path / "council.json"
    path.write_text(json.dumps({"backends": {"smol": {"backend": "openai", "model": model, "urls": urls}},
                                "assign": {"*": "smol"}}))
    council = council_from_file(PolicyOptions(council=str(path), temperature=0.0))
    spread = council.assign["*"]
    spans: dict[str, list[tuple[float, float]]] = {url: [] for url in urls}
    for server in spread.servers:  # each server's one call a turn, timed as it happens
        server.generate = _timed(server.generate, spans[server.base_url])

    engine = Engine(worlds.get("template")(agents=4), council, seed=1, out=tmp_path / "run")
    turns = list(engine.run(2))
    dealt = {"player0": urls[0], "player1": urls[1], "player2": urls[0], "player3": urls[1]}
    header = read_header(tmp_path / "run" / "trace.jsonl")
    assert {agent: seen["server"] for agent, seen in header["agents"].items()} == dealt
    for t, turn in enumerate(turns):
        assert turn.metrics["llm_calls"] == 2
        assert {d.agent: d.server for d in turn.decisions} == dealt
        assert all(d.backend == "openai" and d.reply is not None and d.prompt_tokens for d in turn.decisions), \
            [d.reason for d in turn.decisions]
        (start_a, end_a), (start_b, end_b) = spans[urls[0]][t], spans[urls[1]][t]
        assert max(start_a, start_b) < min(end_a, end_b), "the two servers' calls did not overlap"
    assert all(len(s) == 2 for s in spans.values())  # one call per server per turn
    written = [{d.agent: d.server for d in turn.decisions} for turn in iter_turns(tmp_path / "run" / "trace.jsonl")]
    assert written == [dealt, dealt]
    for server in spread.servers:
        server.close()


def _timed(generate, spans):
    def timed(turn, asks):
        start = time.monotonic()
        try:
            return generate(turn, asks)
        finally:
            spans.append((start, time.monotonic()))
    return timed
