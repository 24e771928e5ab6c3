"""Property tests: whatever a model replies, a server answers or a file on disk holds, a run either completes
with no-ops recorded or stops with one `error:` line, and the trace on disk is valid JSONL that replay
accepts, or is refused with the reason and left exactly as it was.

    replies  any Unicode (lone surrogates included), huge and non-finite numbers, deep nesting, huge token counts
    HTTP     bad usage, missing fields, wrong types, garbage bodies, error codes, hang-ups (a real server on
             loopback), plus a server that drips its answers byte by byte
    files    cut, overwritten, extended, replaced or deleted trace / checkpoint / metrics, then --resume
"""
import contextlib
import io
import json
import shutil
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.backends.base import BackendUnavailable
from agents.backends.openai import OpenAIBackend
from agents.council import Council
from bench.fuzz_bench import NAMES, AgentAnswers, QuietServer
from sim import Engine
from sim.cli import main
from sim.parse import MAX_REPLY_CHARS
from sim.policy import Reply
from sim.trace import load_trace
from worlds.commons import CommonsWorld
from worlds.wood import WoodWorld

ANY_CHAR = st.one_of(st.characters(exclude_categories=()),
                     st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()))
ANY_TEXT = st.text(ANY_CHAR, max_size=60)
JSON_TREE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=12)
ORDER = st.fixed_dictionaries({"side": st.sampled_from(["buy", "sell", "hold"]),
                               "good": st.sampled_from(["honey", "acorns", "firewood", "gold"]),
                               "qty": st.integers() | st.floats(), "price": st.integers() | st.floats()})
REPLIES = st.one_of(
    ANY_TEXT,
    JSON_TREE.map(json.dumps),  # ensure_ascii: lone surrogates arrive as valid "\ud800" escapes
    JSON_TREE.map(lambda t: json.dumps(t, ensure_ascii=False)),
    st.builds(lambda orders, say: json.dumps({"orders": orders, "say": say}), st.lists(ORDER, max_size=3), ANY_TEXT),
    st.builds(lambda c: json.dumps({"catch": c}), st.integers() | st.floats()),
    st.integers(1, 20_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 5_000).map(lambda n: '{"orders": ' * n),
    st.none(),
)
TOKENS = st.none() | st.integers() | st.floats() | ANY_TEXT


def trace_is_sound(out: Path) -> None:
    """Every line of the trace is JSON (header first), and replay reproduces every recorded state."""
    lines = (out / "trace.jsonl").read_bytes().splitlines()
    assert orjson.loads(lines[0])["kind"] == "header"
    for line in lines[1:]:
        orjson.loads(line)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["replay", str(out / "trace.jsonl")]) == 0


class Answers:
    """A backend that answers each agent with a drawn reply and drawn token counts."""

    name, model, is_model = "fuzz", "drawn", True

    def __init__(self, drawn):
        self.drawn = drawn

    def generate(self, turn, asks):
        return [Reply(text=text, prompt_tokens=tokens, output_tokens=tokens)
                for (text, tokens), _ in zip(self.drawn[turn % len(self.drawn)], asks)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=st.sampled_from(["wood", "commons"]),
       drawn=st.lists(st.lists(st.tuples(REPLIES, TOKENS), min_size=5, max_size=5), min_size=1, max_size=3))
def test_any_reply_completes_the_run_with_a_sound_trace(world, drawn):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        game = WoodWorld(agents=5) if world == "wood" else CommonsWorld(agents=5)
        turns = list(Engine(game, Council.of(Answers(drawn)), seed=1, out=out).run(3))
        assert all(len(t.decisions) == 5 for t in turns)
        assert all(d.reason for t in turns for d in t.decisions if d.status == "noop")
        trace_is_sound(out)


def test_a_lone_surrogate_and_a_huge_count_are_recorded_not_fatal(tmp_path):
    drawn = [[('{"orders": [], "say": "x\ud800"}', 10**30), ("x\udfff", 2**64), ('{"say": "\\ud800"}', -1),
              ("[" * 50_000, 7), (None, True)]]
    turn = next(Engine(WoodWorld(agents=5), Council.of(Answers(drawn)), seed=1, out=tmp_path / "run").run(1))
    first = turn.decisions[0]
    assert first.reply == '{"orders": [], "say": "x\ufffd"}' and first.prompt_tokens is None
    assert [d.prompt_tokens for d in turn.decisions] == [None, None, None, 7, None]
    assert turn.decisions[1].status == "noop" and turn.decisions[1].reason
    trace_is_sound(tmp_path / "run")


