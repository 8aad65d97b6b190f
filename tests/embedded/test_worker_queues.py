"""Queues by urgency (push, webhooks, sync, maintenance) and workers that choose them: one
worker started with no arguments takes every queue, most urgent first; two workers with
different (overlapping) queue sets against one Redis do every job exactly once, each on a
queue it listens to."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter

from webapp.extensions import db
from webapp.models import OrderPush
from webapp.queue import QUEUES, get_queue, get_redis
from webapp.storefront import orders as uc

from ..conftest import ROOT, worker_env
from ..queue_probe import LOG, RUNS


def _worker(app, *queues: str, label: str = "") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "worker.py"), "--burst", *queues], cwd=ROOT,
                            env={**worker_env(app), "WORKER_LABEL": label}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> str:
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, output[-4000:]
    return output


def _probe(queue: str, name: str) -> None:
    get_queue(queue).enqueue("tests.queue_probe.probe", name, description=f"probe {name}")


def _log() -> list[tuple[str, str, str]]:
    return [tuple(entry.decode().split("|")) for entry in get_redis().lrange(LOG, 0, -1)]


def test_one_worker_with_no_arguments_takes_every_queue_most_urgent_first(app, app_ctx):
    for queue in reversed(QUEUES):  # the least urgent work was queued first
        for i in range(3):
            _probe(queue, f"{queue}-{i}")
    _finish(_worker(app))
    assert [queue for _, queue, _ in _log()] == [q for q in QUEUES for _ in range(3)]


def test_an_unknown_queue_is_refused(app):
    proc = _worker(app, "default")
    output = _finish_failed(proc)
    assert "unknown queue(s) default" in output and "push webhooks sync maintenance" in output


def _finish_failed(proc: subprocess.Popen) -> str:
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    return output


def test_two_workers_with_different_queue_sets_do_each_job_once(app, factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    orders = [factory.order(site, paid=False, items=[{"approval": "approved"}]) for _ in range(8)]
    for order in orders:
        uc.mark_paid(order, "ops@example.test")  # real push jobs, on the push queue
    probes = {queue: [f"{queue}-{i}" for i in range(25)] for queue in QUEUES}
    for i in range(25):  # interleaved, so both workers are busy at once
        for queue in QUEUES:
            _probe(queue, probes[queue][i])

    # A: the urgent queues and sync; B: sync and maintenance. Both compete for sync.
    listens = {"A": {"push", "webhooks", "sync"}, "B": {"sync", "maintenance"}}
    workers = [_worker(app, *sorted(listens[label], key=QUEUES.index), label=label) for label in listens]
    for proc in workers:
        _finish(proc)

    runs = {name.decode(): int(count) for name, count in get_redis().hgetall(RUNS).items()}
    expected = [name for names in probes.values() for name in names]
    assert sorted(runs) == sorted(expected)
    assert set(runs.values()) == {1}, {n: c for n, c in runs.items() if c != 1}  # every job exactly once
    log = _log()
    assert len(log) == len(expected)
    for name, queue, label in log:
        assert name.startswith(queue) and queue in listens[label], (name, queue, label)
    by_worker = Counter(label for _, _, label in log)
    assert by_worker["A"] >= 50 and by_worker["B"] >= 25  # each did its own queues' work

    db.session.expire_all()
    assert [p.state for p in OrderPush.query.all()] == ["pushed"] * len(orders)
    stats = sim.stats()
    assert stats["orders"] == len(orders) and stats["duplicate_order_numbers"] == 0
    for queue in QUEUES:
        assert get_queue(queue).count == 0


def _wait(condition, what: str, proc: subprocess.Popen, limit: float = 60) -> None:
    import time

    deadline = time.monotonic() + limit
    while not condition():
        assert proc.poll() is None, f"worker exited before {what}"
        assert time.monotonic() < deadline, f"no {what} within {limit:.0f}s"
        time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.communicate(timeout=60)


def test_only_a_worker_taking_maintenance_keeps_the_recovery_chain(app, app_ctx):
    from rq import Worker

    from webapp.embedded.maintenance import CHAIN_KEY
    from webapp.queue import MAINTENANCE

    redis = get_redis()
    maintenance = get_queue(MAINTENANCE)
    dedicated = subprocess.Popen([sys.executable, str(ROOT / "worker.py"), "push", "webhooks"], cwd=ROOT,
                                 env=worker_env(app), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: len(Worker.all(connection=redis)) == 1, "registered worker", dedicated)
        [worker] = Worker.all(connection=redis)
        assert worker.queue_names() == ["push", "webhooks"]
        # It started no maintenance chain, so no job piles up in a queue it never takes.
        assert not redis.exists(CHAIN_KEY)
        assert maintenance.count == 0 and len(maintenance.scheduled_job_registry) == 0
    finally:
        _stop(dedicated)
    everything = subprocess.Popen([sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=worker_env(app),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: redis.exists(CHAIN_KEY), "maintenance chain", everything)
    finally:
        _stop(everything)


# A real worker that notes which process runs each job.
WHERE_WORKER = """
import os, runpy, sys
import redis
import tests.queue_probe as probe_module
from webapp.embedded import jobs
r = redis.Redis.from_url(os.environ["REDIS_URL"])
r.set("test:worker-pid", os.getpid())
def noting(name, real):
    def job(*args):
        r.rpush("test:job-pids", f"{name}|{os.getpid()}")
        return real(*args)
    return job
jobs.push_order_job.func = noting("push", jobs.push_order_job.func)
probe_module.probe = noting("probe", probe_module.probe)
sys.argv = ["worker.py", "--burst"]
runpy.run_path("worker.py", run_name="__main__")
"""


def test_an_order_push_runs_in_the_worker_process_other_jobs_in_a_work_horse(app, app_ctx):
    """No fork per push (bench starved_push: a push's fixed cost is paid by every sync it
    interrupts); a sync slice still gets a work horse of its own."""
    from webapp.embedded.jobs import push_order_job

    push_order_job.enqueue(987654)  # no such push: the job looks and skips
    push_order_job.enqueue(987655)
    _probe("sync", "slice-like")
    result = subprocess.run([sys.executable, "-c", WHERE_WORKER], env=worker_env(app), cwd=ROOT,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-4000:]
    redis = get_redis()
    worker_pid = redis.get("test:worker-pid").decode()
    ran = [entry.decode().split("|") for entry in redis.lrange("test:job-pids", 0, -1)]
    assert [name for name, _ in ran] == ["push", "push", "probe"]
    assert [pid for name, pid in ran if name == "push"] == [worker_pid, worker_pid]
    assert [pid for name, pid in ran if name == "probe"] != [worker_pid]
    assert get_queue("push").count == 0 and get_queue("sync").count == 0
