"""A person takes a seat in the viewers: the pygame window headless (SDL's dummy driver, posted keys), the
web demo through gradio_client and in headless Chromium (Playwright). The other creatures play scripted."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.conftest import chromium_page

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


def until(probe, timeout: float = 30.0, every: float = 0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = probe()
        if found:
            return found
        time.sleep(every)
    raise AssertionError("timed out")


# --- the window --------------------------------------------------------------------------------------
def test_window_seat_takes_a_creature_fills_its_form_and_submits():
    pygame = pytest.importorskip("pygame")
    from render.window import viewer as window
    from render.window.seat import WindowSeat
    from sim.config import RunConfig

    def key(k, text=""):
        return pygame.event.Event(pygame.KEYDOWN, key=k, unicode=text, mod=0)

    source = window.LiveTurns(RunConfig(world="wood", agents=4, seed=5, policy="scripted"), turns=None)
    screen = window.open_window((640, 400))
    try:
        player = window.Player(source, frames_per_turn=2, seat=WindowSeat(source, timeout=20))
        window.loop(player, screen, frames=1, fps=0, events={0: [key(pygame.K_t, "t")]})
        who = player.seat.seating.who
        assert who == source.world.agents(source.engine.state)[0] and player.seat.seating.seat is not None

        def asked():
            window.loop(player, screen, frames=1, fps=0)
            return player.seat.asked

        question = until(asked)
        assert question.who == who and question.fields[0].kind == "count"
        # one order (→ on "how many"), then down to "say" and type; enter submits
        say_at = next(k for k, f in enumerate(question.fields) if f.path == ("say",))
        keys = [key(pygame.K_RIGHT), *[key(pygame.K_DOWN)] * say_at, *[key(ord(c), c) for c in "hi all"],
                key(pygame.K_RETURN)]
        window.loop(player, screen, frames=1, fps=0, events={0: keys})
        assert "answered for turn" in player.note
        panel_shown = pygame.surfarray.array3d(screen)[-200:, 20].tolist()  # the panel's pale paper at the right

        def mine():
            window.loop(player, screen, frames=1, fps=0)
            found = [d for d in (player.turn.decisions if player.turn else []) if d.agent == who]
            return found and found[0].backend == "human" and found[0]

        decision = until(mine)
        assert (decision.status, decision.action["say"], len(decision.action["orders"])) == ("valid", "hi all", 1)
        assert all(d.backend == "scripted" for d in player.turn.decisions if d.agent != who)
        assert any(sum(px) > 700 for px in panel_shown)
        # t again: the next creature; the first is back on its policy
        window.loop(player, screen, frames=1, fps=0, events={0: [key(pygame.K_t, "t")]})
        assert player.seat.seating.who != who
        player.seat.leave()
    finally:
        source.close()
        pygame.display.quit()


def test_window_seat_times_out_into_a_recorded_noop():
    pytest.importorskip("pygame")
    from render.window import viewer as window
    from render.window.seat import WindowSeat
    from sim.config import RunConfig

    source = window.LiveTurns(RunConfig(world="template", agents=3, seed=1, policy="scripted"), turns=3)
    try:
        seat = WindowSeat(source, timeout=0.3)
        assert "player0" in seat.cycle()
        turns = [until(lambda: source.next(0.1)) for _ in range(3)]  # the engine may be a turn ahead of the seat
        mine = [d for t in turns for d in t.decisions if d.agent == "player0" and d.backend == "human"]
        assert mine and turns[-1].decisions[0] in mine
        assert {(d.status, d.reason) for d in mine} == {("noop", "the seat did not answer within 0.3 s")}
        seat.leave()
    finally:
        source.close()


# --- the web demo ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(scripted_demo):
    return scripted_demo


def test_web_seat_through_gradio_client(server):
    client_mod = pytest.importorskip("gradio_client")
    client = client_mod.Client(server, verbose=False)
    conf = ("wood", 4, 2, "scripted", "auto", "")
    client.predict(*conf, api_name="/reset")
    assert "error" in client.predict("Nobody", 30, api_name="/seat_take")[0]
    said = client.predict("Bramble", 30, api_name="/seat_take")[0]
    assert "you play Bramble" in said, said
    job = client.submit(*conf, api_name="/step")  # the step waits for the seat
    asked = json.loads(until(lambda: client.predict(api_name="/seat_question")))
    assert asked["who"] == "Bramble" and "orders: how many" in asked["fields"]
    reply = '{"orders": [], "say": "from the web"}'
    assert "answered for turn 0" in client.predict(reply, api_name="/seat_answer")
    log = job.result(timeout=60)[2]
    assert "Bramble" in log and "👤 human" in log and "from the web" in log
    # a second tab is isolated: its own world, no seat
    other = client_mod.Client(server, verbose=False)
    assert other.predict(api_name="/seat_question") == ""
    client.predict(api_name="/seat_leave")
    log = client.predict(*conf, api_name="/step")[2]
    assert log.count("👤 human") == 1  # turn 1 was played by the policy
    # Reset while the world waits on the seat: the wait ends at once (no turn holds the tab for a minute)
    client.predict("Bramble", 300, api_name="/seat_take")
    job = client.submit(*conf, api_name="/step")
    until(lambda: client.predict(api_name="/seat_question"))
    began = time.monotonic()
    client.predict(*conf, api_name="/reset")
    assert time.monotonic() - began < 30
    until(job.done, timeout=30)  # the old world's step ended too (its tab has a new world now)


@pytest.mark.browser
def test_web_seat_in_chromium(server, tmp_path: Path):
    with chromium_page(server, viewport={"width": 1400, "height": 1400}) as page:
        page.locator("#reset").click()
        page.wait_for_function("document.querySelector('#status').innerText.includes('ready')", timeout=30_000)
        page.locator("#seat").get_by_text("Take a seat").first.click()
        page.locator("#seat-who input").click()
        page.get_by_role("option", name="Thorn").click()
        page.click("#seat-take")
        page.wait_for_function("document.querySelector('#seat-note').innerText.includes('you play Thorn')",
                               timeout=30_000)
        page.click("#step")
        page.locator("#seat-submit").wait_for(timeout=30_000)
        assert "pebbles" in page.locator("#seat-observation").inner_text().lower()
        # no orders yet: the slots are hidden until "how many" reaches them (fields 1-4 the first, 5-8 the second)
        assert page.locator("#seat-field-1").is_hidden() and page.locator("#seat-field-5").is_hidden()
        page.locator("#seat-field-0").get_by_text("1", exact=True).click()  # one order, as the form proposes
        page.locator("#seat-field-1").wait_for(state="visible", timeout=10_000)
        assert page.locator("#seat-field-4").is_visible() and page.locator("#seat-field-5").is_hidden()
        page.locator("#seat-field-13 textarea").fill("a bid from a person")
        # the offer is a variant (for pebbles, or in barter): no branch shows until one is chosen, then only its
        # fields (14 chooses; 15-18 price: to, good, qty, price; 19-23 barter: to, good, qty, want, wqty)
        assert page.locator("#seat-field-15").is_hidden() and page.locator("#seat-field-19").is_hidden()
        page.locator("#seat-field-14 input").click()
        page.get_by_role("option", name="want+wqty").click()
        page.locator("#seat-field-23").wait_for(state="visible", timeout=10_000)
        assert page.locator("#seat-field-15").is_hidden() and page.locator("#seat-field-19").is_visible()
        page.screenshot(path=tmp_path / "seat-form.png", full_page=True)
        page.click("#seat-submit")
        page.wait_for_function("document.querySelector('#log').innerText.includes('human')", timeout=30_000)
        line = page.locator("#log .turn").first.inner_text()
        assert "Thorn" in line and "human" in line and "a bid from a person" in line
        page.screenshot(path=tmp_path / "seat-log.png", full_page=True)
