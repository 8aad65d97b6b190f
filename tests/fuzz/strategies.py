"""Hypothesis strategies shared by the fuzz suites: JSON-ish values, a vocabulary harvested
from a provider's own source (so generated objects use the keys it looks for), hostile
bodies, and mutations of real recorded answers."""
from __future__ import annotations

import ast
import inspect
import json
from functools import lru_cache
from pathlib import Path

from hypothesis import strategies as st

HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Oops</h1></body></html>"
BIG_NUMBERS = [10 ** 30, -(10 ** 30), 2 ** 63, -1, 0, 1e308, -1e308, 1.5, 10 ** 400]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(BIG_NUMBERS),
    st.text(max_size=40), st.sampled_from(["", " ", "null", "0", "-1", "2026-13-45", "\u0000", "💥" * 3]),
)


def json_values(keys=st.text(max_size=12), leaves=scalars, max_leaves: int = 12):
    return st.recursive(leaves, lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)), max_leaves=max_leaves)


@lru_cache(maxsize=None)
def vocabulary(provider) -> tuple[str, ...]:
    """String constants of the provider's package (keys, event names, statuses…)."""
    module = inspect.getmodule(provider)
    path = Path(module.__file__)
    files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
    words = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and 0 < len(node.value) <= 40 \
                    and "\n" not in node.value:
                words.add(node.value)
    return tuple(sorted(words))


def provider_json(provider, base_url: str):
    words = vocabulary(provider)
    urls = [f"{base_url.rstrip('/')}/{w.strip('/')}" for w in words if w.startswith("/")][:30] + [
        base_url, f"{base_url.rstrip('/')}/shipments?page=1", "https://attacker.example/x", "file:///etc/passwd"]
    keys = st.one_of(st.sampled_from(words), st.text(max_size=8)) if words else st.text(max_size=8)
    leaves = st.one_of(scalars, st.sampled_from(words or ("x",)), st.sampled_from(urls))
    return json_values(keys=keys, leaves=leaves)


def hostile_bodies(json_strategy=None):
    """Whole bodies: random bytes, HTML, truncated JSON, JSON of any shape."""
    json_strategy = json_values() if json_strategy is None else json_strategy
    encoded = json_strategy.map(lambda v: json.dumps(v).encode())
    return st.one_of(
        st.binary(max_size=300), st.just(HTML), st.just(b""), st.just(b"{"), st.just(b"null"),
        st.just(b'{"a": 1e400}'), st.just(b"[" * 200 + b"]" * 200),
        encoded, encoded.flatmap(lambda b: st.integers(0, max(0, len(b) - 1)).map(lambda n: b[:n])),
    )


def mutate_json(draw, value, leaves):
    """Replace, delete or retype one node of ``value`` (a random walk down the tree)."""
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value, key=str)))
        out = dict(value)
        action = draw(st.sampled_from(["descend", "delete", "replace"]))
        if action == "delete":
            del out[key]
        elif action == "replace":
            out[key] = draw(leaves)
        else:
            out[key] = mutate_json(draw, value[key], leaves)
        return out
    if isinstance(value, list) and value and draw(st.booleans()):
        index = draw(st.integers(0, len(value) - 1))
        out = list(value)
        action = draw(st.sampled_from(["descend", "delete", "replace"]))
        if action == "delete":
            del out[index]
        elif action == "replace":
            out[index] = draw(leaves)
        else:
            out[index] = mutate_json(draw, value[index], leaves)
        return out
    return draw(leaves)


def mutated_answer(draw, answer, leaves):
    """(status, content_type, body) derived from a recorded answer."""
    from .corpus import json_or_none

    status = draw(st.one_of(st.just(answer.status), st.just(answer.status), st.sampled_from(
        [200, 201, 204, 301, 400, 401, 404, 409, 413, 429, 500, 502, 503])))
    content_type = draw(st.sampled_from([answer.content_type, answer.content_type, "application/json",
                                         "text/html", "text/plain", ""]))
    kind = draw(st.sampled_from(["same", "mutate", "mutate", "mutate", "truncate", "hostile"]))
    parsed = json_or_none(answer.body)
    if kind == "same":
        body = answer.body
    elif kind == "mutate" and parsed is not None:
        body = json.dumps(mutate_json(draw, parsed, leaves)).encode()
    elif kind == "truncate" and answer.body:
        body = answer.body[:draw(st.integers(0, len(answer.body) - 1))]
    else:
        body = draw(hostile_bodies())
    return status, content_type, body
