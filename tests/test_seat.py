"""A person at the table: the human backend and its seat, forms built from action schemas, the patron hook
(engine queue, checkpoint, replay). The window's and the web demo's seats are in test_seat_viewers.py."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from typing import Annotated, Literal, Union

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field

from agents.backends.human import HumanBackend, Seat
from agents.backends.scripted import ScriptedBackend
from agents.council import Council
from agents.policies import scripted
from render.paint import form
from render.live.seat import PATRON, Seating
from sim import Engine
from sim.checks import WorldCheckError, check_world
from sim.cli import main as cli
from sim.parse import MAX_REPLY_CHARS, parse
from sim.policy import Ask, PolicyOptions
from sim.trace import dump_line, load_trace
from sim.world import Outcome
from worlds.template import GuessWorld
from worlds.wood import WoodWorld
from worlds.wood.actions import creature_schema


class Gift(BaseModel):
    """Give points to one player."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=12)
    points: int = Field(ge=1, le=3)


class PatronGuess(GuessWorld):
    """The template with a patron seat, for these tests: the patron gives points to a player it names."""

    Patron = Gift

    def patron(self, state, act: Gift) -> Outcome:
        if act.to not in state.scores:
            raise ValueError(f"there is no player {act.to!r}")
        scores = {**state.scores, act.to: state.scores[act.to] + act.points}
        return Outcome(replace(state, scores=scores), [{"kind": "gift", "to": act.to, "points": act.points}])

    def invariants(self, state, previous, events):
        gifts = sum(e["points"] for e in events if e["kind"] == "gift")
        won = self.params.points * sum(len(e["winners"]) for e in events if e["kind"] == "round")
        return [] if sum(state.scores.values()) == sum(previous.scores.values()) + won + gifts else ["points"]


def answer_when_asked(seat: Seat, text: str, timeout: float = 20.0) -> threading.Thread:
    """A person who answers `text` as soon as the seat is asked (in a thread, as a viewer would)."""

    def person():
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            q = seat.question
            if q is not None and seat.answer(text, turn=q.turn):
                return
            time.sleep(0.01)

    thread = threading.Thread(target=person, daemon=True)
    thread.start()
    return thread


def seated_wood(timeout: float = 5.0, agents: int = 5, seed: int = 3):
    world = WoodWorld(agents=agents)
    seat = Seat("placeholder", timeout)
    engine = Engine(world, scripted(PolicyOptions(seed=seed)), seed=seed)
    who = world.agents(engine.state)[1]
    seat.agent = who
    engine.policy = engine.policy.with_seat(who, HumanBackend(seat))
    return engine, seat, who


# --- the human backend -------------------------------------------------------------------------------
def test_an_answer_in_time_is_a_human_decision_and_the_others_keep_their_policy():
    engine, seat, who = seated_wood()
    world, state = engine.world, engine.state
    rest = [Ask(world, state, a, 0) for a in world.agents(state) if a != who]
    expected = {ask.agent: parse(reply, world, state, ask.agent, ask)[0].action  # the scripted batch without `who`
                for ask, reply in zip(rest, ScriptedBackend(3).generate(0, rest))}
    person = answer_when_asked(seat, '{"orders": [], "say": "just watching"}')
    turn = engine.step()
    person.join()
    mine = next(d for d in turn.decisions if d.agent == who)
    assert (mine.backend, mine.status, mine.action["say"]) == ("human", "valid", "just watching")
    assert "pebbles" in mine.prompt.lower()  # what the person was shown is recorded as the prompt
    others = [d for d in turn.decisions if d.agent != who]
    assert {d.backend for d in others} == {"scripted"}
    assert {d.agent: d.action for d in others} == expected


def test_a_bad_answer_is_a_recorded_noop_with_its_reason():
    engine, seat, who = seated_wood()
    state = engine.world.from_json(engine.world.to_json(engine.state))
    own = engine.world.agents(state).index(who)
    mine_good = creature_schema(state, own)["properties"]["orders"]["items"]
    mine_good = (mine_good.get("anyOf") or [mine_good])[0]["prefixItems"][1]["enum"]  # [side, good, qty, price]
    own_good = next(g for g in ("acorns", "honey", "berries", "mushrooms", "firewood") if g not in mine_good)
    bad = json.dumps({"orders": [["buy", own_good, 1, 1]], "say": ""})
    for text, why in ((bad, "outside its schema"), ('{"orders": "lots"}', "invalid"), ("[1, 2]", "not a JSON object")):
        person = answer_when_asked(seat, text)
        turn = engine.step()
        person.join()
        mine = next(d for d in turn.decisions if d.agent == who)
        assert (mine.backend, mine.status) == ("human", "noop") and why in mine.reason, (text, mine.reason)
        assert mine.reply == text


