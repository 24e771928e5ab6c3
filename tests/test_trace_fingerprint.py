"""A scripted wood's whole trace, pinned: every byte of every turn line (states, decisions with their reply
text, events, metrics) but the wall-clock seconds, and the header but the installed versions. The engine's
fast paths (the batch reading of the world's own decisions, the wood's rules over numpy columns) must leave
the run exactly as it was; the digests were taken from the code before those paths were sped up."""
import hashlib
import json

import pytest

from agents.policies import scripted
from sim import Engine
from sim.policy import PolicyOptions
from worlds.wood import WoodWorld

LEGENDS = {3: ["early_frost"], 8: ["bank_run"], 12: ["tulip_mania"]}
PATRONS = {4: [{"do": "lend", "to": "Clover", "pebbles": 20}],
           6: [{"do": "bribe", "to": "Moss", "pebbles": 5, "text": "for your honey"}],
           9: [{"do": "whisper", "to": "Fern", "text": "Firewood will be dear"}]}
DIGESTS = {  # sha256 of the trace as described above, 50 creatures, 20 turns, seed 5
    True: "729796c69fc061820a358fda82e80729bcce7c93693f7123d11cbafffe7eeb64",
    False: "643eb01a6a0771eaf1712eac7d535fb424f3362e463df49c1d543ea413dddb3f",
}


def trace_digest(out, second_act: bool) -> str:
    world = WoodWorld(agents=50, second_act=second_act)
    engine = Engine(world, scripted(PolicyOptions(seed=5)), seed=5, out=out, legends=LEGENDS,
                    patrons=PATRONS if second_act else None)
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
