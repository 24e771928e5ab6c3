"""The web demo under load: 20 sessions at once on loopback, each with its own world. None is blocked,
none sees another's world or rumour, and the server keeps a bounded number of worlds once they leave."""
from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import free_port

from sim.trace import load_trace

pytestmark = pytest.mark.browser
SESSIONS = 20


KEPT = 5  # live worlds the server keeps once their tabs have gone quiet
GRACE = 3.0  # seconds a quiet world is safe from being closed to make room


@pytest.fixture(scope="module")
def server():
    from render.web.demo import build_demo
    from render.web.session import Sessions

    port = free_port()
    sessions = Sessions(limit=KEPT, grace_s=GRACE)
    demo = build_demo(policy="scripted", sessions=sessions)
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", sessions
    demo.close()


def play_one(url: str, seed: int, results: dict) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    try:
        job = client.submit(0.0, "wood", 5, seed, "scripted", "auto", "", api_name="/play")
        rumour_sent = False
        deadline = time.monotonic() + 300  # twenty worlds share two cores: a tab may wait its turn
        for out in job:
            turns = out[2].count('class="turn"') if isinstance(out[2], str) else 0
            if seed == 0 and turns >= 1 and not rumour_sent:
                client.predict("the owls are buying all the honey", api_name="/rumour")
                rumour_sent = True
            if turns >= 3 or time.monotonic() > deadline:
                break
        client.predict(api_name="/pause")
        final = job.result(timeout=120)  # the last yield: job.outputs() can lag behind it on a busy machine
        results[seed] = load_trace(final[5])
    finally:
        client.close()


def test_twenty_sessions_at_once_stay_isolated_and_memory_stays_bounded(server):
    from gradio_client import Client

    server, sessions = server
    results: dict[int, tuple] = {}
    threads = [threading.Thread(target=play_one, args=(server, seed, results)) for seed in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a session was blocked"
    assert sorted(results) == list(range(SESSIONS))
    for seed, (header, turns) in results.items():
        assert header["seed"] == seed and len(turns) >= 3  # each tab played its own world
        rumours = [e for t in turns for e in t.events if e["kind"] == "legend" and e["name"] == "rumour"]
        assert (len(rumours) == 1) == (seed == 0)  # the player's rumour reached only the player's world
    assert len({str(turns[2].state) for _, turns in results.values()}) == SESSIONS
    # the twenty clients left without a word; the next newcomer closes all but the most recent idle worlds
    time.sleep(GRACE)
    newcomer = Client(server, verbose=False)
    newcomer.predict("wood", 5, 99, "scripted", "auto", "", api_name="/step")
    newcomer.close()
    assert len(sessions.live) <= KEPT
    assert all(s.dir.exists() for s in sessions.live.values())


def test_the_pool_closes_the_least_recently_used_quiet_worlds_and_deletes_their_files():
    from render.web.session import Session, Sessions
    from sim.config import RunConfig

    pool = Sessions(limit=2, grace_s=0.0)
    worlds = []
    for seed in range(4):
        worlds.append(pool.add(Session(RunConfig(policy="scripted", seed=seed), None)))
        worlds[-1].step()
        time.sleep(0.01)  # distinct "last used" times
    worlds[3].playing = True  # a playing world is never closed
    pool.add(Session(RunConfig(policy="scripted", seed=9), None))
    # five live worlds, limit two: the newcomer and the playing one stay, the three quiet ones go
    closed = [w for w in worlds if w.closed]
    assert closed == worlds[:3] and all(not w.dir.exists() for w in closed)
    assert worlds[3].dir.exists() and len(pool.live) == 2


def test_the_pool_also_bounds_the_creatures_it_keeps():
    """Big worlds cost more: beyond the creature budget quiet worlds close even below the world limit."""
    from render.web.session import Session, Sessions
    from sim.config import RunConfig

    pool = Sessions(limit=10, grace_s=0.0, creatures=250)
    worlds = []
    for seed in range(4):
        worlds.append(pool.add(Session(RunConfig(policy="scripted", seed=seed, agents=100), None)))
        time.sleep(0.01)
    # 400 creatures against a budget of 250: the two oldest quiet worlds close, the newest two stay
    assert [w.closed for w in worlds] == [True, True, False, False]
    assert sum(s.size for s in pool.live.values()) == 200
