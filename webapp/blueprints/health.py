"""Probes for load balancers and the Prometheus endpoint: no login, no data.

/healthz: the process answers. /readyz: the database and Redis answer (503 naming which does
not). /metrics: Prometheus text, only when METRICS_TOKEN is configured, and only with
``Authorization: Bearer <METRICS_TOKEN>``."""
from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, abort, current_app, jsonify, request

from ..extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    from ..queue import get_redis

    checks = {}
    try:
        db.session.execute(db.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"; the reason goes to the log only
        db.session.rollback()
        log.warning("readyz: database not ready: %s", exc)
        checks["database"] = "unavailable"
    try:
        get_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        log.warning("readyz: redis not ready: %s", exc)
        checks["redis"] = "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "not ready", **checks), 200 if ready else 503


@bp.get("/metrics")
def metrics():
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        abort(404)  # disabled unless configured
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return Response("unauthorized\n", 401, {"WWW-Authenticate": "Bearer"})
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    from ..ops.metrics import HubCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector())
    return Response(generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST})
