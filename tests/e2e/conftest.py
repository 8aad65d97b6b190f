"""Real-browser fixtures: the hub over real HTTP, a provider sandbox, a real RQ worker
running continuously (with its scheduler), and Playwright driving Debian's Chromium.

Nothing here downloads a browser: Playwright's wheel carries its driver and launches
``/usr/bin/chromium`` (installed by ``.ci/run``). A missing browser FAILS the tests with a
message saying how to install it; it never skips them.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from sandbox.testing import run_sandbox, serve_wsgi
from webapp.embedded import install
from webapp.extensions import db

from ..conftest import ROOT, worker_env

CHROMIUM = "/usr/bin/chromium"
# Known to work on this machine kind: no GPU, no sandbox (root), and nothing that phones home
# (the closed network refuses it, noisily).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "e2e-pass-2026"
WAIT_MS = 20_000  # the longest a test waits for something to happen by itself


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# --- browser -------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. Install it with "
                    "`apt-get update && apt-get install -y --no-install-recommends chromium` (.ci/run does). "
                    "Never `playwright install`.", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements-dev.txt pins it
        pytest.fail("the Python package playwright is missing: pip install -r requirements-dev.txt",
                    pytrace=False)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# --- the running system --------------------------------------------------------------------------

@pytest.fixture
def hub(app):
    """The hub over real HTTP, in-process (the test database and Redis apply), CSRF switched
    on as in production so every form and HTMX request must carry its token."""
    previous = app.config.get("WTF_CSRF_ENABLED", True)
    app.config["WTF_CSRF_ENABLED"] = True
    base, stop = serve_wsgi(app)
    yield base
    stop()
    app.config["WTF_CSRF_ENABLED"] = previous


@pytest.fixture
def sandbox():
    base, stop = run_sandbox()
    yield base
    stop()


@pytest.fixture
def worker(app, request, tmp_path):
    """A real `python worker.py` (with the scheduler) for the whole test; pushes, connection
    tests and synchronization runs happen by themselves, as in production."""
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=worker_env(app),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_worker(app, proc, log_path)
        yield proc
    finally:
        _stop(proc)
        failed = any(getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
                     for when in ("setup", "call"))
        if failed:
            print(f"\n--- worker log (tail) ---\n{log_path.read_text(errors='replace')[-6000:]}")


def _wait_for_worker(app, proc, log_path: Path, seconds: float = 30) -> None:
    from rq import Worker

    from webapp.queue import get_redis

    deadline = time.monotonic() + seconds
    with app.app_context():
        connection = get_redis()
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"worker exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}")
            if any(w.pid == proc.pid for w in Worker.all(connection=connection)):
                return
            time.sleep(0.2)
    pytest.fail(f"the worker did not register within {seconds:.0f}s:\n{log_path.read_text(errors='replace')[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """Warm shutdown, then the whole process group (the worker and its work horse)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


# --- data set up through use-cases ---------------------------------------------------------------

@dataclass
class SimAccount:
    """One ShipStation account inside the sandbox."""

    base: str
    api_key: str
    api_secret: str

    @property
    def api(self) -> str:
        return f"{self.base}/shipstation"

    def control(self, path: str, **payload) -> dict:
        response = requests.post(f"{self.api}/_sim/{path}", json={"api_key": self.api_key, **payload}, timeout=10)
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture
def sim(sandbox) -> SimAccount:
    """A key pair registered in the sandbox (POST /shipstation/_sim/accounts)."""
    key, secret = f"key-{uuid.uuid4().hex[:12]}", f"secret-{uuid.uuid4().hex}"
    response = requests.post(f"{sandbox}/shipstation/_sim/accounts",
                             json={"api_key": key, "api_secret": secret}, timeout=10)
    assert response.status_code < 300, response.text
    return SimAccount(sandbox, key, secret)


@pytest.fixture
def company(app_ctx, factory):
    """A company with ShipStation enabled for the install, two sites and a super-admin."""
    install.enable_provider("shipstation")
    north = factory.site(slug="north", name="North Print Shop")
    south = factory.site(slug="south", name="South Signs")
    admin = factory.admin(email="admin@e2e.test", is_super=True, password=PASSWORD)
    admin.name = "Dana Admin"
    db.session.commit()
    return {"admin": admin, "north": north, "south": south, "admin_id": admin.id,
            "company_id": admin.company_id}


@pytest.fixture
def shipstation_account(company, sim):
    """A ShipStation account saved through the use-case (for tests that start later in the flow)."""
    from webapp.embedded.accounts import save_account

    result = save_account(None, company_id=company["company_id"], name="ShipStation Main",
                          provider_key="shipstation", admin_id=company["admin_id"], credentials={"api_key": sim.api_key, "api_secret": sim.api_secret,
                                                          "base_url": sim.api}, settings={})
    assert result.ok, result.errors
    return result.account


# --- the page ------------------------------------------------------------------------------------

@pytest.fixture
def page(browser, hub):
    context = browser.new_context(base_url=hub, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    # Assets and HTMX requests must not fail (a page answering 422 to a bad form is fine).
    page.on("response", lambda response: problems.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400 and response.request.resource_type != "document" else None)
    yield page
    context.close()
    # A JavaScript error, a CSP violation or a failed asset load is a defect a user would hit.
    assert not problems, "\n".join(problems)


@pytest.fixture
def shot(page, request):
    """shot("step") saves tests/e2e/screenshots/<test>-<step>.png (whole page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name.removeprefix("test_"))

    def _shot(step: str) -> Path:
        path = SCREENSHOTS / f"{test}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot


@pytest.fixture
def log_in(page, company):
    """log_in() logs the browser in through the login form as the super-admin."""

    def _log_in(email: str = "admin@e2e.test", password: str = PASSWORD):
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name=re.compile("Welcome")).wait_for()

    return _log_in
