"""`--executor ray`: each cell is one Ray task. Ray is the distributed engine vLLM itself uses across nodes.

    python -m sim sweep ... --executor ray --workers 2           # a local cluster of 2 CPUs for this sweep
    python -m sim sweep ... --executor ray --address HOST:6379   # join a running cluster (`ray start --head`)

Every node needs smallworlds (and any third-party world) installed in the same Python. The result rows come
back to this driver, which writes them to DIR/results.jsonl as tasks finish; each cell's trace stays on the
disk of the node that ran it, at the cell's path (put DIR on a shared filesystem to gather them). A task
never raises for a world's error (`attempt` turns it into the cell's error); a task Ray itself loses (a
worker or node that died) comes back as that cell's error too. Killing the driver ends its tasks with it.
Each task builds its cell's policy, so a model policy should talk to model servers (--backend openai --url,
or a council file spreading a backend over several) rather than load a model in every task.

Measured with Ray 2.60 on 2 cores: a local cluster starts in ~4 s and stops in ~1.5 s. Its servers listen on
every interface whatever node address is asked for (there is no loopback-only setting), guarded by the
token authentication Ray turns on for local clusters; joining a cluster that uses tokens needs
RAY_AUTH_MODE=token and its token (~/.ray/auth_token or RAY_AUTH_TOKEN) on the driver. ray.init to an
address where nothing listens waits for minutes, so the address is tried first.
"""
from __future__ import annotations

import logging
import socket
from typing import Iterator

import ray

from sim.errors import UserError
from sim.executors import ExecutorOptions, Outcome, one_line

CONNECT_SECONDS = 5.0
IN_FLIGHT_PER_CPU = 4  # tasks queued ahead per CPU: enough to keep every CPU busy, few enough to wait on cheaply
RETRIES = 1  # a task whose worker died runs once more (a lost node); a cell that kills its worker fails fast


class RayCluster:
    def __init__(self, address: str | None = None, cpus: int = 1, announce=lambda line: None):
        self.address = address
        self.cpus = cpus
        self.announce = announce

    def run(self, cells: list[dict]) -> Iterator[Outcome]:
        from sim.sweep import attempt

        started = self._connect()
        running: dict = {}  # task ref -> its cell
        try:
            task = ray.remote(num_cpus=1, max_retries=RETRIES)(attempt)
            window = IN_FLIGHT_PER_CPU * max(1, int(ray.cluster_resources().get("CPU", 1)))
            queue = iter(cells)
            while True:
                for cell in queue:
                    running[task.remote(cell)] = cell
                    if len(running) >= window:
                        break
                if not running:
                    return
                [done], _ = ray.wait(list(running), num_returns=1)
                cell = running.pop(done)
                try:
                    yield ray.get(done)
                except Exception as exc:  # the task was lost (worker or node died): the cell failed, say why
                    yield cell, None, one_line(exc)
        finally:
            for ref in running:  # the driver stopped early: its queued and running tasks go with it
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()

    def _connect(self) -> bool:
        """Join the cluster at `address`, or start a local one; True when this call started Ray
        (and so must shut it down). A driver already connected (ray.init earlier in the process) is used."""
        if ray.is_initialized():
            return False
        quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
        if self.address:
            try:
                ray.init(address=self.address, **quiet)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise UserError(f"cannot join the Ray cluster at {self.address} ({one_line(exc)}): check the "
                                "address; a cluster with token auth also needs RAY_AUTH_MODE=token here") from None
            self.announce(f"ray: joined the cluster at {self.address} "
                          f"({int(ray.cluster_resources().get('CPU', 0))} CPUs)")
        else:
            # "local": a new cluster even where `ray start` left the address of another one in /tmp/ray
            ray.init(address="local", num_cpus=self.cpus, **quiet)
            self.announce(f"ray: started a local cluster of {self.cpus} CPUs for this sweep")
        return True


def _check_reachable(address: str) -> None:
    """Fail in one line when HOST:PORT does not accept connections: ray.init would wait on it for minutes
    (measured: over 5 minutes, Ray 2.60). Other forms ("auto", a bare host) are left to Ray."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise UserError(f"no Ray cluster answers at {address} ({exc.strerror or type(exc).__name__}): start "
                        "one with `ray start --head` or fix --address") from None


def make(options: ExecutorOptions) -> RayCluster:
    if options.address:  # now, before the sweep writes anything
        _check_reachable(options.address)
    return RayCluster(options.address, options.workers, options.announce)