# --- HTTP ------------------------------------------------------------------------------------------------
COMPLETION = {"orders": [], "say": "fine"}
USAGE = st.one_of(st.none(), ANY_TEXT, st.integers(), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.sampled_from(["prompt_tokens", "completion_tokens"]), TOKENS | st.booleans()))
CONTENT = st.one_of(st.just(json.dumps(COMPLETION)), REPLIES, st.integers(), st.lists(st.integers(), max_size=2))
MESSAGE = st.one_of(st.fixed_dictionaries({"content": CONTENT}), st.just({}), ANY_TEXT, st.none())
CHOICE = st.one_of(st.fixed_dictionaries({"message": MESSAGE},
                                         optional={"finish_reason": st.none() | st.sampled_from(["stop", "length"])
                                                   | st.integers()}), ANY_TEXT, st.none())
BODY = st.one_of(st.fixed_dictionaries({"choices": st.lists(CHOICE, max_size=2)}, optional={"usage": USAGE}),
                 JSON_TREE)
ANSWER = st.one_of(
    st.tuples(st.just(200), BODY.map(lambda b: json.dumps(b).encode())),
    st.tuples(st.just(200), st.binary(max_size=40)),
    st.tuples(st.sampled_from([400, 404, 429, 500, 503]), st.binary(max_size=40)),
    st.just((0, b"")),  # hang up without answering
)


@pytest.fixture(scope="module")
def drawn_server():
    httpd = QuietServer(("127.0.0.1", 0), AgentAnswers)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(answers=st.lists(ANSWER, min_size=5, max_size=5))
def test_a_bad_http_answer_costs_only_its_own_agent(drawn_server, answers):
    AgentAnswers.answers = dict(zip(NAMES, answers))
    backend = OpenAIBackend(drawn_server, "tiny", timeout=5, retries=0, deadline=10)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            turn = next(Engine(WoodWorld(agents=5), Council.of(backend), seed=2, out=out).run(1))
            for decision, (code, payload) in zip(turn.decisions, answers):
                assert "turn failed" not in (decision.reason or "") and "policy failed" not in (decision.reason or "")
                good = code == 200 and payload == json.dumps({"choices": [{"message": {
                    "content": json.dumps(COMPLETION)}}]}).encode()
                if good:
                    assert decision.status == "valid"
            trace_is_sound(out)
    finally:
        backend.close()


def test_a_malformed_usage_costs_nothing_but_its_counts(drawn_server):
    good = {"choices": [{"message": {"content": json.dumps(COMPLETION)}}]}
    usages = ["lots", {"prompt_tokens": 10**30, "completion_tokens": "9"}, [1], None, {"prompt_tokens": 12}]
    AgentAnswers.answers = {n: (200, json.dumps({**good, "usage": u}).encode()) for n, u in zip(NAMES, usages)}
    backend = OpenAIBackend(drawn_server, "tiny", timeout=5, retries=0, deadline=10)
    try:
        turn = Engine(WoodWorld(agents=5), Council.of(backend), seed=2).step()
    finally:
        backend.close()
    assert [d.status for d in turn.decisions] == ["valid"] * 5
    assert [d.prompt_tokens for d in turn.decisions] == [None, None, None, None, 12]


def test_a_2_mb_reply_is_recorded_cut_to_max_reply_chars(drawn_server, tmp_path):
    padded = json.dumps(COMPLETION)[:-1] + " " * 2_000_000 + "}"  # valid JSON, 2 MB of it whitespace
    AgentAnswers.answers = {n: (200, json.dumps({"choices": [{"message": {"content": padded}}]}).encode())
                            for n in NAMES}
    backend = OpenAIBackend(drawn_server, "tiny", timeout=10, retries=0, deadline=20)
    try:
        list(Engine(WoodWorld(agents=5), Council.of(backend), seed=2, out=tmp_path).run(1))
    finally:
        backend.close()
    line = (tmp_path / "trace.jsonl").read_bytes().splitlines()[1]
    assert len(line) < 6 * MAX_REPLY_CHARS  # five cut replies and the rest of the turn, not 10 MB
    assert all(d.reply == padded[:MAX_REPLY_CHARS] for d in load_trace(tmp_path / "trace.jsonl")[1][0].decisions)
    trace_is_sound(tmp_path)


class Drip(BaseHTTPRequestHandler):
    """Answers every request one byte at a time, slower than any deadline here allows."""

    def log_message(self, *args):
        pass

    def _drip(self):
        if self.command == "POST":
            self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    do_GET = do_POST = _drip


