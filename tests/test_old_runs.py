"""Runs recorded before legends and patron acts shared one intervention queue (tests/data/old_interventions,
written by main aa862d9: separate legend and patron fields in the header and the checkpoint) still replay,
fork and resume exactly as that version played them."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sim import intervention
from sim.cli import main
from sim.trace import load_trace, read_checkpoint

OLD = Path(__file__).parent / "data" / "old_interventions"


@pytest.fixture
def old_run(tmp_path) -> Path:
    run = tmp_path / "old"
    shutil.copytree(OLD / "run", run)
    return run


def test_an_old_trace_replays_to_the_same_states_and_events(old_run, tmp_path, capsys):
    assert main(["replay", str(old_run / "trace.jsonl"), "--out", str(tmp_path / "again")]) == 0
    assert "every state identical" in capsys.readouterr().out
    (_, old), (header, again) = load_trace(old_run / "trace.jsonl"), load_trace(tmp_path / "again" / "trace.jsonl")
    assert [(t.state, t.events, t.legends) for t in again] == [(t.state, t.events, t.legends) for t in old]
    queued = intervention.recorded(old)  # in the order the old engine applied them: legends, then patron acts
    assert [(t, [e.get("name") or e["act"]["do"] for e in n]) for t, n in sorted(queued.items())] == [
        (1, ["early_frost", "lend"]), (2, ["drought", "rumour", "bribe", "whisper"])]
    assert header["interventions"] == {str(t): n for t, n in queued.items()}  # the replay's own schedule

def test_an_old_trace_forks(old_run, tmp_path):
    assert main(["fork", str(old_run), "--at", "4", "--out", str(tmp_path / "fork"), "--quiet"]) == 0
    (_, old), (_, forked) = load_trace(old_run / "trace.jsonl"), load_trace(tmp_path / "fork" / "trace.jsonl")
    assert [(t.state, t.events) for t in forked] == [(t.state, t.events) for t in old]


def test_an_old_checkpoint_resumes_with_its_queued_legend_and_act(old_run):
    before = read_checkpoint(old_run)
    assert before["pending"] and before["patron_pending"] and before["interventions"] is None
    assert main(["run", "--quiet", "--out", str(old_run), "--resume"]) == 0
    _, turns = load_trace(old_run / "trace.jsonl")
    expected = [json.loads(line) for line in (OLD / "continued.jsonl").read_text().splitlines()]
    assert [{"turn": t.turn, "state": t.state, "events": t.events, "legends": t.legends} for t in turns[4:]] == expected
    after = read_checkpoint(old_run)  # written by today's engine: one queue, none of the old fields
    assert after["turn"] == 7 and after["interventions"] == {} and after["pending"] is None
