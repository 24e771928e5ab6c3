"""What every fault fuzz (bench/fuzz_bench.py, bench/fuzz_forks.py) is made of: hostile replies, damaged
files, and the checks that a command was refused in one line and that a trace on disk is sound."""
from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path

import orjson

from sim.cli import main as cli

SEEDS_OF_TEXT = ['{"orders": [{"side": "sell", "good": "honey", "qty": 2, "price": 9}], "say": "hi"}',
                 '{"catch": 3, "say": "easy now"}', '{"guess": 42}', "[]", "null", "NaN", '"orders"']


def mutate(text: str, rnd: random.Random) -> str:
    """One random damage: cut, insert, delete, duplicate, nest, or replace with noise."""
    k = rnd.randrange(7)
    i = rnd.randrange(len(text) + 1)
    if k == 0:
        return text[:i]
    if k == 1:
        return text[:i] + rnd.choice(['"', "{", "}", "[", "]", ",", ":", "\\", "\x00", "NaN", "1e999", "-"]) + text[i:]
    if k == 2:
        return text[:i] + text[i + rnd.randrange(1, 6):]
    if k == 3:
        return text + text[: rnd.randrange(len(text) + 1)]
    if k == 4:
        return json.dumps({"reply": text}) if rnd.random() < 0.5 else "{" * 300 + text + "}" * rnd.randrange(300)
    if k == 5:
        return "".join(chr(rnd.randrange(0, 0x3000)) for _ in range(rnd.randrange(1, 80)))
    return text.replace(str(rnd.randrange(10)), str(rnd.choice([-1, 10**30, 2.5, "x"])))


def hostile_text(rnd: random.Random) -> str | None:
    """A reply no model should send: mutated JSON, lone surrogates, huge or non-finite numbers, deep nesting."""
    k = rnd.randrange(6)
    if k == 0:
        return mutate(rnd.choice(SEEDS_OF_TEXT), rnd) + "\ud800" * rnd.randrange(3)
    if k == 1:
        return json.dumps({"orders": [{"side": "sell", "good": "honey", "qty": 10 ** rnd.randrange(40),
                                       "price": rnd.choice([1e308, -0.0, 2**70])}], "say": "x\udfff"})
    if k == 2:
        n = rnd.randrange(1, 30_000)
        return "[" * n + "]" * n
    if k == 3:
        return "".join(chr(rnd.randrange(0xD800, 0xE000)) for _ in range(rnd.randrange(1, 20)))
    if k == 4:
        return json.dumps({"catch": rnd.choice([10**30, float("nan"), -1, "3"])}, ensure_ascii=rnd.random() < 0.5)
    return None


def sound(out: Path) -> bool:
    try:
        lines = (out / "trace.jsonl").read_bytes().splitlines()
        if orjson.loads(lines[0]).get("kind") != "header":
            return False
        for line in lines[1:]:
            orjson.loads(line)
    except (OSError, ValueError, IndexError):
        return False
    return quiet(["replay", str(out / "trace.jsonl")])[0] == 0


def quiet(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli(argv)
    return code, err.getvalue()


def damage(path: Path, rnd: random.Random) -> None:
    data = path.read_bytes()
    at = rnd.randrange(len(data) + 1)
    k = rnd.randrange(5)
    if k == 0:
        path.write_bytes(data[:at])
    elif k == 1:
        path.write_bytes(data[:at] + bytes([rnd.randrange(256)]) + data[at + 1:])
    elif k == 2:
        path.write_bytes(data + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200))))
    elif k == 3:
        path.write_bytes(json.dumps(rnd.choice([[], {}, {"turn": 3}, "x", 10**30])).encode())
    else:
        path.unlink()
