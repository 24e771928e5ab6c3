"""Policy factories, registered under the "smallworlds.policies" entry point group: `--policy NAME` builds
one from PolicyOptions. Every policy is a Council, even when all agents share one backend."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, PositiveFloat, ValidationError, model_validator

from agents.backends.base import Backend, BackendUnavailable
from agents.backends.chaos import ChaosBackend
from agents.backends.replay import ReplayBackend
from agents.backends.scripted import ScriptedBackend
from agents.backends.spread import Spread
from agents.council import Council
from sim.policy import PolicyOptions


def scripted(opts: PolicyOptions) -> Council:
    return council_from_file(opts) if opts.council else Council.of(ScriptedBackend(opts.seed))


def chaos(opts: PolicyOptions) -> Council:
    return Council.of(ChaosBackend(opts.seed))


def replay(opts: PolicyOptions) -> Council:
    if not opts.trace:
        raise BackendUnavailable("the replay policy needs a trace to answer from")
    return Council.of(ReplayBackend(opts.trace))


def llm(opts: PolicyOptions) -> Council:
    if opts.council:
        return council_from_file(opts)
    from agents.auto import choose

    return Council.of(choose(opts))


def council_from_file(opts: PolicyOptions) -> Council:
    """A council file names backends and assigns them to agents or roles:

    {"backends": {"qwen": {"backend": "openai", "url": "http://127.0.0.1:8000/v1", "model": "qwen"},
                  "heuristic": {"backend": "scripted"}},
     "assign": {"honey": "qwen", "Clover": "qwen", "*": "heuristic"}}

    An openai backend may name several servers of its model, `"urls": [URL, ...]`, to spread its agents
    over them (round robin, or in proportion to `"sizes": [N, ...]`): see agents/backends/spread.py.
    """
    path = Path(opts.council)
    try:
        spec = CouncilFile.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise BackendUnavailable(f"council file {path}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "the file"
        raise BackendUnavailable(f"council file {path}: {where}: {err['msg']} (it wants "
                                 '{"backends": {NAME: {"backend": ...}}, "assign": {WHO: NAME, "*": NAME}})') from None
    unknown = sorted(set(spec.assign.values()) - set(spec.backends))
    if unknown:
        raise BackendUnavailable(f"council file {path}: assign names backends it does not define: "
                                 f"{', '.join(unknown)} (defined: {', '.join(spec.backends) or 'none'})")
    if "*" not in spec.assign:
        raise BackendUnavailable(f'council file {path}: assign needs a default backend under "*"')
    backends = {name: build_backend(opts, **conf.model_dump()) for name, conf in spec.backends.items()}
    return Council({who: backends[name] for who, name in spec.assign.items()})


class BackendSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str
    model: str | None = None
    url: str | None = None
    urls: list[str] | None = None  # several servers of the same model: the backend's agents are spread over them
    sizes: list[PositiveFloat] | None = None  # with urls: each server's share of the agents (default: equal)

    @model_validator(mode="after")
    def _servers(self) -> "BackendSpec":
        if self.urls is not None:
            if self.backend != "openai":
                raise ValueError(f'"urls" spreads an openai backend over servers; backend {self.backend!r} has none')
            if self.url is not None or not self.urls:
                raise ValueError('give "url" (one server) or a non-empty "urls" (several), not both')
        if self.sizes is not None and len(self.sizes) != len(self.urls or ()):
            raise ValueError('"sizes" needs one number per entry of "urls"')
        return self


class CouncilFile(BaseModel):
    """What a council file must hold; anything else is one error line naming the key."""

    backends: dict[str, BackendSpec]
    assign: dict[str, str]


def build_backend(opts: PolicyOptions, backend: str, model: str | None = None, url: str | None = None,
                  urls: list[str] | None = None, sizes: list[float] | None = None) -> Backend:
    from agents.auto import choose

    if urls:
        return Spread([build_backend(opts, backend, model, one) for one in urls], sizes)
    if backend == "scripted":
        return ScriptedBackend(opts.seed)
    if backend == "chaos":
        return ChaosBackend(opts.seed)
    return choose(PolicyOptions(backend=backend, model=model or opts.model, url=url or opts.url, seed=opts.seed,
                                temperature=opts.temperature, announce=opts.announce))