@pytest.fixture
def drip_server():
    httpd = QuietServer(("127.0.0.1", 0), Drip)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_a_dripping_server_fails_the_start_up_check_in_one_line(drip_server):
    backend = OpenAIBackend(drip_server, "tiny", timeout=1)
    try:
        with pytest.raises(BackendUnavailable, match="did not answer /models within 1 s"):
            backend.check()
    finally:
        backend.close()


def test_a_dripping_server_costs_no_ops_and_says_who_waits(drip_server, tmp_path):
    said = []
    backend = OpenAIBackend(drip_server, "tiny", timeout=1, retries=1, backoff=0, deadline=2, notice=0.3,
                            announce=said.append)
    try:
        turn = next(Engine(WoodWorld(agents=5), Council.of(backend), seed=0, out=tmp_path / "run").run(1))
    finally:
        backend.close()
    assert {d.status for d in turn.decisions} == {"noop"}
    assert all(d.reason.startswith("no answer within") for d in turn.decisions)
    assert any("Bramble" in line and "waiting" in line for line in said)
    trace_is_sound(tmp_path / "run")


# --- files on disk ---------------------------------------------------------------------------------------
FILES = ["trace.jsonl", "checkpoint.json", "metrics.csv"]
DAMAGE = st.one_of(
    st.tuples(st.just("cut"), st.sampled_from(FILES), st.floats(0, 1)),
    st.tuples(st.just("overwrite"), st.sampled_from(FILES), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("append"), st.sampled_from(FILES), st.binary(min_size=1, max_size=200)),
    st.tuples(st.just("replace"), st.sampled_from(FILES), JSON_TREE.map(lambda t: json.dumps(t).encode())),
    st.tuples(st.just("delete"), st.sampled_from(FILES)),
)


def damage(path: Path, how: tuple) -> None:
    data = path.read_bytes()
    kind = how[0]
    if kind == "cut":
        path.write_bytes(data[: int(len(data) * how[2])])
    elif kind == "overwrite":
        at = int(len(data) * how[2])
        path.write_bytes(data[:at] + how[3] + data[at + len(how[3]):])
    elif kind == "append":
        path.write_bytes(data + how[2])
    elif kind == "replace":
        path.write_bytes(how[2])
    else:
        path.unlink()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A run stopped after 4 turns, and the same run played to 7 turns without stopping."""
    top = tmp_path_factory.mktemp("damage")
    for name, turns in (("stopped", 4), ("whole", 7)):
        assert main(["run", "--quiet", "--turns", str(turns), "--seed", "3", "--legend", "drought@2",
                     "--out", str(top / name)]) == 0
    return top / "stopped", [t.state for t in load_trace(top / "whole" / "trace.jsonl")[1]]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(hows=st.lists(DAMAGE, min_size=1, max_size=2))
def test_a_damaged_run_resumes_correctly_or_is_refused_untouched(runs, hows):
    stopped, whole = runs
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        shutil.copytree(stopped, out)
        for how in hows:
            if (out / how[1]).exists():
                damage(out / how[1], how)
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            # the run's own flags: where nothing is left to resume, --resume starts this same run afresh
            code = main(["run", "--quiet", "--turns", "7", "--seed", "3", "--legend", "drought@2", "--resume",
                         "--out", str(out)])
        if code == 2:
            assert err.getvalue().count("\n") == 1 and err.getvalue().startswith("error: ")
            assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        else:
            assert code == 0, err.getvalue()
            assert [t.state for t in load_trace(out / "trace.jsonl")[1]] == whole  # nothing silently changed
            trace_is_sound(out)


def test_every_kind_of_damaged_trace_is_replayed_or_forked_or_refused_in_one_line():
    """One case of each damage kind in bench/fuzz_forks.py (the long run is `python -m bench fuzz`), and runs
    with hostile patron acts and a hostile seat, replayed and forked."""
    from bench.fuzz_forks import TRACE_DAMAGE, fault_damaged_forks, fault_patrons

    damaged = fault_damaged_forks(len(TRACE_DAMAGE) + 1)
    assert (damaged["crashes"], damaged["corruptions"]) == (0, 0) and damaged["refused"] > len(TRACE_DAMAGE)
    patrons = fault_patrons(2, seed=3)
    assert (patrons["crashes"], patrons["corruptions"]) == (0, 0) and patrons["patron acts"] > 0
