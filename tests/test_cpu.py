"""The CPU plan: what the vLLM backend runs in, chosen from the processor's features."""
from agents import cpu

AVX2_EPYC = {"avx", "avx2", "fma", "f16c"}
XEON_AMX = AVX2_EPYC | {"avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile"}
EPYC_ZEN4 = AVX2_EPYC | {"avx512f", "avx512_bf16", "avx512_vnni"}
# what the int8 bench decided per kind of CPU (agents/cpu.py, top)
MEASURED = {"amx": False, "avx512_bf16": False, "avx2": False}


def unset(monkeypatch, *keys: str) -> None:
    """These variables unset for the test, and whatever the code under test sets them to undone after it
    (monkeypatch.delenv alone records nothing for a variable that is not set)."""
    for key in keys:
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)


def test_bf16_only_where_the_cpu_has_bf16_kernels():
    assert cpu.plan(AVX2_EPYC, {0, 1}).dtype == "float32"
    assert cpu.plan(AVX2_EPYC | {"avx512f"}, {0, 1}).dtype == "float32"
    assert cpu.plan(XEON_AMX, {0, 1}).dtype == "bfloat16"
    assert cpu.plan(AVX2_EPYC | {"avx512_bf16"}, {0, 1}).dtype == "bfloat16"


def test_threads_bind_every_core_the_process_may_use():
    assert cpu.plan(AVX2_EPYC, {0, 1}).threads_bind == "0-1"
    assert cpu.plan(AVX2_EPYC, {3}).threads_bind == "3"
    assert cpu.plan(AVX2_EPYC, {0, 1, 2, 5, 7, 8}).threads_bind == "0-2,5,7-8"


def test_the_plan_line_names_model_features_and_choice():
    line = cpu.plan(XEON_AMX, {0, 1}, compiler="/usr/bin/g++").line()
    assert line.startswith("cpu: ") and "amx_bf16" in line and "dtype bfloat16" in line and "2 threads" in line
    assert "compiled graphs" in line


def test_compiled_graphs_only_with_a_cpp_compiler_that_runs(monkeypatch, tmp_path):
    assert cpu.plan(AVX2_EPYC, {0, 1}, compiler="/usr/bin/g++").graphs
    eager = cpu.plan(AVX2_EPYC, {0, 1}, compiler=None)
    assert not eager.graphs and "eager (no C++ compiler" in eager.line()
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))  # torch.compile reads $CXX too
    assert cpu.cpp_compiler() is None and not cpu.plan(AVX2_EPYC, {0, 1}).graphs
    broken = tmp_path / "broken-cxx"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("CXX", str(broken))
    assert cpu.cpp_compiler() is None


def test_the_engine_runs_in_this_process_on_a_thread_per_core(monkeypatch):
    import os

    import torch

    unset(monkeypatch, "VLLM_ENABLE_V1_MULTIPROCESSING", "OMP_NUM_THREADS", "VLLM_USE_AOT_COMPILE",
          "VLLM_CPU_OMP_THREADS_BIND")
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(n))
    calls: list[int] = []
    cpu.apply(cpu.plan(AVX2_EPYC, {0, 1}))
    assert os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"  # no engine-core and worker processes spinning
    assert os.environ["OMP_NUM_THREADS"] == "2" and calls == [2]  # else vLLM cuts torch to one thread
    assert os.environ["VLLM_USE_AOT_COMPILE"] == "0"  # the compile cache that loads again on the next start
    assert cpu.omp_threads() == 2  # the most threads a turn then runs on


def test_omp_num_threads_is_read_as_a_positive_count(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu.omp_threads() == 1
    for junk in ("", "zero", "0", "-2"):
        monkeypatch.setenv("OMP_NUM_THREADS", junk)
        assert cpu.omp_threads() is None


def test_settings_the_user_made_win(monkeypatch):
    import os

    unset(monkeypatch, "VLLM_USE_AOT_COMPILE")
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "1")
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    cpu.apply(cpu.plan(AVX2_EPYC, {0, 1}))
    assert os.environ["VLLM_CPU_OMP_THREADS_BIND"] == "1"
    assert os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] == "1" and os.environ["OMP_NUM_THREADS"] == "1"


def test_threads_go_to_the_cores_other_processes_leave_free():
    assert cpu.threads_for(2, 0.0, 2) == 2
    assert cpu.threads_for(2, 0.4, 2) == 2  # a little background work is let pass
    assert cpu.threads_for(2, 1.0, 2) == 1  # one busy process: its core is left to it
    assert cpu.threads_for(2, 5.0, 2) == 1  # never fewer than one
    assert cpu.threads_for(8, 3.0, 8) == 5 and cpu.threads_for(8, 0.0, 4) == 4


def test_a_busy_process_on_one_of_our_cores_is_seen(tmp_path):
    """A real busy loop pinned to one of this process's cores: the next turn is planned without that core."""
    import os
    import subprocess
    import sys
    import time

    import pytest

    cores = tuple(sorted(os.sched_getaffinity(0)))
    if len(cores) < 2:
        pytest.skip("needs two cores")
    share = cpu.CoreShare(cores, len(cores))
    assert share.threads() == len(cores)  # the first turn: nothing measured yet
    rival = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cores[0]}}})\nwhile True: pass"])
    try:
        time.sleep(0.5)
        share.threads()  # the window starts once the rival runs
        time.sleep(2)
        assert share.threads() <= len(cores) - 1
    finally:
        rival.kill()
        rival.wait()


