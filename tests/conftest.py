import os
import socket

import numpy as np
import pytest

# vLLM's own log handlers hold the stream pytest captured at import time and fail once pytest closes it
os.environ.setdefault("VLLM_CONFIGURE_LOGGING", "0")

from agents.policies import scripted
from sim import Engine
from sim.policy import PolicyOptions
from worlds.wood import WoodWorld


@pytest.fixture
def wood():
    return WoodWorld(agents=5)


def run_wood(turns=30, seed=7, agents=5, policy=None, **engine_kwargs):
    """A scripted wood run, as a list of Turn records."""
    world = WoodWorld(agents=agents)
    policy = policy or scripted(PolicyOptions(seed=seed))
    return list(Engine(world, policy, seed=seed, **engine_kwargs).run(turns))


@pytest.fixture
def rng():
    return np.random.default_rng(0)



def free_port() -> int:
    """A TCP port nothing listens on right now, for servers the tests start on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
