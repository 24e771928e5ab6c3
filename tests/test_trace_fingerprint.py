"""A scripted wood's whole trace, pinned: every byte of every turn line (states, decisions with their reply
text, events, metrics) but the wall-clock seconds, and the header but the installed versions. The engine's
fast paths (the batch reading of the world's own decisions, the wood's rules over numpy columns) must leave
the run exactly as it was; the digests were taken from the code before those paths were sped up (main at
6800911, with the one intervention queue; the turn lines are those aa862d9 wrote too, the header now lists
interventions)."""
import hashlib
import json

import pytest

from agents.policies import scripted
from sim import Engine, intervention
from sim.policy import PolicyOptions
from worlds.wood import WoodWorld

LEGENDS = {3: ["early_frost"], 8: ["bank_run"], 12: ["tulip_mania"]}
PATRONS = {4: [intervention.patron({"do": "lend", "to": "Clover", "pebbles": 20})],
           6: [intervention.patron({"do": "bribe", "to": "Moss", "pebbles": 5, "text": "for your honey"})],
           9: [intervention.patron({"do": "whisper", "to": "Fern", "text": "Firewood will be dear"})]}
DIGESTS = {  # sha256 of the trace as described above, 50 creatures, 20 turns, seed 5
    True: "a4dd7c2b17e8895d2ab566f31ffcf522f3b954e59321e18be02cbc3bac7694d9",
    False: "f98782d9c43902bad731fc27ae407303a0d70fc8d3d477c9abdd3d429b39c119",
}


def trace_digest(out, second_act: bool) -> str:
    world = WoodWorld(agents=50, second_act=second_act)
    engine = Engine(world, scripted(PolicyOptions(seed=5)), seed=5, out=out, legends=LEGENDS,
                    interventions=PATRONS if second_act else None)
    for _ in engine.run(20):
        pass
    h = hashlib.sha256()
    for line in (out / "trace.jsonl").read_text().splitlines():
        data = json.loads(line)
        data.pop("versions", None)
        data.get("metrics", {}).pop("turn_seconds", None)
        h.update(json.dumps(data).encode() + b"\n")
    return h.hexdigest()


@pytest.mark.parametrize("second_act", [True, False])
def test_a_scripted_trace_is_what_it_was(tmp_path, second_act):
    assert trace_digest(tmp_path, second_act) == DIGESTS[second_act]
