"""JSON from outside (webhooks, import files) with bounded nesting: Python's parser recurses
once per level, so a small body of 100,000 "[" raises RecursionError (a 500) instead of a
clear "invalid JSON". The depth is measured first, in one linear scan that skips strings."""
from __future__ import annotations

import json

MAX_DEPTH = 64


def _brackets(text: str):
    """(index, char) of every bracket and comma outside JSON strings, in one linear scan."""
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[]{},":
            yield index, char
    if in_string:
        yield len(text), '"'  # an unterminated string: the caller sees a stray quote


def depth(text: str) -> int:
    deepest = level = 0
    for _, char in _brackets(text):
        if char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


def loads(data: str | bytes, max_depth: int = MAX_DEPTH):
    """json.loads, but ValueError (never RecursionError) for nesting deeper than ``max_depth``."""
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    # Cheap bound first: with no more opening brackets than max_depth, nothing can be deeper.
    if text.count("[") + text.count("{") > max_depth and depth(text) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def split_array(text: str) -> list[str] | None:
    """The raw text of each element of a top-level JSON array (so one bad element — too deep,
    a 5,000-digit number — is that element's error, not the whole file's), or None when
    ``text`` is not a well-bracketed array."""
    s = text.strip()
    if not (s.startswith("[") and s.endswith("]")):
        return None
    elements: list[str] = []
    level, start = 0, 1
    for i, char in _brackets(s):
        if char == '"':
            return None
        if char in "[{":
            level += 1
        elif char in "]}":
            level -= 1
            if level < 0:
                return None
        elif char == "," and level == 1:
            elements.append(s[start:i])
            start = i + 1
    if level != 0:
        return None
    last = s[start:-1]
    if last.strip() or elements:
        elements.append(last)
    return elements
