"""Credit: loans of pebbles at interest, with a due turn.

A creature with more than RESERVE pebbles proposes a loan of some of the rest to a neighbour ("lend": {"to", "pebbles", "due"}); the neighbour takes it by
accepting its maker next turn (offers.py), and the pebbles move then, if the lender still holds them. The
borrower owes the pebbles plus RATE of them per turn of the term (at least one pebble), due `due` turns
after the loan began. At the start of the due turn, before any offer settles or the market opens, the debt
is taken from the borrower automatically: `repaid` when it holds enough; otherwise it pays what it holds and
the rest is lost, a public `default`. Every creature knows who defaulted (memory.py); lenders shun them.
The patron (patron.py) lends from its purse the same way, without asking, and is repaid into it.
"""
from __future__ import annotations

import math

import numpy as np

from worlds.wood import memory
from worlds.wood.state import WoodState

RATE = 0.05  # interest per turn of a loan's term
MAX_LOAN = 50
RESERVE = 10  # pebbles a creature never lends: what it needs to buy its own food
TERM = (2, 8)  # shortest and longest term, in turns
DUE = 4  # the term when a lender names none
PATRON = -1  # the lender index of the patron
PATRON_NAME = "the patron"
LOANS_SHOWN = 3


def owed(pebbles: int, term: int) -> int:
    """What a loan of `pebbles` over `term` turns costs the borrower in all."""
    return pebbles + max(1, math.ceil(pebbles * RATE * term))


def lender_name(s: WoodState, k: int) -> str:
    return PATRON_NAME if k == PATRON else s.names[k]


def due_now(s: WoodState) -> np.ndarray:
    """(N,) pebbles each creature must repay at the start of this turn's apply."""
    due = np.zeros(len(s.names), dtype=np.int64)
    for loan in s.loans:
        if loan["due"] <= s.turn:
            due[loan["to"]] += loan["owed"]
    return due


def lend(s: WoodState, lender: int, borrower: int, pebbles: int, term: int) -> dict:
    """Move the pebbles (from the patron's purse when lender is PATRON) and record the loan. The caller
    has checked the lender holds them. Returns the `loan` event."""
    if lender == PATRON:
        s.purse -= pebbles
    else:
        s.pebbles[lender] -= pebbles
    s.pebbles[borrower] += pebbles
    loan = {"from": lender, "to": borrower, "pebbles": pebbles, "owed": owed(pebbles, term), "due": s.turn + term}
    s.loans = s.loans + [loan]
    return {"kind": "loan", "from": lender_name(s, lender), "to": s.names[borrower], "pebbles": pebbles,
            "owed": loan["owed"], "due": loan["due"]}


def collect(s: WoodState, events: list[dict]) -> None:
    """Loans due this turn are repaid from the borrower's pebbles, or defaulted in public."""
    kept = []
    for loan in s.loans:
        if loan["due"] > s.turn:
            kept.append(loan)
            continue
        lender, borrower, debt = loan["from"], loan["to"], loan["owed"]
        paid = min(debt, int(s.pebbles[borrower]))
        s.pebbles[borrower] -= paid
        if lender == PATRON:
            s.purse += paid
        else:
            s.pebbles[lender] += paid
        who, whom = s.names[borrower], lender_name(s, lender)
        if paid == debt:
            events.append({"kind": "repaid", "from": who, "to": whom, "pebbles": paid})
        else:
            s.defaulted[borrower] += 1
            events.append({"kind": "default", "from": who, "to": whom, "owed": debt, "paid": paid})
        if lender != PATRON:
            memory.remember(s, lender, who, memory.KEPT if paid == debt else memory.BROKE)
    s.loans = kept


def debts_line(s: WoodState, owing: list[dict], owed_to: list[dict]) -> str:
    """What a creature owes (the loans `owing`) and is owed (`owed_to`), soonest first, a few of each."""
    owes = sorted((loan["due"], lender_name(s, loan["from"]), loan["owed"]) for loan in owing)
    lent = sorted((loan["due"], s.names[loan["to"]], loan["owed"]) for loan in owed_to)
    parts = [f"you owe {who} {n} pebbles on turn {due}" + (" (now, before the market)" if due <= s.turn else "")
             for due, who, n in owes[:LOANS_SHOWN]]
    parts += [f"{who} owes you {n} on turn {due}" for due, who, n in lent[:LOANS_SHOWN]]
    return ("Debts: " + "; ".join(parts) + ".") if parts else ""
