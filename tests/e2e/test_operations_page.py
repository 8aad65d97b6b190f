"""Preferences › Operations in a real browser, live over HTMX, with a real worker: a failed job
is requeued from the page and then succeeds; the worker, SIGKILLed, shows as gone without a
reload. Screenshots at desktop width and 390 px."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

from playwright.sync_api import expect
from rq.job import Job

from webapp.queue import PUSH, get_queue, get_redis

from ..conftest import ROOT, worker_env
from ..embedded.test_operations import FLAG
from .conftest import _wait_for_worker

LIVE_MS = 40_000  # silent past RQ_WORKER_TTL (3 s) + 10 s, then the next 5-second refresh


def test_operations_page_requeues_a_failed_job_and_shows_a_killed_worker_gone(app, page, shot, log_in, monkeypatch,
                                                                               tmp_path):
    monkeypatch.setitem(app.config, "RQ_WORKER_TTL", 3)
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        # Its own process group: RQ's scheduler child outlives a SIGKILLed worker.
        proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT,
                                env={**worker_env(app), "RQ_WORKER_TTL": "3", "RQ_MAINTENANCE_INTERVAL": "1"},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_worker(app, proc, log_path)
        job = get_queue(PUSH).enqueue("tests.embedded.test_operations.flaky_job", "card-4111",
                                      description="flaky e2e job")
        log_in()
        page.goto("/preferences/operations/")
        worker_row = page.locator("#ops-workers tr[data-worker]").filter(has_text=str(proc.pid))
        expect(worker_row).to_have_attribute("data-state", re.compile("idle|busy"))
        failed_row = page.locator(f'#ops-failed tr[data-job="{job.id}"]')
        expect(failed_row).to_be_visible(timeout=LIVE_MS)  # arrives with a live refresh
        expect(failed_row).to_contain_text("flaky e2e job")
        expect(page.locator("#ops-panel")).not_to_contain_text("card-4111")  # never the arguments
        shot("desktop-failed-job")

        get_redis().set(FLAG, "1")
        failed_row.get_by_role("button", name="Requeue").click()
        expect(page.get_by_text("Requeued: flaky e2e job.")).to_be_visible()
        expect(failed_row).to_have_count(0, timeout=LIVE_MS)  # out of the failed registry at once
        deadline = time.monotonic() + 30
        while Job.fetch(job.id, connection=get_redis()).get_status() != "finished" and time.monotonic() < deadline:
            time.sleep(0.2)  # the worker runs it again, and this time it succeeds
        assert Job.fetch(job.id, connection=get_redis()).get_status() == "finished"
        expect(page.locator("#ops-failed tr[data-job]")).to_have_count(0, timeout=LIVE_MS)  # and stays out
        shot("desktop-requeued")

        name = worker_row.get_attribute("data-worker")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        gone = page.locator(f'#ops-workers tr[data-worker="{name}"]')
        expect(gone).to_have_attribute("data-state", "gone", timeout=LIVE_MS)  # no reload: the live panel
        expect(gone).to_contain_text("gone (no heartbeat)")
        shot("desktop-worker-gone")
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        expect(page.locator(f'#ops-workers tr[data-worker="{name}"]')).to_have_attribute("data-state", "gone")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot("390-worker-gone")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
