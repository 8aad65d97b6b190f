"""``python -m sandbox --host 127.0.0.1 --port 5001`` serves every simulator (threaded): the index
(every simulator under its prefix, ``GET /`` lists them) on ``--port`` and each simulator at its
provider's real paths on a port of its own: ``--port`` + 1, + 2 … in `sandbox.registry` order
(``--simulator-port-base`` moves them)."""
from __future__ import annotations

import argparse
import threading

from .registry import SIMULATORS
from .testing import start_world


def simulator_ports(base: int) -> dict[str, int]:
    return {dotted.rsplit(".", 1)[1]: base + n for n, dotted in enumerate(SIMULATORS)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--simulator-port-base", type=int, default=None,
                        help="first port of the real-path simulators (default: --port + 1; 0: any free ports,"
                             " listed by GET / on the index)")
    parser.add_argument("--external-base-url", default=None,
                        help="base URL of the index advertised in webhook resource URLs "
                             "(default: the Host of each request)")
    args = parser.parse_args(argv)
    config = {}
    if args.external_base_url:
        config["SANDBOX_EXTERNAL_BASE_URL"] = args.external_base_url
    first = args.port + 1 if args.simulator_port_base is None else args.simulator_port_base
    running = start_world(config, host=args.host, port=args.port,
                          simulator_ports=simulator_ports(first) if first else None, quiet=False)
    print(f"sandbox index on {running.index}/", flush=True)
    for key, url in running.urls.items():
        print(f"  {key:<16} {url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


if __name__ == "__main__":
    main()
