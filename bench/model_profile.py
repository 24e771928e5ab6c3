"""`python -m bench model --profile`: where a model turn's time goes, split into parts one run measures.

A turn is one batched generation: prefill of every prompt (the shared briefing is a cached prefix, the
observation is paid per agent), then decode steps until the longest reply ends. Each part is measured on
asks from a fresh turn of a scripted run, so prefix caching sees what it sees in play (new observations,
the same briefing), never a prompt it has already cached whole:

- prefill: the same asks with max_tokens=1;
- decode step: (full turn - prefill) / (steps - 1), steps = the longest reply in tokens;
- grammar: the per-step difference between constrained decoding and the same step count unconstrained
  (ignore_eos, so both run the same steps);
- arithmetic floor: 2 x parameters x agents FLOPs per decode step at the matmul rate torch reaches here
  (the share of a step that is the model's own arithmetic; the rest is Python, scheduling, sampling).
"""
from __future__ import annotations

import json
import statistics
import struct
import time
from pathlib import Path

import jsonschema

from sim.policy import Ask


def fresh_asks(n: int, turn: int) -> list[Ask]:
    """The asks of a scripted wood run of n creatures at `turn`: real observations, new at every turn."""
    from agents.policies import scripted
    from sim.engine import Engine
    from sim.policy import PolicyOptions
    from worlds.wood import WoodWorld

    world = WoodWorld(agents=n)
    engine = Engine(world, scripted(PolicyOptions(seed=turn)), seed=turn)
    for _ in engine.run(turn):
        pass
    return [Ask(world, engine.state, agent, turn) for agent in world.agents(engine.state)]


def turn(backend, asks: list[Ask], sequential: bool = False, keep_replies: bool = False) -> dict:
    """One turn for these asks, timed; token means and reply quality (valid JSON within the schema, and the
    share the parse path turns into no-ops); `keep_replies`: also the replies' texts."""
    from sim.parse import parse

    start, cpu_start = time.perf_counter(), time.process_time()
    if sequential:
        replies = [r for ask in asks for r in backend.generate(0, [ask])]
    else:
        replies = backend.generate(0, asks)
    seconds = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    valid = sum(_valid(r.text, ask.schema) for ask, r in zip(asks, replies))
    noop = sum(parse(r, a._world, a._state, a.agent, a)[0].status == "noop" for a, r in zip(asks, replies))
    result = {
        "agents": len(asks),
        "seconds": round(seconds, 2),
        # CPU time of this process (every thread): what the turn cost when other processes share the cores
        "cpu_s": round(cpu_s, 2),
        "decisions_per_s": round(len(asks) / seconds, 2),
        "prompt_tokens": _mean(r.prompt_tokens for r in replies),
        "output_tokens": _mean(r.output_tokens for r in replies),
        "valid_json": round(valid / len(asks), 3),
        "noop": round(noop / len(asks), 3),
        "errors": sum(r.error is not None for r in replies),
    }
    if keep_replies:
        result["replies"] = [r.text for r in replies]
    return result


def _generate(backend, asks: list[Ask], **override) -> tuple[float, list]:
    from agents.prompts import messages

    params = []
    for ask in asks:
        p = backend._params(0, ask)
        for key, value in override.items():
            setattr(p, key, value)
        params.append(p)
    start = time.perf_counter()
    outs = backend._llm.chat([messages(a) for a in asks], params, use_tqdm=False)
    return time.perf_counter() - start, outs


def matmul_gflops(seconds: float = 1.0) -> float:
    """The float32 matmul rate torch reaches on this machine at a decode-like shape (few rows, wide)."""
    import torch

    a, b = torch.randn(8, 576), torch.randn(576, 1536)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            a @ b
        n += 200
    return 2 * 8 * 576 * 1536 * n / (time.perf_counter() - start) / 1e9


def profile(backend, agents: int = 5, repeats: int = 3) -> dict:
    """Medians over `repeats` fresh turns of each part, in seconds."""
    rows = []
    params = parameter_count(backend.model)
    for r in range(repeats):
        asks = fresh_asks(agents, 3 + 2 * r)
        full_s, outs = _generate(backend, asks)
        steps = max(len(o.outputs[0].token_ids) for o in outs)
        prefill_s, _ = _generate(backend, fresh_asks(agents, 4 + 2 * r), max_tokens=1)
        free_s, _ = _generate(backend, fresh_asks(agents, 40 + r), max_tokens=steps, ignore_eos=True,
                              structured_outputs=None)
        free_prefill_s, _ = _generate(backend, fresh_asks(agents, 60 + r), max_tokens=1, structured_outputs=None)
        rows.append({"full_s": full_s, "prefill_s": prefill_s, "steps": steps,
                     "step_s": (full_s - prefill_s) / max(steps - 1, 1),
                     "free_step_s": (free_s - free_prefill_s) / max(steps - 1, 1),
                     "prompt_tokens": statistics.mean(len(o.prompt_token_ids) for o in outs),
                     # what prefix caching served: the briefing and the turn's news, shared by every agent
                     "cached_tokens": statistics.mean(o.num_cached_tokens or 0 for o in outs),
                     "output_tokens": statistics.mean(len(o.outputs[0].token_ids) for o in outs)})
    med = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
    gflops = matmul_gflops()
    floor_s = 2 * params * agents / (gflops * 1e9) if params else float("nan")
    med.update(agents=agents, parameters=params, matmul_gflops=round(gflops, 1), arithmetic_floor_step_s=floor_s,
               grammar_step_s=med["step_s"] - med["free_step_s"], spread_full_s=_spread([r["full_s"] for r in rows]))
    return med


