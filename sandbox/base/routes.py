"""Blueprint wiring every simulator gets: faults before the provider's own hooks, recording
after, and the control routes ``/_sim/requests``, ``/_sim/faults`` and ``/_sim/clock``.

Control routes (anything under ``<mount>/_sim/``) are never recorded, faulted or
authenticated; they exist for tests and demos only.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from .clock import parse_iso_datetime
from .control import ControlError, body_response, control_error_response, control_payload, number
from .runtime import SimulatorSpec, get_runtime, is_control_request


def install_common(bp: Blueprint, key: str, *,
                   rate_limited_response: Callable[[], Response] | None = None) -> None:
    """Attach recording, fault injection and the shared control routes to `bp`.

    Call this before the simulator registers its own hooks so faults are applied before
    authentication (they stand for failures in front of the provider's application).
    `rate_limited_response` builds the provider's own 429 for ``rate_limit_burst``.
    """

    def default_429() -> Response:
        return body_response(429, {"message": "Too Many Requests"})

    make_429 = rate_limited_response or default_429

    @bp.before_request
    def _sandbox_before() -> Response | None:
        g.sandbox_started = time.monotonic()
        if is_control_request(key):
            return None
        action = get_runtime(key).faults.next_action()
        if action is None:
            return None
        g.sandbox_fault = action.kind
        if action.kind == "slow":
            time.sleep(action.seconds)
            return None
        if action.kind == "rate_limit":
            return make_429()
        if action.kind == "scripted" and action.seconds:
            time.sleep(action.seconds)
        body = action.body
        if action.kind == "error" and body is None:
            body = {"message": f"Simulated fault: HTTP {action.status}"}
        return body_response(action.status, body, action.headers)

    @bp.after_request
    def _sandbox_after(response: Response) -> Response:
        if is_control_request(key):
            return response
        runtime = get_runtime(key)
        delay = None
        if g.get("sandbox_created") and response.status_code < 300:
            delay = runtime.faults.timeout_after_create()
            if delay:
                g.sandbox_fault = "timeout_after_create"
        started = g.get("sandbox_started", time.monotonic())
        runtime.recorder.record(response, {
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "credential": g.get("sandbox_credential"),
            "fault": g.get("sandbox_fault"),
            "delayed_seconds": delay or 0,
        })
        if delay:
            time.sleep(delay)  # the write is done; the client just never hears about it
        return response

    bp.register_error_handler(ControlError, control_error_response)

    @bp.get("/_sim/requests")
    def sim_requests_list():
        runtime = get_runtime(key)
        limit = request.args.get("limit", type=int)
        entries = runtime.recorder.entries(request.args.get("credential"), limit)
        return jsonify({"requests": entries, "count": len(entries),
                        "dropped": runtime.recorder.dropped})

    @bp.delete("/_sim/requests")
    def sim_requests_clear():
        get_runtime(key).recorder.clear()
        return jsonify({"cleared": True})

    @bp.get("/_sim/faults")
    def sim_faults_get():
        return jsonify(get_runtime(key).faults.snapshot())

    @bp.post("/_sim/faults")
    def sim_faults_set():
        return jsonify(get_runtime(key).faults.configure(control_payload()))

    @bp.delete("/_sim/faults")
    def sim_faults_reset():
        faults = get_runtime(key).faults
        faults.reset()
        return jsonify(faults.snapshot())

    @bp.get("/_sim/clock")
    def sim_clock_get():
        return jsonify(get_runtime(key).clock.snapshot())

    @bp.post("/_sim/clock")
    def sim_clock_set():
        """{"now": iso, "frozen": true} sets the clock; {"advance_seconds": n} moves it."""
        payload = control_payload()
        clock = get_runtime(key).clock
        if "now" in payload:
            try:
                now = parse_iso_datetime(str(payload["now"]))
            except ValueError:
                raise ControlError(400, "now must be an ISO-8601 date-time") from None
            clock.set(now, frozen=bool(payload.get("frozen", True)))
        if "advance_seconds" in payload:
            clock.advance(number(payload["advance_seconds"], "advance_seconds",
                                  -10 * 365 * 86400, 10 * 365 * 86400))
        return jsonify(clock.snapshot())

    @bp.delete("/_sim/clock")
    def sim_clock_reset():
        clock = get_runtime(key).clock
        clock.set(None)
        return jsonify(clock.snapshot())


def define_simulator(key: str, title: str, *, create_state, register: tuple[Callable[[Blueprint], None], ...],
                     rate_limited_response: Callable[[], Response] | None = None, url_prefix: str | None = None,
                     **spec: Any) -> SimulatorSpec:
    """A simulator's `SimulatorSpec`: its blueprint gets the shared plumbing first (faults
    before the provider's auth), then each of `register` in order (hooks, routes, control)."""

    def create_blueprint() -> Blueprint:
        bp = Blueprint(key, f"sandbox.{key}")
        install_common(bp, key, rate_limited_response=rate_limited_response)
        for add in register:
            add(bp)
        return bp

    return SimulatorSpec(key=key, title=title, url_prefix=url_prefix or f"/{key}",
                         create_blueprint=create_blueprint, create_state=create_state, **spec)