def test_an_answer_is_recorded_at_most_max_reply_chars_and_a_second_answer_is_told_the_first_counts():
    engine = Engine(WoodWorld(agents=5), scripted(PolicyOptions(seed=3)), seed=3)
    seating, who = Seating.of(engine), "Clover"
    seating.take(who, timeout=5)
    huge = '{"orders": [], "say": "' + "a" * 5_000_000 + '"}'
    said = []

    def person():
        asked = wait_for(seating.asked)
        said.extend([seating.answer(asked, huge), seating.answer(asked, '{"orders": []}')])

    thread = threading.Thread(target=person, daemon=True)
    thread.start()
    turn = engine.step()
    thread.join()
    assert said == ["answered for turn 0", "turn 0 already has your answer; the first one counts"]
    mine = next(d for d in turn.decisions if d.agent == who)
    assert mine.reply == huge[:MAX_REPLY_CHARS] and mine.backend == "human"
    assert len(dump_line(turn)) < 3 * MAX_REPLY_CHARS


def test_no_answer_is_a_noop_after_the_timeout_and_the_model_batch_is_not_kept_waiting():
    class Slow(ScriptedBackend):
        """A model that takes 0.6 s a batch, to see that it runs while the person thinks."""

        def generate(self, turn, asks):
            time.sleep(0.6)
            return super().generate(turn, asks)

    world = WoodWorld(agents=4)
    engine = Engine(world, Council.of(Slow(1)), seed=1)
    who = world.agents(engine.state)[0]
    engine.policy = engine.policy.with_seat(who, HumanBackend(Seat(who, timeout=0.8)))
    began = time.monotonic()
    turn = engine.step()
    took = time.monotonic() - began
    mine = next(d for d in turn.decisions if d.agent == who)
    assert (mine.backend, mine.status, mine.reason) == ("human", "noop", "the seat did not answer within 0.8 s")
    assert all(d.status != "noop" for d in turn.decisions if d.agent != who)
    assert 0.8 <= took < 1.3  # the person's wait and the batch overlap: not 0.8 + 0.6


def test_leaving_returns_the_agent_to_its_policy():
    world = GuessWorld(agents=3)
    engine = Engine(world, scripted(PolicyOptions(seed=0)), seed=0)
    seating = Seating.of(engine)
    assert Seating.of(engine) is seating and seating.choices() == ["player0", "player1", "player2"]
    seating.take("player1", timeout=5)
    person = threading.Thread(target=lambda: (wait_for(seating.asked), seating.submit(seating.asked(), [42])))
    person.start()
    turn = engine.step()
    person.join()
    assert {d.agent: (d.backend, d.action) for d in turn.decisions}["player1"] == ("human", {"guess": 42})
    seating.leave()
    assert {d.backend for d in engine.step().decisions} == {"scripted"}
    with pytest.raises(ValueError, match="patron"):
        engine.patron({"to": "player0", "points": 1})
    with pytest.raises(ValueError, match="nobody"):
        seating.take(PATRON)


