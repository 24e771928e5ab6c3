"""Forks: `python -m sim fork TRACE --at T` continues any trace from the state after its turn T-1. The fork's
first T turns are the source's (states, decisions, events), then its own policy and legends play on."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sim.cli import main
from sim.config import RunConfig
from sim.engine import Engine
from sim.errors import UsageError, UserError
from sim.fork import ForkPolicy, fork, policy_of
from sim.trace import load_trace

TURNS = 14


def same_turn(a, b) -> bool:
    return a.turn == b.turn and a.state == b.state and a.decisions == b.decisions and a.events == b.events


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    out = tmp_path_factory.mktemp("fork") / "source"
    assert main(["run", "--quiet", "--turns", str(TURNS), "--seed", "4", "--legend", "bank_run@10", "--out",
                 str(out)]) == 0
    return out


def test_a_fork_copies_the_first_turns_and_plays_on(source, tmp_path):
    out = tmp_path / "fork"
    assert main(["fork", str(source), "--at", "6", "--out", str(out), "--turns", "20", "--quiet"]) == 0
    header, turns = load_trace(out / "trace.jsonl")
    _, recorded = load_trace(source / "trace.jsonl")
    assert [t.turn for t in turns] == list(range(20))
    assert all(same_turn(a, b) for a, b in zip(turns[:6], recorded[:6]))
    # the same scripted policy from the same state, with the source's legend still scheduled: the same run
    assert all(a.state == b.state for a, b in zip(turns, recorded))
    assert "bank_run" in turns[10].legends
    assert header["config"]["fork_of"] == str((source / "trace.jsonl").resolve())
    assert header["config"]["fork_at"] == 6 and header["config"]["turns"] == 20


def test_a_new_legend_makes_the_fork_differ_from_its_turn_on(source, tmp_path):
    out = tmp_path / "fork"
    assert main(["fork", str(source / "trace.jsonl"), "--at", "3", "--out", str(out), "--legend", "drought@7",
                 "--quiet"]) == 0
    _, turns = load_trace(out / "trace.jsonl")
    _, recorded = load_trace(source / "trace.jsonl")
    assert len(turns) == TURNS  # as long as the source by default
    assert all(same_turn(a, b) for a, b in zip(turns[:7], recorded[:7]))
    assert turns[7].legends == ["drought"] and recorded[7].legends == []
    assert turns[7].state != recorded[7].state


def test_a_fork_of_a_fork_and_the_replay_and_resume_of_one(source, tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["fork", str(source), "--at", "4", "--out", str(first), "--legend", "drought@5", "--quiet"]) == 0
    assert main(["fork", str(first), "--at", "8", "--out", str(second), "--legend", "early_frost@9",
                 "--turns", "11", "--quiet"]) == 0
    _, once = load_trace(first / "trace.jsonl")
    header, twice = load_trace(second / "trace.jsonl")
    assert all(same_turn(a, b) for a, b in zip(twice[:8], once[:8]))
    assert twice[5].legends == ["drought"] and twice[9].legends == ["early_frost"] and len(twice) == 11
    assert header["config"]["fork_of"].endswith("first/trace.jsonl")

    capsys.readouterr()
    assert main(["replay", str(second / "trace.jsonl")]) == 0
    said = capsys.readouterr().out
    assert "replayed 11 turns" in said and "every state identical" in said

    # resumed past its end it plays on with its own policy, as a fork made that long at once does
    assert main(["run", "--quiet", "--out", str(second), "--resume", "--turns", "16"]) == 0
    longer = tmp_path / "longer"
    assert main(["fork", str(first), "--at", "8", "--out", str(longer), "--legend", "early_frost@9",
                 "--turns", "16", "--quiet"]) == 0
    _, resumed = load_trace(second / "trace.jsonl")
    _, whole = load_trace(longer / "trace.jsonl")
    assert [t.state for t in resumed] == [t.state for t in whole] and len(whole) == 16


def test_a_fork_cut_short_before_its_turn_resumes_by_replaying_its_source(source, tmp_path):
    """A chaos fork at turn 6 stopped after turn 3 (the source's state of turn 3 was altered, and the fork
    refuses to go on from a state that is not the source's) resumes by replaying the source's replies for
    turns 4 and 5, then plays chaos: the same run as a fork that was never stopped."""
    lines = (source / "trace.jsonl").read_bytes().splitlines(keepends=True)
    turn3 = json.loads(lines[4])
    turn3["state"]["altered"] = True
    (tmp_path / "altered").mkdir()
    (tmp_path / "altered" / "trace.jsonl").write_bytes(b"".join([*lines[:4], json.dumps(turn3).encode() + b"\n",
                                                                   *lines[5:]]))
    cut = tmp_path / "cut"
    with pytest.raises(UserError, match="turn 3 .* does not replay to the state it recorded"):
        fork(tmp_path / "altered", 6, out=cut, turns=10, changes={"policy": "chaos"}, announce=lambda line: None)
    assert [t.turn for t in load_trace(cut / "trace.jsonl")[1]] == [0, 1, 2, 3]
    assert main(["run", "--quiet", "--out", str(cut), "--resume", "--turns", "10"]) == 0

    whole = tmp_path / "whole"
    assert main(["fork", str(source), "--at", "6", "--turns", "10", "--policy", "chaos", "--out", str(whole),
                 "--quiet"]) == 0
    _, resumed = load_trace(cut / "trace.jsonl")
    _, uncut = load_trace(whole / "trace.jsonl")
    assert [t.state for t in resumed] == [t.state for t in uncut] and len(uncut) == 10
    assert {d.backend for t in resumed[4:6] for d in t.decisions} == {"scripted"}  # the source's replies
    assert {d.backend for t in resumed[6:] for d in t.decisions} == {"chaos"}

    config = RunConfig.from_json(load_trace(cut / "trace.jsonl")[0]["config"])
    assert isinstance(policy_of(config, 4, announce=lambda line: None), ForkPolicy)
    (tmp_path / "altered" / "trace.jsonl").unlink()
    with pytest.raises(UsageError, match="that trace is gone"):
        policy_of(config, 4)


def test_a_fork_stopped_before_its_turn_refuses_a_source_that_changed_since(source, tmp_path, capsys):
    """A fork cut short before --at replays its source again when resumed: only if that trace is still the
    one it forked (its header and first --at turns, by digest), never whatever trace sits there now."""
    lines = (source / "trace.jsonl").read_bytes().splitlines(keepends=True)
    turn3 = json.loads(lines[4])
    turn3["state"]["altered"] = True
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "trace.jsonl").write_bytes(b"".join([*lines[:4], json.dumps(turn3).encode() + b"\n",
                                                              *lines[5:]]))
    cut = tmp_path / "cut"
    with pytest.raises(UserError, match="does not replay"):
        fork(tmp_path / "src", 8, out=cut, turns=10, announce=lambda line: None)  # stops after turn 3
    other = tmp_path / "other"
    assert main(["run", "--quiet", "--turns", str(TURNS), "--seed", "9", "--out", str(other)]) == 0
    (tmp_path / "src" / "trace.jsonl").write_bytes((other / "trace.jsonl").read_bytes())
    before = {p.name: p.read_bytes() for p in cut.iterdir()}
    capsys.readouterr()
    assert main(["run", "--quiet", "--out", str(cut), "--resume", "--turns", "10"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "is no longer the one it was forked from" in err[0], err
    assert {p.name: p.read_bytes() for p in cut.iterdir()} == before


def test_a_run_or_fork_stopped_before_its_first_checkpoint_starts_again_as_recorded(source, tmp_path):
    """Killed between its header and its first checkpoint, a run holds only the header; --resume (without
    --turns: the length it was started with) starts it again with the header's settings, not the defaults."""
    runs = {"run": ["run", "--quiet", "--turns", "5", "--seed", "7", "--agents", "6", "--legend", "drought@2"],
            "fork": ["fork", str(source), "--at", "6", "--turns", "9", "--policy", "chaos", "--quiet"]}
    for name, argv in runs.items():
        whole, cut = tmp_path / f"{name}-whole", tmp_path / f"{name}-cut"
        assert main([*argv, "--out", str(whole)]) == 0
        cut.mkdir()
        (cut / "trace.jsonl").write_bytes((whole / "trace.jsonl").read_bytes().splitlines(keepends=True)[0])
        assert main(["run", "--quiet", "--out", str(cut), "--resume"]) == 0
        (header, turns), (recorded, uncut) = load_trace(cut / "trace.jsonl"), load_trace(whole / "trace.jsonl")
        assert header["config"] == recorded["config"] and header["interventions"] == recorded["interventions"]
        assert [t.state for t in turns] == [t.state for t in uncut] and len(turns) == header["config"]["turns"]


def test_a_wood_run_whose_patron_acted_replays_and_forks(tmp_path, capsys):
    """The engine records an act as {"kind": "patron", "act": ...}, and the wood tells what the act did in an
    event of the same kind; only the first is re-applied (both were read as acts: KeyError 'act')."""
    config = RunConfig(world="wood", agents=5, seed=3, turns=8)
    engine = Engine(config.make_world(), config.make_policy(), seed=3, out=tmp_path / "patron",
                    config=config.to_json())
    engine.step()
    engine.patron({"do": "lend", "to": "Bramble", "pebbles": 5, "due_in": 3})
    engine.step()
    engine.patron({"do": "whisper", "to": "Moss", "text": "honey will be dear"})
    engine.patron({"do": "bribe", "to": "Nobody", "pebbles": 1})  # refused: no such creature
    engine.step()
    engine.patron({"do": "bribe", "to": "Clover", "pebbles": 4})
    list(engine.run(8))
    _, recorded = load_trace(tmp_path / "patron" / "trace.jsonl")
    kinds = [e["kind"] for t in recorded for e in t.events if e["kind"].startswith("patron")]
    assert kinds == ["patron", "patron", "patron", "patron", "patron_refused", "patron", "patron"]
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "patron")]) == 0
    assert "every state identical" in capsys.readouterr().out
    for at in (2, 4):  # after the loan; after every act
        out = tmp_path / f"fork{at}"
        assert main(["fork", str(tmp_path / "patron"), "--at", str(at), "--out", str(out), "--quiet"]) == 0
        _, turns = load_trace(out / "trace.jsonl")
        assert all(same_turn(a, b) for a, b in zip(turns[:at], recorded[:at]))
        if at == 4:  # every act before it and the same scripted policy after: the same run
            assert [t.state for t in turns] == [t.state for t in recorded]
        assert main(["replay", str(out)]) == 0


