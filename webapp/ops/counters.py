"""Counters every process (web, any worker, any machine) adds to, kept in Redis so one scrape
sees them all: provider HTTP answers and latencies, webhook intake. Recording never raises:
a metric must not fail a push or a webhook."""
from __future__ import annotations

import logging

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

HTTP_RESPONSES = "metrics:provider_http:responses"    # field "provider|status" -> count
HTTP_LATENCY = "metrics:provider_http:latency"        # field "provider|le" -> count (cumulative buckets)
HTTP_LATENCY_SUM = "metrics:provider_http:latency_sum"  # field "provider" -> milliseconds
WEBHOOKS = "metrics:webhooks"                         # field "provider|outcome" -> count
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)  # seconds


def _redis():
    from ..queue import get_redis

    return get_redis()


def record_provider_http(provider: str, status: int | None, duration_ms: int) -> None:
    answer = str(status) if status else "error"
    seconds = duration_ms / 1000
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.hincrby(HTTP_RESPONSES, f"{provider}|{answer}", 1)
        for bound in LATENCY_BUCKETS:
            if seconds <= bound:
                pipe.hincrby(HTTP_LATENCY, f"{provider}|{bound}", 1)
        pipe.hincrby(HTTP_LATENCY, f"{provider}|+Inf", 1)
        pipe.hincrby(HTTP_LATENCY_SUM, provider, duration_ms)
        pipe.execute()
    except (RedisError, RuntimeError) as exc:  # RuntimeError: no app context (a bare client in a script)
        log.debug("provider http metric not recorded: %s", exc)


def record_webhook(provider: str, outcome: str) -> None:
    try:
        _redis().hincrby(WEBHOOKS, f"{provider}|{outcome}", 1)
    except (RedisError, RuntimeError) as exc:
        log.debug("webhook metric not recorded: %s", exc)


def read(key: str) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in _redis().hgetall(key).items()}
