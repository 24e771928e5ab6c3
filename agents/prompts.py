"""Chat messages for one agent's decision, and the token budget its reply needs.

The system message is the same for every agent of a world (briefing, reply format, worked example) and the
user message starts with the turn's news, the same for every agent this turn, so a server with prefix caching
computes both once; only the short observation after them is paid per agent.
"""
from __future__ import annotations

import json

from sim.policy import Ask

FORMAT = "Reply with one JSON object and nothing else: no prose, no code fence."

# Caps for parts of a schema that set no bound of their own (a world should bound everything it can).
UNBOUNDED_STRING = 64
UNBOUNDED_ITEMS = 8
UNBOUNDED_NUMBER = 24  # "-1.2345678901234567e+308" is 24 characters
SLACK = 8  # end-of-sequence token and tokenizer odds and ends


def system_prompt(ask: Ask) -> str:
    briefing, example = ask.briefing.strip(), ask.example.strip()
    # A briefing that already shows the example would otherwise pay for it twice in every prompt.
    shown = "" if example in briefing else f"\nExample reply:\n{example}"
    return f"{briefing}\n\n{FORMAT}{shown}"


def messages(ask: Ask) -> list[dict]:
    # the turn's news, the same for every agent, leads the user message: the cached prefix then reaches past it
    news = ask.news.strip()
    return [
        {"role": "system", "content": system_prompt(ask)},
        {"role": "user", "content": f"{news}\n\n{ask.observation}" if news else ask.observation},
    ]


def max_tokens_for(schema: dict) -> int:
    """Enough tokens for the longest compact JSON reply the schema allows.

    Counts characters, not tokens: a token is at least one character for the ASCII a reply is made of, so the
    character count bounds the token count while staying within a small factor of typical replies. Decoding
    stops at the end of the JSON, so a budget that is never used costs nothing; it only has to fit.
    """
    return _max_chars(schema, schema.get("$defs", {})) + SLACK


def _max_chars(s: dict, defs: dict) -> int:
    if "$ref" in s:
        return _max_chars(defs[s["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in s:
        return len(json.dumps(s["const"]))
    if "enum" in s:
        return max(len(json.dumps(v)) for v in s["enum"])
    for key in ("anyOf", "oneOf"):
        if key in s:
            return max(_max_chars(option, defs) for option in s[key])
    if "allOf" in s:
        # pydantic wraps a described $ref in a one-element allOf; more than one is not something we emit
        return max(_max_chars(part, defs) for part in s["allOf"])
    kind = s.get("type")
    if isinstance(kind, list):
        return max(_max_chars({**s, "type": k}, defs) for k in kind)
    if kind == "object":
        props = s.get("properties", {})
        # {"k":v,"k2":v2}: quotes and colon per key, a comma between fields, braces
        fields = sum(len(json.dumps(k)) + 1 + _max_chars(v, defs) for k, v in props.items())
        return fields + max(len(props) - 1, 0) + 2
    if kind == "array":
        prefix = [_max_chars(sub, defs) for sub in s.get("prefixItems", [])]
        n = s.get("maxItems", len(prefix) if s.get("items") is False else UNBOUNDED_ITEMS)
        rest = 0 if s.get("items") is False else _max_chars(s.get("items", {}), defs)
        return sum(prefix[:n]) + max(n - len(prefix), 0) * rest + max(n - 1, 0) + 2
    if kind == "string":
        return s.get("maxLength", UNBOUNDED_STRING) + 2
    if kind == "integer" and "minimum" in s and "maximum" in s:
        return max(len(str(int(s["minimum"]))), len(str(int(s["maximum"]))))
    if kind == "integer":
        return 20
    if kind == "boolean":
        return 5
    if kind == "null":
        return 4
    return UNBOUNDED_NUMBER
