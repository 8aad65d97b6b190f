"""``python -m sandbox --host 127.0.0.1 --port 5001`` serves every simulator (threaded)."""
from __future__ import annotations

import argparse

from werkzeug.serving import run_simple

from . import create_sandbox_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--external-base-url", default=None,
                        help="base URL advertised in webhook resource URLs "
                             "(default: the Host of each request)")
    args = parser.parse_args(argv)
    config = {}
    if args.external_base_url:
        config["SANDBOX_EXTERNAL_BASE_URL"] = args.external_base_url
    run_simple(args.host, args.port, create_sandbox_app(config), threaded=True,
               use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
