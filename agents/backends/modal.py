"""The modal backend: one remote call per turn to the `Model` class deployed by modal_deploy.py.

    client (ModalBackend.generate)              container (Model.generate -> TurnServer.generate)
    asks -> request dicts ---- one .remote() ----> vLLM batch, each reply constrained to its schema
    Replies <------------------- reply dicts <---- text, error, prompt, token counts

A request is {"messages", "schema", "max_tokens", "temperature"}; a reply is {"text", "error", "prompt",
"prompt_tokens", "output_tokens", "model"}: plain data, so nothing of smallworlds is pickled across. The
container's half is the plain class TurnServer, so the same method body runs (and is tested) in-process
with vLLM on the CPU.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from agents.backends.base import BackendUnavailable
from agents.prompts import max_tokens_for, messages
from sim.executors import one_line
from sim.executors.modal import APP_NAME, hydrated  # one app holds the Model class and the sweeps' run_cell
from sim.policy import Ask, Reply
from sim.variants import for_decoding

CLASS_NAME = "Model"
DEFAULT_MODEL = "Qwen/Qwen2.5-3B-Instruct"


class ModalBackend:
    name = "modal"
    is_model = True

    def __init__(self, model: str | None = None, *, temperature: float = 0.7,
                 call: Callable[[list[dict]], list[dict]] | None = None, app: str = APP_NAME,
                 cls: str = CLASS_NAME):
        """`call` sends one turn's requests and returns the replies; default: the deployed class, looked up
        now so a missing token or deployment is a one-line error before the run starts. `model` names the
        deployed model in traces until the server says which it is."""
        self.model = model or DEFAULT_MODEL
        self.temperature = temperature
        self._call = call or deployed_generate(app, cls)

    def request(self, ask: Ask) -> dict:
        schema = for_decoding(ask.schema)
        return {"messages": messages(ask), "schema": schema, "max_tokens": max_tokens_for(schema),
                "temperature": self.temperature}

    def generate(self, turn: int, asks: Sequence[Ask]) -> list[Reply]:
        replies: list[Reply | None] = [None] * len(asks)
        sent, requests = [], []
        for i, ask in enumerate(asks):
            try:
                requests.append(self.request(ask))
                sent.append(i)
            except Exception as exc:  # a world bug in observe/action_schema costs only this agent
                replies[i] = Reply(text=None, error=f"could not build the request: {one_line(exc)}")
        try:
            answers = self._call(requests) if requests else []
            if len(answers) != len(requests):
                raise RuntimeError(f"{len(answers)} replies for {len(requests)} requests")
        except Exception as exc:  # the remote call is all or nothing: every agent learns why
            return [Reply(text=None, error=f"modal call failed: {one_line(exc)}") for _ in asks]
        for i, answer in zip(sent, answers):
            replies[i] = Reply(text=answer.get("text"), model=answer.get("model") or self.model,
                               error=answer.get("error"), prompt=answer.get("prompt"),
                               prompt_tokens=answer.get("prompt_tokens"), output_tokens=answer.get("output_tokens"))
        return replies


class TurnServer:
    """The deployed class's body: vLLM in this process, one batched generation per `generate` call."""

    def __init__(self, model: str, **engine_options: Any):
        from agents.backends.vllm import VLLMBackend, on_cpu

        self._vllm = VLLMBackend(model, **engine_options)
        self._cpu = on_cpu()
        self.model = self._vllm.model

    def generate(self, requests: list[dict]) -> list[dict]:
        answers: list[dict | None] = [None] * len(requests)
        todo = []
        for i, r in enumerate(requests):
            try:
                todo.append((i, r["messages"], self._params(r)))
            except Exception as exc:  # one malformed request costs only its own reply
                answers[i] = self._answer(Reply(text=None, error=f"bad request: {one_line(exc)}"))
        try:
            results = self._vllm._run(todo)
        except Exception as exc:
            results = {i: exc for i, _, _ in todo}
        for i, result in results.items():
            reply = (Reply(text=None, error=one_line(result)) if isinstance(result, Exception)
                     else self._vllm._reply(result))
            answers[i] = self._answer(reply)
        return [a or self._answer(Reply(text=None, error="no output")) for a in answers]

    def _params(self, r: dict):
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        return SamplingParams(max_tokens=int(r.get("max_tokens") or max_tokens_for(r["schema"])),
                              temperature=float(r.get("temperature", 0.7)),
                              structured_outputs=StructuredOutputsParams(json=r["schema"]))

    def _answer(self, reply: Reply) -> dict:
        return {"text": reply.text, "error": reply.error, "prompt": reply.prompt, "model": self.model,
                "prompt_tokens": reply.prompt_tokens, "output_tokens": reply.output_tokens}


def deployed_generate(app: str, cls: str) -> Callable[[list[dict]], list[dict]]:
    try:
        import modal
    except ImportError:
        raise BackendUnavailable("the modal backend needs Modal: pip install 'smallworlds[modal]'") from None
    return hydrated(modal.Cls.from_name, app, cls, "class", BackendUnavailable)().generate.remote