def test_torchs_kernel_cap_plans_the_cpu_as_its_kernels_see_it(monkeypatch):
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")  # a Xeon with AMX run as an AVX2-only CPU
    xeon_as_avx2 = cpu.plan(XEON_AMX, {0, 1}, compiler=None)
    assert xeon_as_avx2.dtype == "float32" and xeon_as_avx2.features == ("avx2",)
    assert "capped by ATEN_CPU_CAPABILITY=avx2" in xeon_as_avx2.line()
    assert cpu.plan(AVX2_EPYC, {0, 1}).cap == ""  # nothing hidden: nothing said
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    assert cpu.plan(XEON_AMX, {0, 1}).features == ()
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx512")  # AMX bf16 is oneDNN's, not capped by torch's avx512
    assert cpu.plan(XEON_AMX, {0, 1}).dtype == "bfloat16"
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "no-such-isa")  # torch ignores it, and so does the plan
    assert cpu.plan(XEON_AMX, {0, 1}).cap == ""


def test_torchs_cap_is_passed_on_to_onednn(monkeypatch):
    import os

    unset(monkeypatch, "VLLM_ENABLE_V1_MULTIPROCESSING", "VLLM_CPU_OMP_THREADS_BIND", "VLLM_USE_AOT_COMPILE",
          "ONEDNN_MAX_CPU_ISA")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    cpu.apply(cpu.plan(XEON_AMX, {0, 1}, compiler=None))
    assert os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"


def test_onednn_capped_below_torchs_avx512_kernels_is_refused(monkeypatch):
    def problem(flags: set[str]) -> str | None:
        return cpu.kernel_caps_problem(cpu.plan(flags, {0, 1}, compiler=None))

    unset(monkeypatch, "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")
    assert problem(XEON_AMX) is None
    for value in ("AVX2", "avx512_core"):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", value)
        said = problem(XEON_AMX)
        assert said.startswith(f"ONEDNN_MAX_CPU_ISA={value.upper()} ") and "ATEN_CPU_CAPABILITY=avx2" in said
        assert problem(AVX2_EPYC) is None  # no AVX-512 kernels to disagree with
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")  # both capped: the AVX2 plan, which runs (test_vllm_backend)
    assert problem(XEON_AMX) is None
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "ALL")
    assert problem(XEON_AMX) is None


def test_int8_where_it_won_on_this_kind_of_cpu(monkeypatch):
    unset(monkeypatch, "ATEN_CPU_CAPABILITY", cpu.INT8_ENV)
    monkeypatch.setattr(cpu, "INT8_WINS", {"amx": False, "avx512_bf16": False, "avx2": True})
    assert cpu.plan(AVX2_EPYC, {0, 1}).int8 and not cpu.plan(XEON_AMX, {0, 1}).int8
    assert not cpu.plan(EPYC_ZEN4, {0, 1}).int8
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")  # the AVX2 plan on a Xeon: the AVX2 kind's choice
    assert cpu.plan(XEON_AMX, {0, 1}).int8 and cpu.plan(EPYC_ZEN4, {0, 1}).int8


def test_the_measured_choice_per_kind_of_cpu(monkeypatch):
    """What the measurements at the top of agents/cpu.py decided."""
    unset(monkeypatch, "ATEN_CPU_CAPABILITY", cpu.INT8_ENV)
    assert cpu.plan(XEON_AMX, {0, 1}).int8 is MEASURED["amx"]
    assert cpu.plan(EPYC_ZEN4, {0, 1}).int8 is MEASURED["avx512_bf16"]
    assert cpu.plan(AVX2_EPYC, {0, 1}).int8 is MEASURED["avx2"]


def test_the_int8_switch_forces_it_either_way_and_says_so(monkeypatch):
    for value, on in (("1", True), ("on", True), ("0", False), ("OFF", False)):
        monkeypatch.setenv(cpu.INT8_ENV, value)
        for flags in (AVX2_EPYC, XEON_AMX):
            p = cpu.plan(flags, {0, 1}, compiler=None)
            assert p.int8 is on and p.int8_forced == f"{cpu.INT8_ENV}={value.lower()}"
            assert f"{cpu.INT8_ENV}={value.lower()}" in p.line()
        assert cpu.int8_switch_problem() is None
    monkeypatch.setenv(cpu.INT8_ENV, "maybe")
    assert cpu.int8_switch_problem().startswith(f"{cpu.INT8_ENV}=maybe is neither on (1) nor off (0)")


def test_the_cpu_line_names_the_weights_the_engine_runs(monkeypatch):
    unset(monkeypatch, "ATEN_CPU_CAPABILITY", cpu.INT8_ENV)
    monkeypatch.setattr(cpu, "INT8_WINS", {"amx": False, "avx512_bf16": False, "avx2": True})
    p = cpu.plan(AVX2_EPYC, {0, 1}, compiler=None)
    assert "int8 weights and activations (W8A8)" in p.line()
    # a model of the user's own, not int8, is said to run in the plan's dtype whatever the plan picks
    assert "float32 weights" in p.line(int8=False) and "W8A8" not in p.line(int8=False)
    assert "bfloat16 weights (int8 off)" in cpu.plan(XEON_AMX, {0, 1}, compiler=None).line()
