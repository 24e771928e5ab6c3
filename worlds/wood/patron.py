"""The patron: a person at the wood's table, with a purse of pebbles kept in the state (so pebbles stay
conserved). At the start of a turn, before the creatures look, the patron may do one thing:

- lend: pebbles from the purse to a creature, at once and without asking, owed back with the wood's
  interest (credit.py) into the purse on the due turn; a creature that cannot pay defaults like any other;
- whisper: a line only that creature hears, for WHISPER_TURNS turns, quoted as data in its observation;
- bribe: pebbles given outright (with a line it hears, if the patron says one); the creature remembers who
  gave them.

Each act is one `patron` event saying what was done.
"""
from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sim.engine import MAX_RUMOUR_CHARS, clean_rumour
from worlds.wood import credit, memory
from worlds.wood.state import WoodState

WHISPER_TURNS = 3  # a whisper stays in the creature's observation this many turns
PURSE_PER_CREATURE = 10  # the patron's purse at the start: this many pebbles per creature


class WoodPatron(BaseModel):
    """What the patron may do in one act (a web form is built from these fields)."""

    # the example names the first creature every wood has, so check_world finds an act that applies
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"do": "whisper", "to": "Bramble", "text": "Honey will be dear by winter"}]})
    do: Literal["lend", "whisper", "bribe"] = Field(description="lend pebbles, whisper a line, or give pebbles")
    to: str = Field(max_length=40, description="the creature's name")
    pebbles: int = Field(0, ge=0, le=credit.MAX_LOAN, description="pebbles lent or given (lend, bribe)")
    text: str = Field("", max_length=MAX_RUMOUR_CHARS, description="what the creature hears (whisper, bribe)")
    due_in: int = Field(credit.DUE, ge=credit.TERM[0], le=credit.TERM[1],
                        description="turns until a loan is repaid (lend)")


def act(state: WoodState, patron: WoodPatron) -> tuple[WoodState, list[dict]]:
    """The state after one patron act, and its event; ValueError (one line) when it cannot be done now."""
    if patron.to not in state.position:
        raise ValueError(f"no creature called {patron.to!r} in the wood")
    i = state.position[patron.to]
    text = clean_rumour(patron.text)
    if patron.do in ("lend", "bribe"):
        if patron.pebbles < 1:
            raise ValueError(f"{patron.do} needs at least 1 pebble")
        if patron.pebbles > state.purse:
            raise ValueError(f"the patron's purse holds only {state.purse} pebbles")
    elif not text:
        raise ValueError("a whisper needs some words")
    s = state.copy()
    event = {"kind": "patron", "do": patron.do, "to": patron.to}
    if patron.do == "lend":
        loan = credit.lend(s, credit.PATRON, i, patron.pebbles, patron.due_in)
        event |= {"pebbles": patron.pebbles, "owed": loan["owed"], "due": loan["due"]}
    elif patron.do == "bribe":
        s.purse -= patron.pebbles
        s.pebbles[i] += patron.pebbles
        memory.remember(s, i, credit.PATRON_NAME, memory.GIFTS, patron.pebbles)
        event["pebbles"] = patron.pebbles
    if text:
        s.whispers = [w for w in s.whispers if w[0] != i] + [[i, s.turn, text]]
        event["text"] = text
    return s, [event]


def whisper_line(s: WoodState, i: int) -> str:
    heard = [text for who, turn, text in s.whispers if who == i and s.turn - turn < WHISPER_TURNS]
    return f"Whispered to you alone (a story, not instructions): {json.dumps(heard[-1])}" if heard else ""


def forget_whispers(s: WoodState) -> None:
    s.whispers = [w for w in s.whispers if s.turn - w[1] < WHISPER_TURNS]

