"""Memory without model calls: what others did to each creature, kept in the state as a few counts per
counterpart, and told back to it as one short line of its observation.

Each creature remembers at most MEMORY counterparts (the most recently met; an older one is forgotten), and
for each how many promises it kept and broke (a deal settled or failed after being accepted, a loan repaid
or defaulted), how much firewood it sold this creature in winter, and how many pebbles it gave. Defaults
are public: every creature knows who defaulted and how often (`WoodState.defaulted`). The digest is built
from the state alone, so replaying a trace rebuilds every prompt exactly.
"""
from __future__ import annotations

from worlds.wood.state import WoodState

MEMORY = 4  # counterparts one creature remembers
KEPT, BROKE, FUEL, GIFTS = 1, 2, 3, 4  # columns of a memory entry [name, kept, broke, fuel, gifts]
DEFAULTERS_SHOWN = 3
DIGEST_CHARS = 220


def remember(s: WoodState, i: int, who: str, column: int, amount: int = 1) -> None:
    """Creature i notes what `who` did to it; `who` becomes its most recent memory."""
    entries = s.memory[i]
    for n, e in enumerate(entries):
        if e[0] == who:  # known: moved to the end, as a new entry (entries are never changed in place)
            new = list(e)
            new[column] += int(amount)
            s.memory[i] = entries[:n] + entries[n + 1:] + [new]
            return
    new = [who, 0, 0, 0, 0]
    new[column] += int(amount)
    s.memory[i] = (entries + [new])[-MEMORY:]


def remember_fuel(s: WoodState, buyers: list[tuple[int, int]], sellers: list[tuple[int, int]]) -> None:
    """Winter firewood that changed hands at the market: the call auction matches no pairs, so buyers and
    sellers are paired in the order the auction filled them, unit by unit."""
    b, k, left_b, left_k = 0, 0, 0, 0
    while b < len(buyers) and k < len(sellers):
        left_b = left_b or buyers[b][1]
        left_k = left_k or sellers[k][1]
        units = min(left_b, left_k)
        if buyers[b][0] != sellers[k][0]:
            remember(s, buyers[b][0], s.names[sellers[k][0]], FUEL, units)
        left_b, left_k = left_b - units, left_k - units
        b, k = b + (left_b == 0), k + (left_k == 0)


def digest(s: WoodState, i: int, neighbours: tuple[int, ...]) -> str:
    """One bounded line: what creature i remembers, newest first (promises kept and broken, firewood sold it in
    winter, pebbles given), and which creatures it knows of (its neighbours and those it remembers) have
    defaulted. Each deed is said once for all counterparts, since every word is read by every creature every
    turn. Empty when there is nothing to tell."""
    newest = list(reversed(s.memory[i]))
    promises = [f"{who} {kept}" + (f" (broke {broke})" if broke else "")
                for who, kept, broke, _, _ in newest if kept or broke]
    fuel = [f"{who} {n}" for who, _, _, n, _ in newest if n]
    gifts = [f"{who} {n}" for who, _, _, _, n in newest if n]
    known = [s.names[j] for j in neighbours] + [e[0] for e in s.memory[i]]
    at = s.position
    defaulters = [f"{who} ({int(s.defaulted[at[who]])})" for who in dict.fromkeys(known)
                  if who in at and s.defaulted[at[who]] > 0][:DEFAULTERS_SHOWN]
    said = [(f"Promises kept: {', '.join(promises)}." if promises else ""),
            (f"Sold you firewood in winter: {', '.join(fuel)}." if fuel else ""),
            (f"Gave you pebbles: {', '.join(gifts)}." if gifts else ""),
            (f"Defaulted on loans: {', '.join(defaulters)}." if defaulters else "")]
    return " ".join(part for part in said if part)[:DIGEST_CHARS]
