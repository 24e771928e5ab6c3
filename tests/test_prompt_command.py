"""`python -m sim prompt`: the exact messages and schema a model gets, from the same code the backends use."""
from __future__ import annotations

import json
import subprocess
import sys


from agents.policies import scripted
from agents.prompts import max_tokens_for, messages
from sim import Engine
from sim.cli import main
from sim.policy import Ask, PolicyOptions
from worlds.commons import CommonsWorld


def test_it_prints_what_a_backend_would_send(capsys):
    assert main(["prompt", "--world", "commons", "--agent", "Nell", "--seed", "4", "--turn", "3", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    engine = Engine(CommonsWorld(), scripted(PolicyOptions(seed=4)), seed=4)
    for _ in range(3):
        engine.step()
    ask = Ask(engine.world, engine.state, "Nell", 3)
    assert shown["messages"] == messages(ask) and shown["schema"] == ask.schema
    assert shown["max_tokens"] == max_tokens_for(ask.schema) and shown["turn"] == 3
    assert "Turn 3" in shown["messages"][1]["content"]


def test_plain_output_shows_each_message_and_the_schema(capsys):
    assert main(["prompt", "--world", "template"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- system ---\n") and "--- user ---\nTurn 0." in out
    schema = json.loads(out.split("tokens) ---\n", 1)[1])
    assert schema["properties"]["guess"]["anyOf"][0]["maximum"] == 100


def test_mistakes_are_one_line(capsys):
    assert main(["prompt", "--world", "commons", "--agent", "Nobody"]) == 2
    assert "no agent 'Nobody'" in capsys.readouterr().err
    assert main(["prompt", "--world", "commons", "--turn", "-1"]) == 2
    assert "--turn must be >= 0" in capsys.readouterr().err


def test_the_engine_does_not_import_agents():
    code = "import sys, sim.cli; sim.cli.Parser; print(sorted(m for m in sys.modules if m.split('.')[0] == 'agents'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
