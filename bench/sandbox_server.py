"""The provider sandbox on a free loopback port, in its own process (so its CPU use is not
charged to the process being measured). Prints ``PORT <n>`` (the index) once every simulator
listens; the index (``GET /``) says where each simulator serves its real paths.

    python -m bench.sandbox_server '{"SANDBOX_RECORD_LIMIT": 200000}'
"""
from __future__ import annotations

import json
import sys
import threading

from sandbox.testing import start_world


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    running = start_world(config)
    print(f"PORT {running.index.rsplit(':', 1)[1]}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
