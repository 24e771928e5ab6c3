"""Sweeps on Ray: a local cluster of two CPUs gives the process pool's numbers; a failed cell, even one whose
worker died, is recorded with its error and retried by a rerun; a driver killed mid-sweep resumes on the same
cluster without running finished cells again; a wrong address or a missing Ray is one line."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import pytest
import ray

from sim import sweep
from sim.cli import main
from sim.config import RunConfig
from sim.executors.ray import RayCluster
from tests.conftest import free_port
from tests.test_sweep import killed_mid_sweep, run_sweep, same_numbers


def test_ray_gives_the_pools_numbers(tmp_path):
    grid = ["--set", "agents=3,6", "--seeds", "0-3", "--turns", "8"]
    assert main(["sweep", *grid, "--workers", "2", "--out", str(tmp_path / "pool"), "--quiet"]) == 0
    done = run_sweep(*grid, "--executor", "ray", "--workers", "2", "--out", str(tmp_path / "ray"))
    assert done.returncode == 0, done.stderr
    assert "ray: started a local cluster of 2 CPUs" in done.stderr
    pool, on_ray = same_numbers(tmp_path / "pool"), same_numbers(tmp_path / "ray")
    assert len(pool) == 8 and pool == on_ray
    assert (tmp_path / "pool" / "summary.csv").read_text() == (tmp_path / "ray" / "summary.csv").read_text()


class KillsItsWorker:
    """Unpickled in a Ray worker, it ends that worker's process: a task Ray itself loses, as on a dead node."""

    def __reduce__(self):
        return os._exit, (3,)


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of two CPUs, driven by this process; yields its address for other drivers (which
    inherit the RAY_AUTH_MODE=token that ray.init sets here, as a cluster's clients must have it)."""
    before = os.environ.get("RAY_AUTH_MODE")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
    if before is None:
        os.environ.pop("RAY_AUTH_MODE", None)
    else:
        os.environ["RAY_AUTH_MODE"] = before


def test_failed_cells_are_recorded_with_their_error_and_retried(cluster, tmp_path):
    out = tmp_path / "sweep"
    cells = sweep.make_cells(RunConfig(world="wood", turns=5), [{"agents": 3}], [0, 1, 2], out)
    bad_config = {**cells[1], "config": {**cells[1]["config"], "turns": -1}}
    lost = {**cells[2], "poison": KillsItsWorker()}
    assert sweep.collect(RayCluster().run([cells[0], bad_config, lost]), 3, out, quiet=True) == 2

    rows = {row["key"]: row for row in sweep.iter_results(out)}
    assert len(rows) == 3 and rows[cells[0]["key"]]["turns"] == 5 and "error" not in rows[cells[0]["key"]]
    assert rows[cells[1]["key"]]["error"].startswith("UsageError: ") and "turns" in rows[cells[1]["key"]]["error"]
    assert rows[cells[2]["key"]]["error"].startswith(("WorkerCrashedError", "RaySystemError"))
    assert rows[cells[1]["key"]]["point"] == {"agents": 3} and rows[cells[1]["key"]]["seed"] == 1
    frame = sweep.load(out)
    assert frame["error"].notna().sum() == 2 and frame["turns"].notna().sum() == 1

    assert [c["key"] for c in sweep.unfinished(cells, out)] == [cells[1]["key"], cells[2]["key"]]
    assert sweep.collect(RayCluster().run(cells[1:]), 2, out, quiet=True) == 0  # fixed: the rerun finishes them
    frame = sweep.load(out)
    assert len(frame) == 3 and "error" not in frame.columns and (frame["turns"] == 5).all()


def test_killed_driver_resumes_on_the_same_cluster(cluster, tmp_path):
    out = tmp_path / "sweep"
    args = ["--set", "agents=4", "--seeds", "0-59", "--turns", "10", "--executor", "ray", "--address", cluster,
            "--out", str(out)]
    results = out / sweep.RESULTS
    finished, n_done = killed_mid_sweep(args, results)

    again = run_sweep(*args)
    assert again.returncode == 0, again.stderr
    assert f"ray: joined the cluster at {cluster} (2 CPUs)" in again.stderr
    assert f"{n_done} cells already finished, {60 - n_done} to run" in again.stderr
    after = results.read_bytes()
    assert after.startswith(finished), "finished cells were rewritten"
    keys = [json.loads(line)["key"] for line in after.splitlines()]
    assert len(keys) == len(set(keys)) == 60


def test_an_address_where_no_cluster_answers_is_one_line(tmp_path, capsys):
    start = time.monotonic()
    out = tmp_path / "sweep"
    assert main(["sweep", "--executor", "ray", "--address", f"127.0.0.1:{free_port()}", "--out", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Ray cluster answers at 127.0.0.1:") and err.count("\n") == 1
    assert "ray start --head" in err and not out.exists() and time.monotonic() - start < 60  # not ray.init's minutes


def test_without_ray_the_executor_names_its_extra(tmp_path):
    probe = ("import sys; sys.modules['ray'] = None\n"
             "import sim.cli, sim.sweep\n"
             "sys.exit(sim.cli.main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", probe, "sweep", "--executor", "ray", "--out", str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: --executor ray needs ray, which is not installed: pip install "
                                  "'smallworlds[ray]'")
    plain = subprocess.run([sys.executable, "-c", "import sim.cli, sim.sweep, sys; print('ray' in sys.modules)"],
                           capture_output=True, text=True, timeout=60)
    assert plain.stdout.strip() == "False"  # the core never imports Ray by itself


def test_an_address_for_an_executor_without_a_cluster_is_one_line(tmp_path, capsys):
    assert main(["sweep", "--address", "127.0.0.1:6379", "--out", str(tmp_path / "s"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == "error: --address names a cluster to join, which --executor pool has none of (try ray)\n"
    assert not (tmp_path / "s").exists()
