"""The wood's year: the worked example a model copies lays in firewood as the scripted trader does (one source
for both), and the year bench (bench/year.py) reads seasons, winters and the woodcutter's rank right."""
from __future__ import annotations

from agents.backends.scripted import ScriptedBackend
from agents.council import Council
from bench import year
from sim import Engine
from worlds.wood import WoodWorld, trader
from worlds.wood.state import FIREWOOD, FOODS, GOODS


def test_every_creature_without_fire_in_winter_is_shown_a_firewood_bid():
    """The example once only ever bought a food: a model council that copied it froze every winter."""
    world = WoodWorld(agents=5)
    engine = Engine(world, Council.of(ScriptedBackend(4)), seed=4)
    shown = 0
    for _ in range(40):
        s = engine.state
        if s.season == "winter":
            for i, name in enumerate(s.names):
                if s.trade[i] != FIREWOOD and s.stock[i, FIREWOOD] == 0 and s.pebbles[i] >= 2:
                    orders = world.suggestion(s, name)["orders"]
                    assert any(o[:2] == ["buy", "firewood"] for o in orders), (s.turn, name, orders)
                    shown += 1
        engine.step()
    assert shown > 0


def test_the_example_is_the_scripted_traders_orders_at_its_middle_draws(rng):
    world = WoodWorld(agents=5, second_act=False)
    s = world.initial_state(rng)
    for i, name in enumerate(s.names):
        draws = [0.5] * trader.DRAWS
        draws[0] = ((i + s.turn) % len(FOODS) + 0.5) / len(FOODS)
        expected = trader.choose(s, i, draws, world.outlook(s))["orders"]
        assert world.suggestion(s, name) == {"orders": expected}
        assert f"For example: {{\"orders\":" in world.observe(s, name)


def test_a_scripted_year_in_seasons_winters_and_ranks():
    run = year.play(Council.of(ScriptedBackend(0)), agents=5, turns=40, seed=0)
    seasons = year.seasons_of(run)
    assert [(y, s) for y, s, _ in seasons] == [(y, s) for y in (1, 2) for s in ("spring", "summer", "autumn", "winter")]
    assert run.season[15:20] == ["winter"] * 5 and run.season[14] == "autumn"
    assert len(year.fire_ratios(run)) == 2 and min(year.fire_ratios(run)) > 1  # fire is dear in the snow
    assert 0 <= year.winter_cold(run) <= 1
    assert 1 <= year.woodcutter_rank(run, 19) <= 5
    rows = year.season_rows([run])
    assert len(rows) == 8 and rows[3]["season"] == "winter" and rows[3]["fire_bids"] > rows[0]["fire_bids"]
    summary = year.overview([run])
    assert summary["decisions"] == 200 and summary["noop_pct"] == 0
    assert run.agency["decisions"] == 0  # the scripted council is the world's heuristic, not a model
    assert GOODS[run.trade[run.woodcutters()[0]]] == "firewood"


def test_every_viewer_tells_the_winter_in_the_title():
    world = WoodWorld(agents=5)
    engine = Engine(world, Council.of(ScriptedBackend(1)), seed=1)
    titles = [world.portray(engine.step()).theme.title for _ in range(20)]
    assert titles[0].startswith("Spring · winter in 14 turns · firewood 4.0 · woodcutter Thorn ")
    assert titles[13].startswith("Autumn · winter next turn")
    winter = titles[18]  # the state after the fourth winter turn
    assert winter.startswith("Winter · ") and "cold" in winter and "firewood" in winter and "woodcutter Thorn" in winter