def wait_for(probe, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = probe()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError("timed out")


# --- forms -------------------------------------------------------------------------------------------
def test_wood_forms_round_trip_every_creatures_schema():
    """For each creature of a played wood (all its schema variants: levers on and off), a reply drawn from its
    own schema, set into the form and read back, is the same reply."""
    from sim.schemas import example

    rng = np.random.default_rng(0)
    for levers in ("", "bands,budget"):
        world = WoodWorld(agents=6, levers=levers) if levers else WoodWorld(agents=6)
        engine = Engine(world, scripted(PolicyOptions(seed=2)), seed=2)
        for _ in range(4):
            engine.step()
            for agent in world.agents(engine.state):
                schema = world.action_schema(engine.state, agent)
                fields = form.fields(schema)
                for _ in range(5):
                    want = example(schema, rng)
                    want.setdefault("orders", [])
                    if not want.get("say"):  # an optional line left blank is left out, as a model does
                        want.pop("say", None)
                    assert form.reply(fields, form.filled(fields, want)) == want


def test_template_and_patron_forms_and_stepping():
    fields = form.fields(GuessWorld.Action.model_json_schema())
    assert [(f.path, f.kind, f.low, f.high, f.optional) for f in fields] == [(("guess",), "integer", 0, 100, True)]
    assert form.reply(fields, form.defaults(fields)) == {}  # an optional key left blank is left out (the template reads it as None)
    assert form.step(fields[0], None, 1) == 0 and form.step(fields[0], 0, -1) is None
    assert form.step(fields[0], 100, 1) == 100
    gift = form.fields(Gift.model_json_schema())
    assert [f.kind for f in gift] == ["string", "integer"] and gift[0].max_length == 12
    assert form.reply(gift, ["player2", "3"]) == {"to": "player2", "points": 3}
    side = form.fields({"type": "object", "properties": {"s": {"enum": ["a", "b"]}, "b": {"type": "boolean"}}})
    assert form.step(side[0], "b", 1) == "a" and form.step(side[1], False, 1) is True
    assert form.reply(side, ["zz", True]) == {"s": "zz", "b": True}  # passed on as typed: the parse path judges


# --- the patron hook ---------------------------------------------------------------------------------
def test_patron_acts_apply_next_turn_or_are_refused_with_a_reason():
    engine = Engine(PatronGuess(agents=3), scripted(PolicyOptions(seed=1)), seed=1)
    engine.step()
    with pytest.raises(ValueError):
        engine.patron({"to": "player0", "points": 9})  # outside Gift: refused when queued
    engine.patron({"to": "player0", "points": 3})
    engine.patron(Gift(to="nobody", points=1))
    before = dict(engine.state.scores)
    turn = engine.step()
    assert turn.events[:3] == [
        {"kind": "patron", "act": {"to": "player0", "points": 3}},
        {"kind": "gift", "to": "player0", "points": 3},
        {"kind": "patron_refused", "act": {"to": "nobody", "points": 1}, "reason": "there is no player 'nobody'"},
    ]
    won = sum(len(e["winners"]) for e in turn.events if e["kind"] == "round")
    assert sum(engine.state.scores.values()) == sum(before.values()) + 3 + won
    assert not [e for e in engine.step().events if e["kind"].startswith("patron")]  # applied once


def test_check_world_checks_a_patron():
    check_world(PatronGuess(agents=3), seed=0, turns=6)

    class Broken(PatronGuess):
        def patron(self, state, act):
            state.scores[act.to] = 99  # mutates its input
            return Outcome(state, [])

    class Never(PatronGuess):
        def patron(self, state, act):
            raise ValueError("not now")

    with pytest.raises(WorldCheckError, match="patron mutated its input"):
        check_world(Broken(agents=3), seed=0, turns=4)
    with pytest.raises(WorldCheckError, match="no patron act"):
        check_world(Never(agents=3), seed=0, turns=4)


@pytest.fixture
def patron_world(monkeypatch):
    """PatronGuess registered as a world, so the CLI's replay and resume can rebuild it."""
    from sim import registry

    real = registry.get_world
    monkeypatch.setattr(registry, "get_world", lambda name: PatronGuess if name == "patronguess" else real(name))
    return PatronGuess


def test_patron_acts_survive_checkpoint_resume_and_replay(patron_world, tmp_path, capsys):
    def world():
        return patron_world(agents=3)

    config = {"world": "patronguess", "agents": 3, "seed": 4, "policy": "scripted"}
    whole = Engine(world(), scripted(PolicyOptions(seed=4)), seed=4, out=tmp_path / "whole", config=config)
    cut = Engine(world(), scripted(PolicyOptions(seed=4)), seed=4, out=tmp_path / "cut", config=config)
    for engine in (whole, cut):
        engine.step()
        engine.patron({"to": "player2", "points": 2})
        engine.step()
        engine.patron({"to": "player1", "points": 1})  # pending when the run stops
        engine.patron({"to": "ghost", "points": 1})
    whole.step()
    whole.step()
    whole.close()
    cut.close()  # a run stopped between turns, its acts still queued: they live in the checkpoint
    resumed = Engine.resume(tmp_path / "cut", world(), scripted(PolicyOptions(seed=4)))
    assert resumed.scheduled[resumed.turn] == [{"by": "patron", "act": {"to": "player1", "points": 1}},
                                               {"by": "patron", "act": {"to": "ghost", "points": 1}}]
    resumed.step()
    resumed.step()
    resumed.close()
    _, a = load_trace(tmp_path / "whole" / "trace.jsonl")
    _, b = load_trace(tmp_path / "cut" / "trace.jsonl")
    assert [t.state for t in a] == [t.state for t in b] and [t.events for t in a] == [t.events for t in b]
    assert [e["kind"] for e in a[2].events[:3]] == ["patron", "gift", "patron_refused"]
    assert cli(["replay", str(tmp_path / "cut" / "trace.jsonl"), "--out", str(tmp_path / "again")]) == 0
    assert "every state identical" in capsys.readouterr().out
    _, c = load_trace(tmp_path / "again" / "trace.jsonl")
    assert [t.events for t in c] == [t.events for t in a]


def test_variants_of_a_discriminated_union_fit_the_one_chosen():
    class Lend(BaseModel):
        model_config = ConfigDict(extra="forbid")
        kind: Literal["lend"]
        to: str = Field(max_length=20)
        pebbles: int = Field(ge=1, le=50)

    class Whisper(BaseModel):
        model_config = ConfigDict(extra="forbid")
        kind: Literal["whisper"]
        to: str = Field(max_length=20)
        rumour: str = Field("", max_length=80)

    class Act(BaseModel):
        act: Annotated[Union[Lend, Whisper], Field(discriminator="kind")]

    schema = Act.model_json_schema()
    fields = form.fields(schema)  # the branch's tag first, then each branch's own fields
    assert [(f.path[-1], f.kind, f.chooses) for f in fields] == [
        ("kind", "enum", True), ("to", "string", False), ("pebbles", "integer", False), ("to", "string", False),
        ("rumour", "string", False)]
    assert form.hidden(fields, form.defaults(fields)) == [False, False, False, True, True]  # lend is first
    for values, want in ((["lend", "Moss", 7, "Thorn", "x"], {"kind": "lend", "to": "Moss", "pebbles": 7}),
                         (["whisper", "Moss", 1, "Thorn", "the bees left"], {"kind": "whisper", "to": "Thorn",
                                                                             "rumour": "the bees left"})):
        data = form.reply(fields, values)  # only the chosen branch's fields are read
        assert data == form.fit(schema, data) == {"act": want} and Act.model_validate(data)


def test_the_patron_seat_queues_acts_from_its_form():
    engine = Engine(PatronGuess(agents=3), scripted(PolicyOptions(seed=1)), seed=1)
    seating = Seating.of(engine)
    assert seating.choices()[-1] == PATRON
    assert "patron" in seating.take(PATRON)
    asked = seating.asked()
    assert [f.label for f in asked.fields] == ["to", "points"] and asked.seconds_left() is None
    assert seating.submit(asked, ["player1", 2]).startswith("queued for the next turn")
    assert seating.asked().key != asked.key  # a fresh form for the next act
    assert seating.submit(seating.asked(), ["player1", 7]).startswith("not queued: ")  # outside Gift
    turn = engine.step()
    assert turn.events[0] == {"kind": "patron", "act": {"to": "player1", "points": 2}}
    assert {d.backend for d in turn.decisions} == {"scripted"}  # the patron plays no creature


# --- a seated agent that leaves the world ------------------------------------------------------------
def hungry_meadow() -> Engine:
    """A meadow whose foragers hold one food each: one that never gathers eats it in turn 0 and starves in
    turn 1."""
    from worlds.grid import GridWorld

    return Engine(GridWorld(agents=4, carry=1), scripted(PolicyOptions(seed=0)), seed=0)


def starving_seat():
    """The hungry meadow with a person seated as Ada who never answers (so Ada stays, and starves in turn 1).
    Returns the engine, its Seating and the policy before the seat."""
    engine = hungry_meadow()
    policy = engine.policy
    seating = Seating.of(engine)
    assert "you play Ada" in seating.take("Ada", timeout=0.2)
    return engine, seating, policy


def test_a_person_whose_agent_leaves_the_world_is_told_and_the_seat_ends():
    engine, seating, policy = starving_seat()
    engine.step()
    assert seating.departed() is None  # still in the meadow, with nothing left to eat
    turn = engine.step()
    assert "Ada" not in turn.state["names"] and any(e.get("agent") == "Ada" for e in turn.events)
    said = seating.departed()
    assert said.startswith("Ada has left the world, so your seat has ended; take another seat (Bram")
    assert seating.who is None and seating.asked() is None and engine.policy is policy
    assert seating.departed() is None  # said once
    assert {d.backend for d in engine.step().decisions} == {"scripted"}


def test_the_window_and_the_web_page_say_so_in_one_line():
    from types import SimpleNamespace

    from render.window.seat import WindowSeat

    engine = hungry_meadow()
    seat = WindowSeat(SimpleNamespace(live=True, engine=engine), timeout=0.2)
    assert "you play Ada" in seat.cycle()  # `t`: the first forager
    engine.step()
    assert seat.departed() is None
    engine.step()
    assert seat.departed().startswith("Ada has left the world") and seat.at == -1 and seat.asked is None
    assert "Bram" in seat.cycle()  # `t` again offers the next forager still in the meadow

    pytest.importorskip("gradio")
    from render.web.seat import _follow

    engine, _, _ = starving_seat()
    tab = SimpleNamespace(live=SimpleNamespace(engine=engine))
    engine.step()
    engine.step()
    key, note, timer = _follow(tab, ["Ada", 1])
    assert key is None and "Ada has left the world, so your seat has ended" in note and timer.active is False
