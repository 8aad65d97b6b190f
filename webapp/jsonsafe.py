"""JSON from outside (webhooks, import files) with bounded nesting: Python's parser recurses
once per level, so a small body of 100,000 "[" raises RecursionError (a 500) instead of a
clear "invalid JSON". The depth is measured first, in one linear scan that skips strings."""
from __future__ import annotations

import json

MAX_DEPTH = 64


def depth(text: str) -> int:
    deepest = level = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


def loads(data: str | bytes, max_depth: int = MAX_DEPTH):
    """json.loads, but ValueError (never RecursionError) for nesting deeper than ``max_depth``."""
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    if depth(text) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
