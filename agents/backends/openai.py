"""Any OpenAI-compatible server: vllm serve, Ollama, LM Studio, llama.cpp server, a Modal deployment.

A turn is one round of concurrent /chat/completions requests, one per agent, on one pooled HTTP client. Not
one /completions call with a prompt list: that carries a single response_format for all prompts, while every
agent has its own schema, and most non-vLLM servers take one prompt per request anyway. A server that batches
(vLLM) batches concurrent requests just the same.

Constrained decoding goes through `response_format` json_schema (vLLM's old `guided_json` extra field is
ignored by current servers; llama.cpp's server reads `response_format.json_schema.schema` too), with the schema
as sim.variants.for_decoding gives it (a variant action's oneOf as anyOf, no `discriminator`) in its `portable`
form. Whether the server strips whitespace is its own setting; for vLLM start it with
--structured-outputs-config '{"backend":"guidance","disable_any_whitespace":true}'.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence

import httpx

from agents.backends.base import BackendUnavailable
from agents.prompts import max_tokens_for, messages
from sim.policy import Ask, Reply
from sim.variants import for_decoding

RETRYABLE = {408, 409, 429}  # besides 5xx: the server is busy or restarting, the request itself is fine
CHECK_SECONDS = 10.0  # the start-up check's whole budget, however slowly the server drips its answer
MAX_TOKENS_REPORTED = 2**53  # token counts past this are not counts (a server claiming 10**30)


class OpenAIBackend:
    name = "openai"
    is_model = True

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "SMALLWORLDS_API_KEY",
        temperature: float = 0.7,
        timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 0.25,
        deadline: float = 90.0,
        concurrency: int = 64,
        notice: float = 10.0,
        announce: Callable[[str], None] | None = None,
    ):
        """`timeout` bounds one HTTP attempt from its first byte sent to its last byte read (not each read:
        a server dripping bytes cannot stretch it), `deadline` the whole turn, retries included. Every
        `notice` seconds of a turn, `announce` says which agents still wait (default: a line on stderr)."""
        url = base_url.rstrip("/")
        self.base_url = url if url.endswith("/v1") else url + "/v1"
        self.model = model
        self.temperature = temperature
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.deadline = deadline
        self.notice = notice
        self.announce = announce or (lambda line: print(line, file=sys.stderr))
        self._waiting: set[str] = set()  # agents whose request is in flight (read by generate's notices)
        self._waiting_lock = threading.Lock()
        key = os.environ.get(api_key_env)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers, limits=limits, timeout=timeout)
        # One event loop on a thread of its own: generate() is called from plain threads (CLI, Gradio workers)
        # and may be called while some other loop runs, so it never owns the loop the pooled client lives on.
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="openai-backend", daemon=True).start()

    def check(self) -> None:
        """Fail fast, with one line, when the server does not answer or does not serve this model."""
        budget = min(self.timeout, CHECK_SECONDS)
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(self._client.get("/models"), budget), self._loop)
        try:
            r = future.result(timeout=budget + 1)
            r.raise_for_status()
            data = r.json().get("data", [])
            served = [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)
                      ] if isinstance(data, list) else []
        except (TimeoutError, concurrent.futures.TimeoutError):
            future.cancel()
            raise BackendUnavailable(f"the server at {self.base_url} did not answer /models within {budget:.0f} s: "
                                     "check that it is up and not overloaded, or fix the URL") from None
        except (httpx.HTTPError, ValueError, AttributeError) as e:
            raise BackendUnavailable(
                f"no OpenAI-compatible server answers at {self.base_url} ({type(e).__name__}): start one or fix the URL"
            ) from None
        if served and not self.model:
            raise BackendUnavailable(f"{self.base_url} serves {', '.join(served)}: name the model, e.g. --model "
                                     f"{served[0]}")
        if served and self.model not in served:
            raise BackendUnavailable(f"{self.base_url} does not serve {self.model}; it serves: {', '.join(served)}")

    def generate(self, turn: int, asks: Sequence[Ask]) -> list[Reply]:
        start = time.monotonic()
        deadline = start + self.deadline
        future = asyncio.run_coroutine_threadsafe(self._all(asks, deadline), self._loop)
        try:
            while True:
                try:
                    return future.result(timeout=max(0.0, min(self.notice, deadline + 5 - time.monotonic())))
                except concurrent.futures.TimeoutError:
                    if time.monotonic() >= deadline + 5:
                        raise
                    self._say_who_waits(turn, time.monotonic() - start)
        except Exception as e:  # only if the loop itself is broken; each request already catches its own
            future.cancel()
            return [self._error(f"turn failed: {type(e).__name__}: {e}", None) for _ in asks]

    def _say_who_waits(self, turn: int, waited: float) -> None:
        with self._waiting_lock:
            waiting = sorted(self._waiting)
        if waiting:
            names = ", ".join(waiting[:8]) + (f" and {len(waiting) - 8} more" if len(waiting) > 8 else "")
            self.announce(f"turn {turn}: waiting {waited:.0f} s of at most {self.deadline:.0f} s for "
                          f"{self.base_url} to answer {names}")

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _all(self, asks: Sequence[Ask], deadline: float) -> list[Reply]:
        return list(await asyncio.gather(*(self._waited(ask, deadline) for ask in asks)))

    async def _waited(self, ask: Ask, deadline: float) -> Reply:
        """One agent's request, listed as waiting while it runs; whatever it raises costs only this agent."""
        with self._waiting_lock:
            self._waiting.add(ask.agent)
        try:
            return await self._one(ask, deadline)
        except Exception as e:
            return self._error(f"request failed: {type(e).__name__}: {e}"[:300], None)
        finally:
            with self._waiting_lock:
                self._waiting.discard(ask.agent)

    async def _one(self, ask: Ask, deadline: float) -> Reply:
        try:
            chat = messages(ask)
            body = {
                "model": self.model,
                "messages": chat,
                "max_tokens": max_tokens_for(ask.schema),
                "temperature": self.temperature,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "action", "schema": portable(for_decoding(ask.schema)), "strict": True},
                },
            }
        except Exception as e:  # a world bug in observe/action_schema costs only this agent
            return self._error(f"could not build the request: {type(e).__name__}: {e}", None)
        prompt = "\n\n".join(f"{m['role']}: {m['content']}" for m in chat)
        why = "turn deadline passed before the request was sent"
        for attempt in range(self.retries + 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            budget = min(self.timeout, left)
            try:  # wait_for bounds the whole exchange; httpx's own timeout only bounds each read
                r = await asyncio.wait_for(self._client.post("/chat/completions", json=body, timeout=budget), budget)
            except (httpx.TimeoutException, TimeoutError):
                why = f"no answer within {budget:.0f} s"
            except httpx.HTTPError as e:
                why = f"cannot reach {self.base_url}: {type(e).__name__}"
            else:
                if r.status_code == 200:
                    return self._parse(r, prompt)
                why = f"HTTP {r.status_code}: {' '.join(r.text.split())[:200]}"
                if r.status_code < 500 and r.status_code not in RETRYABLE:
                    break  # the server refused this request; sending it again will not change that
            pause = self.backoff * 2**attempt
            if attempt == self.retries or time.monotonic() + pause >= deadline:
                break
            await asyncio.sleep(pause)
        return self._error(why, prompt)

    def _parse(self, r: httpx.Response, prompt: str) -> Reply:
        """The reply in a 200 answer. Only `choices[0].message.content` must be there and be text; a
        malformed `usage` or `finish_reason` is ignored (it costs the token counts, not the reply)."""
        try:
            data = r.json()
            choice = data["choices"][0]
            text = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            return self._error(f"garbled answer ({type(e).__name__}): {' '.join(r.text.split())[:200]}", prompt)
        if not isinstance(text, str):
            return self._error("the answer had no text content", prompt)
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        reply = Reply(
            text=text,
            backend=self.name,
            model=self.model,
            prompt=prompt,
            prompt_tokens=_count(usage.get("prompt_tokens")),
            output_tokens=_count(usage.get("completion_tokens")),
            server=self.base_url,
        )
        if isinstance(choice, dict) and choice.get("finish_reason") == "length":
            # Kept so the parse path may still repair it, but flagged (same as the vllm backend).
            reply.error = "reply cut off at max_tokens"
        return reply

    def _error(self, why: str, prompt: str | None) -> Reply:
        return Reply(text=None, backend=self.name, model=self.model, error=why, prompt=prompt, server=self.base_url)


def portable(schema: object) -> object:
    """The schema as sent: valid for exactly the same replies, in a form more servers compile. llama.cpp's
    server (the one in llama-cpp-python 0.3.16) fails the whole request on `"items": false` beside `prefixItems`
    ("Unrecognized schema: false"); where `maxItems` already ends the array within its prefix, that `items`
    forbids nothing and is left out."""
    if isinstance(schema, list):
        return [portable(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: portable(value) for key, value in schema.items()}
    prefix, most = out.get("prefixItems"), out.get("maxItems")
    if out.get("items") is False and isinstance(prefix, list) and isinstance(most, int) and most <= len(prefix):
        del out["items"]
    return out


def _count(value: object) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS_REPORTED
    return value if ok else None

