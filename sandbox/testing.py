"""Run the sandbox (or any WSGI app) on local ports in daemon threads, for tests and tools."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from . import SandboxWorld


class _QuietHandler(WSGIRequestHandler):
    """No access log lines: tests read the recorder instead."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def serve_wsgi(app: Callable, host: str = "127.0.0.1", quiet: bool = True,
               port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve `app` with a threaded werkzeug server; returns (base_url, shutdown)."""
    server = make_server(host, port, app, threaded=True,
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


class RunningSandbox:
    """A served world: ``index`` (prefixed mounts) and ``urls[key]`` (each simulator at its
    provider's real path on its own port)."""

    def __init__(self, world: SandboxWorld, index: str, urls: dict[str, str], stops: list[Callable[[], None]]):
        self.world, self.index, self.urls, self._stops = world, index, urls, stops

    def url(self, key: str) -> str:
        return self.urls[key]

    def stop(self) -> None:
        for stop in reversed(self._stops):
            stop()


def start_world(config: dict | None = None, *, host: str = "127.0.0.1", port: int = 0,
                simulator_ports: dict[str, int] | None = None, quiet: bool = True) -> RunningSandbox:
    """Serve every simulator at its real paths (free ports unless given), then the index."""
    world = SandboxWorld(config)
    stops, urls = [], {}
    try:
        for spec in world.specs:
            base, stop = serve_wsgi(world.apps[spec.key], host, quiet, (simulator_ports or {}).get(spec.key, 0))
            stops.append(stop)
            world.set_port(spec.key, int(base.rsplit(":", 1)[1]))
            urls[spec.key] = base + spec.real_mounts[0]
        index, stop = serve_wsgi(world.index_app, host, quiet, port)
        stops.append(stop)
    except BaseException:
        for stop in stops:
            stop()
        raise
    return RunningSandbox(world, index, urls, stops)


def run_sandbox(config: dict | None = None) -> tuple[str, Callable[[], None]]:
    """Start a fresh sandbox on 127.0.0.1 (index + real-path servers); returns (index_url, shutdown)."""
    running = start_world(config)
    return running.index, running.stop
