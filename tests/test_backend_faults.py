"""Backend faults against a real HTTP server on loopback: each creature's request meets a different fault.
Affected agents no-op with a reason, the others trade, the trace says what happened, and retries never
hold a turn past its deadline."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agents.backends.base import BackendUnavailable
from agents.backends.openai import OpenAIBackend
from agents.council import Council
from sim import Engine
from sim.cli import main
from sim.trace import load_trace
from worlds.wood import WoodWorld

GOOD = {"orders": [], "say": "fine weather"}
# which fault each of the five default creatures meets (the creature's name is in its prompt)
FAULTS = {"Bramble": "ok", "Clover": "http500", "Juniper": "slow", "Moss": "garbled", "Thorn": "hangup"}


class FaultyModelServer(BaseHTTPRequestHandler):
    attempts: dict[str, int] = {}

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # /v1/models
        self._send(200, {"data": [{"id": "tiny"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        who = next(n for n in FAULTS if f"You are {n}," in body["messages"][-1]["content"])
        self.attempts[who] = self.attempts.get(who, 0) + 1
        fault = FAULTS[who]
        if fault == "http500":
            self._send(500, {"error": "model crashed"})
        elif fault == "slow":
            time.sleep(3)
            self._send(200, _completion(GOOD))
        elif fault == "garbled":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"choices": [{"mess')
        elif fault == "hangup":
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._send(200, _completion(GOOD))

    def _send(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _completion(action):
    return {"choices": [{"message": {"content": json.dumps(action)}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 9}}


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # clients that gave up on the slow fault: expected
        pass


@pytest.fixture
def server():
    httpd = QuietServer(("127.0.0.1", 0), FaultyModelServer)
    FaultyModelServer.attempts = {}
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_each_fault_costs_only_its_agent_and_is_recorded(server, tmp_path):
    backend = OpenAIBackend(server, "tiny", timeout=1.0, retries=2, backoff=0.05, deadline=4.0)
    engine = Engine(WoodWorld(), Council.of(backend), seed=1, out=tmp_path)
    turns = list(engine.run(2))
    _, recorded = load_trace(tmp_path / "trace.jsonl")
    for turn in (turns[-1], recorded[-1]):
        by = {d.agent: d for d in turn.decisions}
        assert by["Bramble"].status == "valid" and by["Bramble"].prompt_tokens == 100
        assert by["Clover"].status == "noop" and by["Clover"].reason.startswith("HTTP 500")
        assert by["Juniper"].status == "noop" and "no answer within" in by["Juniper"].reason
        assert by["Moss"].status == "noop" and "garbled" in by["Moss"].reason
        assert by["Thorn"].status == "noop" and "cannot reach" in by["Thorn"].reason
        assert turn.metrics["llm_calls"] == 1
    assert FaultyModelServer.attempts["Clover"] == 2 * 3  # 2 turns x (1 try + 2 retries)
    assert FaultyModelServer.attempts["Bramble"] == 2  # a good answer is never asked twice
    assert all(t.metrics["turn_seconds"] < 4.0 + 1.0 for t in turns)  # the deadline bounds every turn


def test_the_api_key_is_sent_but_never_written_down(server, tmp_path, monkeypatch):
    secret = "sk-test-do-not-leak-0123456789"
    monkeypatch.setenv("SMALLWORLDS_API_KEY", secret)
    backend = OpenAIBackend(server, "tiny", timeout=1.0, retries=0, deadline=4.0)
    assert backend._client.headers["Authorization"] == f"Bearer {secret}"
    list(Engine(WoodWorld(), Council.of(backend), seed=1, out=tmp_path).run(1))
    for path in tmp_path.iterdir():
        assert secret not in path.read_text(), path.name


def test_a_dead_server_at_start_is_a_one_line_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    with pytest.raises(BackendUnavailable, match="no OpenAI-compatible server answers"):
        OpenAIBackend(f"http://127.0.0.1:{port}", "tiny", timeout=1).check()


def test_a_server_without_the_model_says_which_it_serves(server):
    with pytest.raises(BackendUnavailable, match="serves: tiny"):
        OpenAIBackend(server, "qwen", timeout=1).check()


def test_a_run_naming_no_model_is_told_which_to_name(server, tmp_path, capsys):
    assert main(["run", "--quiet", "--policy", "llm", "--backend", "openai", "--url", server, "--turns", "1",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: {server}/v1 serves tiny: name the model, e.g. --model tiny"]
