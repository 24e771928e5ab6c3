"""One backend's agents spread over several servers of the same model, when one server is not enough.

    council file: {"backends": {"qwen": {"backend": "openai", "model": "qwen",
                                         "urls": ["http://gpu-a:8000/v1", "http://gpu-b:8000/v1"],
                                         "sizes": [2, 1]}},          # optional: gpu-a takes twice the agents
                   "assign": {"*": "qwen"}}

Each turn the agents of the group are dealt out: round robin (agent i of the turn to server i mod N), or,
with `sizes`, in contiguous blocks in proportion to each server's size. Every server still gets ONE call
a turn (its own batch of concurrent requests), and the calls to all servers are in flight at once, each on a
thread of its own, so a turn takes as long as the slowest server's share, not the sum. Each reply carries
the URL of the server that answered (Reply.server), which the trace records per decision.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from agents.backends.base import Backend
from sim.policy import Ask, Reply


class Spread:
    is_model = True

    def __init__(self, servers: Sequence[Backend], sizes: Sequence[float] | None = None):
        """`servers`: backends of one kind and model, one per server; `sizes`: their relative capacities
        (default: deal round robin)."""
        if not servers:
            raise ValueError("a spread needs at least one server")
        if sizes is not None and (len(sizes) != len(servers) or min(sizes) <= 0):
            raise ValueError("sizes must give one positive number per server")
        self.servers = list(servers)
        self.sizes = list(sizes) if sizes is not None else None
        self.name = self.servers[0].name
        self.model = self.servers[0].model

    def deal(self, n: int) -> list[int]:
        """Which server (its index) each of `n` agents goes to, in the agents' order."""
        if self.sizes is None:
            return [i % len(self.servers) for i in range(n)]
        total = sum(self.sizes)
        exact = [n * size / total for size in self.sizes]
        counts = [math.floor(x) for x in exact]
        # the agents left over go to the servers with the largest remainders (the first one on a tie)
        for k in sorted(range(len(exact)), key=lambda k: counts[k] - exact[k])[: n - sum(counts)]:
            counts[k] += 1
        return [k for k, count in enumerate(counts) for _ in range(count)]

    def calls(self, n: int) -> int:
        """Model calls a turn of `n` agents takes: one per server that gets any."""
        return len(set(self.deal(n)))

    def generate(self, turn: int, asks: Sequence[Ask]) -> list[Reply]:
        if not asks:
            return []
        shares: dict[int, list[int]] = {}
        for position, server in enumerate(self.deal(len(asks))):
            shares.setdefault(server, []).append(position)
        with ThreadPoolExecutor(max_workers=len(shares), thread_name_prefix="spread") as pool:
            futures = {server: pool.submit(self._call, server, turn, [asks[i] for i in positions])
                       for server, positions in shares.items()}
        replies: list[Reply | None] = [None] * len(asks)
        for server, positions in shares.items():
            for position, reply in zip(positions, futures[server].result()):
                replies[position] = reply
        return replies

    def _call(self, server: int, turn: int, asks: list[Ask]) -> list[Reply]:
        """One server's share, always one reply per ask: a crash or a short answer costs only its agents."""
        backend = self.servers[server]
        try:
            replies = list(backend.generate(turn, asks))
        except Exception as exc:
            why = f"{backend.name} failed: {type(exc).__name__}: {exc}"[:300]
            return [Reply(text=None, error=why, server=self.url(server)) for _ in asks]
        if len(replies) < len(asks):
            why = f"{backend.name} returned {len(replies)} replies for {len(asks)} agents"
            replies += [Reply(text=None, error=why, server=self.url(server)) for _ in asks[len(replies):]]
        return replies[: len(asks)]

    def url(self, server: int) -> str:
        return getattr(self.servers[server], "base_url", f"server {server}")

    def describe(self, agents: Sequence[str]) -> dict[str, str]:
        """Which server each agent (in the turn's order) is dealt to: {agent: server URL}."""
        return {agent: self.url(k) for agent, k in zip(agents, self.deal(len(agents)))}
