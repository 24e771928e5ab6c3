"""The CPU plan: what the vLLM backend runs in, chosen from the processor's features."""
from agents import cpu

AVX2_EPYC = {"avx", "avx2", "fma", "f16c"}
XEON_AMX = AVX2_EPYC | {"avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile"}


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
    line = cpu.plan(XEON_AMX, {0, 1}).line()
    assert line.startswith("cpu: ") and "amx_bf16" in line and "dtype bfloat16" in line and "0-1" in line


def test_a_binding_the_user_set_wins(monkeypatch):
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "1")
    cpu.apply(cpu.plan(AVX2_EPYC, {0, 1}))
    import os

    assert os.environ["VLLM_CPU_OMP_THREADS_BIND"] == "1"
