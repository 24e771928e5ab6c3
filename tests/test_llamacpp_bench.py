"""`python -m bench llamacpp`: without a llama-server on PATH it says it skips llama.cpp (and runs, exit 0);
with one (built by hand, docs/RESULTS.md) the server really starts and honours each request's schema."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agents.backends.openai import portable
from bench import llamacpp_bench
from bench.model_profile import fresh_asks

ROOT = Path(__file__).resolve().parent.parent


def _path_without_server() -> str:
    """PATH minus every folder holding a llama-server, so the test means the same on a machine that has one."""
    return os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if d and not (Path(d) / llamacpp_bench.SERVER).exists())


def test_without_a_binary_llamacpp_is_skipped_with_one_line(tmp_path):
    out = tmp_path / "result.json"
    env = {**os.environ, "PATH": _path_without_server(), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench", "llamacpp", "--backends", "llamacpp", "--agents", "5",
                           "--turns", "1", "--json", str(out)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == llamacpp_bench.skip_line()
    assert "skipped, no llama-server binary on PATH" in done.stdout
    result = json.loads(out.read_text())
    assert result["skipped"] == llamacpp_bench.skip_line() and result["rows"] == []
    assert result["machine"]["lscpu"] == {} or result["machine"]["lscpu"]["flags"]


def test_an_unknown_backend_is_one_error_line():
    done = subprocess.run([sys.executable, "-m", "bench", "llamacpp", "--backends", "ollama"], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: unknown backend ollama (backends: vllm, llamacpp)"]


def test_a_reply_past_an_integer_bound_is_told_apart_from_other_breaches():
    ask = fresh_asks(5, 1)[0]
    lend = ask.schema["properties"]["lend"]["properties"]
    to = lend["to"]["enum"][0]
    too_many = {"orders": [], "lend": {"to": to, "pebbles": lend["pebbles"]["maximum"] + 1}}
    stranger = {"orders": [], "lend": {"to": "nobody", "pebbles": 1}}
    assert not llamacpp_bench._fits(too_many, ask.schema)
    assert llamacpp_bench._fits(too_many, llamacpp_bench.unbounded(ask.schema))
    assert not llamacpp_bench._fits(stranger, llamacpp_bench.unbounded(ask.schema))
    assert lend["pebbles"]["maximum"] < too_many["lend"]["pebbles"]  # unbounded() left the ask's schema alone


def test_the_schema_sent_takes_the_same_replies_without_items_false_beside_a_prefix():
    ask = fresh_asks(5, 1)[0]
    sent = portable(ask.schema)
    assert '"items": false' in json.dumps(ask.schema) and '"items": false' not in json.dumps(sent)
    buy = next(o for o in ask.schema["properties"]["orders"]["items"]["anyOf"]
               if o["prefixItems"][0]["enum"] == ["buy"])
    good = buy["prefixItems"][1]["enum"][0]
    for order, ok in ((["buy", good, 1, 1], True), (["buy", good, 1, 1, 1], False), (["buy", good, 1], False)):
        reply = {"orders": [order]}
        assert llamacpp_bench._fits(reply, ask.schema) is ok
        assert llamacpp_bench._fits(reply, sent) is ok
    assert portable({"prefixItems": [{}], "items": False}) == {"prefixItems": [{}], "items": False}  # no maxItems


@pytest.mark.model
@pytest.mark.skipif(shutil.which(llamacpp_bench.SERVER) is None, reason="no llama-server on PATH (docs/RESULTS.md)")
def test_llama_server_answers_wood_asks_within_their_schemas():
    # one thread: this checks replies, not speed, and ggml's spinning threads crawl on a busy shared machine
    result = llamacpp_bench.run([5], 1, ["llamacpp"], threads=1, say=lambda line: None)
    (row,) = result["rows"]
    assert row["backend"] == "llamacpp" and row["errors"] == 0 and row["not_json"] == 0
    assert row["outside_schema"] == 0, row
