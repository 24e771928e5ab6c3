"""`python -m sim describe --world NAME`: a world's parameters with their types, bounds and descriptions, its
legends, its metrics and a sample action schema, read from the world itself; mistakes are one `error:` line."""
import json

import pytest

from sim.cli import main
from sim.describe import param_facts
from worlds.commons.params import CommonsParams
from worlds.wood.params import WoodParams


def test_describe_lists_parameters_legends_metrics_and_a_schema(capsys):
    assert main(["describe", "--world", "commons"]) == 0
    out = capsys.readouterr().out
    assert "growth: float, > 0, <= 1, default 0.3 -- logistic regrowth rate" in out
    assert "capacity: int or none, >= 1" in out  # an optional parameter says so
    assert "dry_year: A Dry Year" in out and "outsider_fleet" in out
    metrics = out.split("metrics (")[1].split("action schema")[0]
    assert "stock" in metrics and "sustainability" in metrics and "llm_calls" in metrics
    schema = json.loads(out.split("turn 0):\n")[1].split("\n\nworked example")[0])
    assert schema["properties"]["catch"]["type"] == "integer"


def test_describe_as_json_names_choices_aliases_and_the_patron(capsys):
    assert main(["describe", "--world", "wood", "--agents", "3", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["agents"] == 3 and "bank_run" in facts["legends"] and "prices" in facts["metrics"]
    params = {p["name"]: p for p in facts["params"]}
    assert params["schema"]["type"] == "choice" and params["schema"]["choices"] == ["creature", "general"]
    assert params["pebbles"]["bounds"] == {"ge": 3, "le": 1_000_000} and params["second_act"]["type"] == "bool"
    assert facts["patron"]["type"] == "object"


def test_describe_reads_set_values_so_the_schema_matches_the_world_asked_for(capsys):
    assert main(["describe", "--world", "wood", "--set", "schema=general", "--json"]) == 0
    general = json.loads(capsys.readouterr().out)["schema"]
    assert main(["describe", "--world", "wood", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] != general


def test_param_facts_fill_defaults_and_descriptions():
    facts = {p["name"]: p for p in param_facts(CommonsParams)}
    assert facts["greedy"]["default"] == pytest.approx(1 / 3) and facts["collapse"]["bounds"] == {"ge": 0, "lt": 1}
    assert facts["capacity"]["optional"] and facts["capacity"]["default"] is None
    assert all(p["description"] for p in param_facts(WoodParams))


@pytest.mark.parametrize("argv, says", [
    (["--world", "nope"], "unknown world 'nope'"),
    (["--world", "commons", "--set", "growth=5"], "growth=5"),
    (["--world", "commons", "--set", "depth=3"], "no parameter 'depth'"),
    (["--world", "commons", "--agents", "0"], "agents must be a whole number"),
])
def test_describe_mistakes_are_one_error_line(capsys, argv, says):
    assert main(["describe", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err and err.count("\n") == 1
