"""Preferences › Operations and `flask embedded ops`: real workers on a real Redis — a live
worker shows, a killed one goes, a failed job is shown by description only and can be
requeued (then succeeds) or deleted; company-wide admins only."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from rq.job import Job

from webapp.queue import PUSH, get_queue, get_redis

from ..conftest import ROOT, worker_env

FLAG = "ops-test:may-succeed"


def flaky_job(secret_argument: str) -> str:
    """Fails until the test sets FLAG (imported by the worker process)."""
    from webapp.queue import get_redis

    if not get_redis().exists(FLAG):
        raise RuntimeError(f"not yet ({secret_argument})")
    return "done"


def test_only_company_wide_admins_see_operations(client, login, factory):
    site = factory.site()
    login(factory.admin(sites=[site]))
    assert client.get("/preferences/operations/").status_code == 404
    assert client.post("/preferences/operations/failed/x/requeue").status_code == 404
    assert "Operations" not in client.get("/preferences/").get_data(as_text=True)


def test_failed_job_is_shown_without_arguments_then_requeued_and_succeeds(app, client, login, factory, run_worker):
    login(factory.admin(is_super=True))
    queue = get_queue(PUSH)
    job = queue.enqueue(f"{__name__}.flaky_job", "card-4111", description="flaky test job")
    run_worker()
    page = client.get("/preferences/operations/").get_data(as_text=True)
    assert "flaky test job" in page and "RuntimeError" in page
    # Every declared queue, most urgent first, even those never used yet.
    import re
    assert re.findall(r'data-queue="([a-z]+)"', page) == ["push", "webhooks", "sync", "maintenance"]
    assert "card-4111" not in page  # arguments and messages never reach the page
    cli = app.test_cli_runner().invoke(args=["embedded", "ops", "--json"])
    report = json.loads(cli.output)
    assert [j["description"] for j in report["failed"]] == ["flaky test job"] and "card-4111" not in cli.output

    get_redis().set(FLAG, "1")
    response = client.post(f"/preferences/operations/failed/{job.id}/requeue", headers={"HX-Request": "true"})
    assert "Requeued: flaky test job." in response.get_data(as_text=True)
    run_worker()
    assert Job.fetch(job.id, connection=get_redis()).get_status() == "finished"
    assert "flaky test job" not in client.get("/preferences/operations/panel").get_data(as_text=True)


def test_failed_job_can_be_deleted(client, login, factory, run_worker):
    login(factory.admin(is_super=True))
    job = get_queue(PUSH).enqueue(f"{__name__}.flaky_job", "x", description="doomed job")
    run_worker()
    response = client.post(f"/preferences/operations/failed/{job.id}/delete", follow_redirects=True)
    assert "Deleted: doomed job." in response.get_data(as_text=True)
    again = client.post(f"/preferences/operations/failed/{job.id}/delete", follow_redirects=True)
    assert "no longer in the failed registry" in again.get_data(as_text=True)


def test_a_running_worker_shows_and_a_killed_one_goes(app, client, login, factory, monkeypatch):
    login(factory.admin(is_super=True))
    monkeypatch.setitem(app.config, "RQ_WORKER_TTL", 3)
    env = {**worker_env(app), "RQ_WORKER_TTL": "3", "RQ_MAINTENANCE_INTERVAL": "1"}
    # Its own process group: RQ's scheduler runs in a child process that outlives a SIGKILLed
    # parent, and the test must not leave it behind.
    proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        name = None
        for _ in range(150):
            report = json.loads(app.test_cli_runner().invoke(args=["embedded", "ops", "--json"]).output)
            mine = [w for w in report["workers"] if w["pid"] == proc.pid]
            if mine:
                name = mine[0]["name"]
                break
            time.sleep(0.2)
        assert name, "the worker never registered"
        page = client.get("/preferences/operations/").get_data(as_text=True)
        assert f'data-worker="{name}"' in page and f'data-worker="{name}" data-state="gone"' not in page
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for _ in range(150):  # silent past its TTL: shown as gone
            if f'data-worker="{name}" data-state="gone"' in client.get("/preferences/operations/panel").get_data(
                    as_text=True):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("a killed worker still shows as running")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