def prefix_cost(backend, agents: int = 50, rounds: int = 4) -> dict:
    """What the cached prefix costs the tokens after it: a turn's prompts (briefing and news from the prefix
    cache, each creature's own text new) against the same creatures' own text alone, as bare prompts with
    nothing cached, prefilled (max_tokens=1) in alternating rounds on fresh asks. Same new tokens; the turn's
    attend over the ~540 cached positions before them as well. Medians of the rounds after the first."""
    from vllm import SamplingParams

    from agents.prompts import messages

    one = SamplingParams(max_tokens=1)
    seconds: dict[str, list[float]] = {"turn": [], "bare": []}
    tokens: dict[str, tuple[float, float]] = {}
    for r in range(rounds):
        for kind in ("turn", "bare"):
            asks = fresh_asks(agents, 3 + r + (30 if kind == "bare" else 0))
            start = time.perf_counter()
            if kind == "turn":
                outs = backend._llm.chat([messages(a) for a in asks], one, use_tqdm=False)
            else:  # a round and place mark keeps every bare prompt new to the prefix cache
                outs = backend._llm.generate([f"{a.observation}\n({r}, {i})" for i, a in enumerate(asks)], one,
                                             use_tqdm=False)
            seconds[kind].append(time.perf_counter() - start)
            tokens[kind] = (statistics.mean(len(o.prompt_token_ids) - (o.num_cached_tokens or 0) for o in outs),
                            statistics.mean(o.num_cached_tokens or 0 for o in outs))
    out = {"agents": agents, "rounds": rounds}
    for kind, times in seconds.items():
        new, cached = tokens[kind]
        median = statistics.median(times[1:])
        out[kind] = {"new_tokens": round(new, 1), "cached_tokens": round(cached, 1), "prefill_s": round(median, 2),
                     "ms_per_new_token": round(median / (agents * new) * 1000, 3), "rounds_s": [round(t, 2) for t in times]}
    out["ratio"] = round(out["turn"]["ms_per_new_token"] / out["bare"]["ms_per_new_token"], 2)
    return out


def prefix_table(p: dict) -> str:
    rows = ["| prompts | new tokens each | cached tokens each | prefill | ms a new token |", "|---|---:|---:|---:|---:|"]
    for kind, label in (("turn", "a turn's (briefing and news cached)"), ("bare", "each creature's own text alone")):
        k = p[kind]
        rows.append(f"| {label} | {k['new_tokens']:.0f} | {k['cached_tokens']:.0f} | {k['prefill_s']:.2f} s | "
                    f"{k['ms_per_new_token']:.3f} |")
    return "\n".join(rows) + f"\n\nA new token after the cached prefix costs {p['ratio']}x one with nothing before it."


def parameter_count(model: str) -> int:
    """Weights in a local safetensors folder, read from the files' headers (0 for a hub id)."""
    total = 0
    for path in Path(model).glob("*.safetensors") if Path(model).is_dir() else ():
        with path.open("rb") as f:
            header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        for name, tensor in header.items():
            if name != "__metadata__":
                n = 1
                for dim in tensor["shape"]:
                    n *= dim
                total += n
    return total


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def table(p: dict) -> str:
    decode_s = p["step_s"] * (p["steps"] - 1)
    lines = [f"{p['agents']} agents, {p['prompt_tokens']:.0f} prompt ({p['cached_tokens']:.0f} of them from the prefix "
             f"cache) / {p['output_tokens']:.0f} output tokens per decision, {p['steps']:.0f} decode steps (the longest reply); turn {p['full_s']:.2f} s "
             f"(spread {p['spread_full_s']}); matmul {p['matmul_gflops']} GFLOP/s", "",
             "| part | seconds | share of turn |", "|---|---|---|",
             f"| prefill (every prompt, briefing cached) | {p['prefill_s']:.2f} | {p['prefill_s'] / p['full_s']:.0%} |",
             f"| decode ({p['steps'] - 1:.0f} steps x {p['step_s'] * 1000:.0f} ms) | {decode_s:.2f} | "
             f"{decode_s / p['full_s']:.0%} |",
             f"| of a step: grammar (constrained - free) | {p['grammar_step_s'] * 1000:.0f} ms | "
             f"{p['grammar_step_s'] / p['step_s']:.0%} of a step |"]
    if p["parameters"]:
        floor_ms = p["arithmetic_floor_step_s"] * 1000
        lines.append(f"| of a step: the model's arithmetic at the matmul rate | {floor_ms:.1f} ms"
                     f" | {p['arithmetic_floor_step_s'] / p['step_s']:.0%} of a step |")
    return "\n".join(lines)


def _valid(text: str | None, schema: dict) -> bool:
    try:
        jsonschema.validate(json.loads(text), schema)
    except (TypeError, ValueError, jsonschema.ValidationError):
        return False
    return True


def _mean(values) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.mean(known), 1) if known else None
