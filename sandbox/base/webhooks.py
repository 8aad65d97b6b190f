"""Webhook dispatch: a simulator posts an event to the hub URL a tenant registered and keeps
the outcome. The provider package supplies only the body and its signing / token scheme
(``sign(body) -> headers``): ShipStation sends none, StreamLive an HMAC, tFLOW a SHA-1 of
body + key, Site Flow the static header the admin pasted."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import requests

MAX_KEPT = 500

Signer = Callable[[bytes], Mapping[str, str]]


def dispatch(url: str, body: bytes | str | dict | list, *, log: list[dict] | None = None,
             sign: Signer | None = None, headers: Mapping[str, str] | None = None, method: str = "POST",
             timeout: float = 5.0, info: Mapping[str, Any] | None = None, keep_body: bool = False,
             lock=None) -> dict[str, Any]:
    """One synchronous delivery (call it outside the simulator's lock); never raises.

    Returns ``{**info, "url", "status"}`` or ``{…, "error"}`` and appends it to `log`
    (the tenant's deliveries, the last `MAX_KEPT` kept)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    sent = {"Content-Type": "application/json", **(headers or {}), **(sign(data) if sign else {})}
    outcome: dict[str, Any] = {**(info or {}), "url": url}
    if keep_body:
        outcome["body"] = data.decode("utf-8", errors="replace")
    try:
        response = requests.request(method, url, data=data, headers=sent, timeout=timeout)
        outcome["status"] = response.status_code
    except requests.RequestException as exc:
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    if log is not None:
        if lock is not None:
            with lock:
                _keep(log, outcome)
        else:
            _keep(log, outcome)
    return outcome


def _keep(log: list[dict], outcome: dict) -> None:
    log.append(outcome)
    del log[:-MAX_KEPT]
