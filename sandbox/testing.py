"""Run the sandbox (or any WSGI app) on a free local port in a daemon thread, for tests."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from . import create_sandbox_app


class _QuietHandler(WSGIRequestHandler):
    """No access log lines: tests read the recorder instead."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def serve_wsgi(app: Callable, host: str = "127.0.0.1",
               quiet: bool = True) -> tuple[str, Callable[[], None]]:
    """Serve `app` with a threaded werkzeug server; returns (base_url, shutdown)."""
    server = make_server(host, 0, app, threaded=True,
                         request_handler=_QuietHandler if quiet else None)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name=f"sandbox-server-{server.server_port}", daemon=True)
    thread.start()
    stopped = threading.Event()

    def shutdown() -> None:
        if stopped.is_set():
            return
        stopped.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{server.server_port}", shutdown


def run_sandbox(config: dict | None = None) -> tuple[str, Callable[[], None]]:
    """Start a fresh sandbox app on 127.0.0.1:<free port>; returns (base_url, shutdown)."""
    return serve_wsgi(create_sandbox_app(config))
