"""Control-route helpers (``/_sim/…``: tests and demos only) and the generic body answer."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Response, jsonify, request


class ControlError(Exception):
    """A bad control call; rendered as {"error": ...} with the given status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def control_error_response(exc: ControlError) -> tuple[Response, int]:
    return jsonify({"error": exc.message}), exc.status


def control_payload() -> dict[str, Any]:
    """Control routes accept fields in the query string and/or a JSON object body."""
    payload: dict[str, Any] = dict(request.args.items())
    if request.get_data(cache=True).strip():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ControlError(400, "control body must be a JSON object")
        payload.update(body)
    return payload


def number(value: Any, name: str, low: float, high: float) -> float:
    """A control value that must be a number in [low, high] (ControlError 400 otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlError(400, f"{name} must be a number")
    if not low <= value <= high:
        raise ControlError(400, f"{name} must be between {low} and {high}")
    return float(value)


def body_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A response whose body is JSON for dict/list, text for str and empty for None."""
    if body is None:
        response = Response(b"", status=status)
    elif isinstance(body, (dict, list)):
        response = Response(json.dumps(body), status=status, mimetype="application/json")
    else:
        response = Response(str(body), status=status, mimetype="text/plain")
    for name, value in (headers or {}).items():
        response.headers[name] = str(value)
    return response