class Model(BaseHTTPRequestHandler):
    """An OpenAI-compatible server on loopback whose every creature says the same thing and trades nothing."""

    def log_message(self, *args):
        pass

    def do_GET(self):  # /v1/models
        self._send({"data": [{"id": "tiny"}]})

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        reply = json.dumps({"orders": [], "say": "we wait"})
        self._send({"choices": [{"message": {"content": reply}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 9}})

    def _send(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_an_llm_trace_forked_with_the_scripted_policy(tmp_path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Model)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        assert main(["run", "--quiet", "--policy", "llm", "--backend", "openai", "--url", url, "--model", "tiny",
                     "--turns", "6", "--seed", "2", "--out", str(tmp_path / "llm")]) == 0
    finally:
        httpd.shutdown()
        httpd.server_close()
    # the server is gone: the fork's first turns come from the trace, the rest from the scripted heuristic
    out = tmp_path / "fork"
    assert main(["fork", str(tmp_path / "llm"), "--at", "3", "--out", str(out), "--policy", "scripted",
                 "--quiet"]) == 0
    header, turns = load_trace(out / "trace.jsonl")
    _, recorded = load_trace(tmp_path / "llm" / "trace.jsonl")
    assert all(same_turn(a, b) for a, b in zip(turns[:3], recorded[:3]))
    assert {d.backend for t in turns[:3] for d in t.decisions} == {"openai"}
    assert all(d.prompt and d.prompt_tokens == 100 for d in turns[0].decisions)
    assert {d.backend for t in turns[3:] for d in t.decisions} == {"scripted"}
    assert sum(t.metrics["trades"] for t in turns[3:]) > 0 == sum(t.metrics["trades"] for t in recorded[3:])
    assert header["config"]["policy"] == "scripted" and header["config"]["url"] == url
    assert {a["backend"] for a in header["agents"].values()} == {"scripted"}


@pytest.mark.parametrize("argv, says", [
    (["fork", "{tmp}/missing", "--at", "1", "--out", "{tmp}/new"], "no trace at"),
    (["fork", "{src}", "--at", "15", "--out", "{tmp}/new"], "--at takes 0 to 14"),
    (["fork", "{src}", "--at", "-1", "--out", "{tmp}/new"], "outside the trace"),
    (["fork", "{src}", "--at", "5", "--out", "{src}"], "would overwrite it"),
    (["fork", "{src}", "--at", "5", "--out", "{src}/trace.jsonl"], "cannot write to"),
    (["fork", "{src}", "--at", "5", "--out", "{other}"], "already holds a run"),
    (["fork", "{src}", "--at", "5", "--out", "{tmp}/new", "--legend", "drought@4"], "is before --at 5"),
    (["fork", "{src}", "--at", "5", "--out", "{tmp}/new", "--legend", "drought@14"], "would never start"),
    (["fork", "{src}", "--at", "5", "--out", "{tmp}/new", "--legend", "plague@7"], "unknown legend"),
    (["fork", "{src}", "--at", "5", "--out", "{tmp}/new", "--turns", "4"], "ends before --at 5"),
    (["fork", "{src}", "--at", "5", "--out", "{tmp}/new", "--policy", "oracle"], "unknown policy"),
    (["fork", "{src}", "--out", "{tmp}/new"], "--at"),
    (["fork", "{tmp}/damaged", "--at", "1", "--out", "{tmp}/new"], "line 3 is not a turn record"),
    (["fork", "{tmp}/plague", "--at", "1", "--out", "{tmp}/new"], "cannot take: unknown legend 'plague'"),
    (["fork", "{tmp}/listed", "--at", "1", "--out", "{tmp}/new"], "its header schedules interventions that cannot"),
])
def test_a_mistake_is_one_error_line(source, tmp_path, capsys, argv, says):
    other = tmp_path / "other"
    assert main(["run", "--quiet", "--turns", "1", "--out", str(other)]) == 0
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    lines = (source / "trace.jsonl").read_bytes().splitlines(keepends=True)
    (damaged / "trace.jsonl").write_bytes(b"".join([*lines[:2], b"{not json\n", *lines[3:]]))
    for name, schedule in (("plague", {"12": [{"by": "legend", "name": "plague", "text": None}]}),
                           ("listed", ["bank_run", 10])):
        (tmp_path / name).mkdir()
        header = {**json.loads(lines[0]), "interventions": schedule}
        (tmp_path / name / "trace.jsonl").write_bytes(json.dumps(header).encode() + b"\n" + b"".join(lines[1:]))
    before = (source / "trace.jsonl").read_bytes()
    capsys.readouterr()
    assert main([a.format(src=source, tmp=tmp_path, other=other) for a in argv]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and says in err[0], err
    assert (source / "trace.jsonl").read_bytes() == before
    assert not (tmp_path / "new").exists()  # refused, even once --out was found writable: not an empty folder


def test_a_branch_beside_a_run_charts_both_and_leaves_nothing_behind(source):
    pytest.importorskip("matplotlib")
    from render.live.branch import Branch
    from sim.fork import read_source

    run = read_source(source)
    branch = Branch(run, 5, "drought", 4)
    while not branch.done:
        branch.step()
    assert [t.turn for t in branch.turns] == [5, 6, 7, 8] and branch.turns[0].legends == ["drought"]
    assert branch.turns[0].state != run.turns[5].state
    width, height = branch.picture(run.turns).size
    assert width > 2.5 * height
    branch.close()
    assert not branch.dir.exists()
