"""The engine bench's phase table: every phase timed, nested phases inside their parents, and the code the
timers wrapped left as it was."""
import sim.engine
from bench.engine_phases import phases
from worlds.wood import credit, memory, offers


def test_phases_time_each_part_of_a_turn_and_put_the_code_back():
    wrapped = (sim.engine.parse_all, sim.engine.clean_reply, offers.settle, credit.collect, memory.remember_fuel)
    table = dict(phases(20, 3))
    assert table["whole turn"] > 0 and table["apply"] > 0 and table["read replies (batch path)"] > 0
    assert table["  market"] <= table["apply"] and table["  own_actions"] <= table["read replies (batch path)"]
    assert list(table)[-2:] == ["the rest", "whole turn"]
    assert (sim.engine.parse_all, sim.engine.clean_reply, offers.settle, credit.collect,
            memory.remember_fuel) == wrapped
