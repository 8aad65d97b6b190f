"""The one check for every ``next`` (or any redirect target a client sends): a path on this
site only. Browsers ignore tabs and newlines inside a URL and read a backslash as a slash, so
``/\t/evil.example`` or ``/\\evil.example`` would leave the site: anything but a plain path is
refused, not cleaned."""
from __future__ import annotations

from urllib.parse import urlsplit


def is_safe_path(target: str | None) -> bool:
    if not target or not isinstance(target, str) or len(target) > 2000:
        return False
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target) or "\\" in target:
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    return target if is_safe_path(target) else default
