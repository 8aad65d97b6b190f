"""The provider sandbox on a free loopback port, in its own process (so its CPU use is not
charged to the process being measured). Prints ``PORT <n>`` once it listens.

    python -m bench.sandbox_server '{"SANDBOX_RECORD_LIMIT": 200000}'
"""
from __future__ import annotations

import json
import sys

from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox import create_sandbox_app


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    app = create_sandbox_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
