"""The machinery at a glance, for ops: workers, queues, scheduled and failed jobs, the
maintenance chain, Redis and database health, pushes stuck past their lease. Read from RQ's
own registries in Redis and from the database; never shows job arguments."""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler

from ..extensions import db
from ..models import PUSH_PUSHING, OrderPush, ProviderAccount, utcnow

log = logging.getLogger(__name__)
FAILED_SHOWN = 50


@dataclass
class WorkerRow:
    name: str
    hostname: str
    pid: int | None
    state: str
    queues: list[str]
    current_job: str          # the job's description, never its arguments
    last_heartbeat: str | None
    seconds_since_heartbeat: float | None


@dataclass
class QueueRow:
    name: str
    depth: int
    oldest_age_seconds: float | None
    running: int
    scheduled: int
    failed: int


@dataclass
class JobRow:
    id: str
    queue: str
    description: str
    at: str | None            # enqueued (scheduled: due; failed: ended)
    error: str = ""           # the last line of the failure, not the traceback


@dataclass
class Snapshot:
    redis: str
    database: str
    workers: list[WorkerRow] = field(default_factory=list)
    queues: list[QueueRow] = field(default_factory=list)
    scheduled: list[JobRow] = field(default_factory=list)
    failed: list[JobRow] = field(default_factory=list)
    scheduler_holder: str | None = None
    maintenance: dict | None = None
    stuck_pushes: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def _age(value: datetime | None, now: datetime) -> float | None:
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return round(max(0.0, (now - value).total_seconds()), 1)


def snapshot(company_id: int | None = None) -> Snapshot:
    """The whole installation's machinery; stuck pushes only of ``company_id`` when given
    (they name accounts)."""
    from ..queue import QUEUES, get_queue, get_redis

    shot = Snapshot(redis="ok", database="ok")
    try:
        db.session.execute(db.text("SELECT 1"))
        shot.stuck_pushes = _stuck_pushes(company_id)
    except Exception as exc:  # the page must still show what Redis knows
        db.session.rollback()
        log.warning("operations: database unavailable: %s", exc)
        shot.database = "unavailable"
    try:
        redis = get_redis()
        redis.ping()
    except RedisError as exc:
        log.warning("operations: redis unavailable: %s", exc)
        shot.redis = "unavailable"
        return shot
    now = datetime.now(timezone.utc)
    from flask import current_app

    # An idle worker beats about every RQ_WORKER_TTL - 15 s; one silent for longer than its TTL
    # died without saying so (SIGKILL, lost machine) — RQ forgets it only a minute later.
    gone_after = current_app.config["RQ_WORKER_TTL"] + 10
    shot.workers = [_worker_row(w, now, gone_after)
                    for w in sorted(Worker.all(connection=redis), key=lambda w: w.name)]
    # Declared queues by urgency (an empty one shows 0), then any other still in Redis (e.g. a
    # `default` queue left over from before the split).
    queues = {name: get_queue(name) for name in QUEUES}
    queues.update({q.name: q for q in sorted(Queue.all(connection=redis), key=lambda q: q.name)
                   if q.name not in queues})
    for queue in queues.values():
        oldest = queue.get_jobs(0, 1)
        scheduled, failed = ScheduledJobRegistry(queue=queue), FailedJobRegistry(queue=queue)
        shot.queues.append(QueueRow(queue.name, queue.count, _age(oldest[0].enqueued_at, now) if oldest else None,
                                    StartedJobRegistry(queue=queue).count, scheduled.count, failed.count))
        shot.scheduled += _jobs(redis, queue.name, scheduled.get_job_ids(0, FAILED_SHOWN - 1), "scheduled", scheduled)
        shot.failed += _jobs(redis, queue.name, failed.get_job_ids(0, FAILED_SHOWN - 1), "failed")
    shot.scheduler_holder = _scheduler_holder(redis)
    last = redis.get("embedded:maintenance:last")
    shot.maintenance = json.loads(last) if last else None
    return shot


def _scheduler_holder(redis) -> str | None:
    """Where RQ's scheduler runs, as ops find it: "host, pid N". RQ locks scheduling per queue
    under a random scheduler name (usually one scheduler holds them all); the scheduler's own
    hash says which process that is — a child of the worker that started it."""
    from ..queue import QUEUES

    names = {redis.get(RQScheduler.get_locking_key(name)) for name in QUEUES} - {None}
    holders = []
    for name in sorted(n.decode() for n in names):
        info = {k.decode(): v.decode() for k, v in redis.hgetall(f"rq:scheduler:{name}").items()}
        holders.append(f"{info['hostname']}, pid {info['pid']}" if info.get("hostname") and info.get("pid", "0") != "0"
                       else f"scheduler {name[:8]} (starting)")
    return "; ".join(holders) or None


def _worker_row(worker: Worker, now: datetime, gone_after: float) -> WorkerRow:
    job = worker.get_current_job()
    silent = _age(worker.last_heartbeat, now)
    state = "gone" if silent is not None and silent > gone_after else worker.get_state()
    return WorkerRow(name=worker.name, hostname=worker.hostname or "", pid=worker.pid, state=state,
                     queues=worker.queue_names(), current_job=(job.description or job.func_name) if job else "",
                     last_heartbeat=_iso(worker.last_heartbeat),
                     seconds_since_heartbeat=_age(worker.last_heartbeat, now))


def _jobs(redis, queue: str, ids: list[str], kind: str, registry=None) -> list[JobRow]:
    rows = []
    for job in Job.fetch_many(ids, connection=redis):
        if job is None:
            continue
        if kind == "scheduled":
            at = _iso(registry.get_scheduled_time(job.id)) if registry is not None else None
            rows.append(JobRow(job.id, queue, job.description or job.func_name, at))
        else:
            result = job.latest_result()
            error = (result.exc_string if result else job.exc_info) or ""
            lines = [line for line in error.strip().splitlines() if line.strip()]
            # Only the exception's type: its message may carry data the viewer should not see.
            rows.append(JobRow(job.id, queue, job.description or job.func_name, _iso(job.ended_at),
                               lines[-1].split(":", 1)[0][:120] if lines else ""))
    return rows


def _stuck_pushes(company_id: int | None) -> list[dict]:
    query = (db.session.query(OrderPush.id, OrderPush.order_id, OrderPush.lease_until, ProviderAccount.name)
             .join(ProviderAccount, ProviderAccount.id == OrderPush.account_id)
             .filter(OrderPush.state == PUSH_PUSHING, OrderPush.lease_until < utcnow()))
    if company_id is not None:
        query = query.filter(ProviderAccount.company_id == company_id)
    rows = query.order_by(OrderPush.lease_until).limit(50)
    return [{"push_id": r.id, "order_id": r.order_id, "account": r.name, "lease_expired_at": _iso(r.lease_until)}
            for r in rows]


class UnknownJob(LookupError):
    pass


def _failed_job(job_id: str):
    from ..queue import get_redis

    redis = get_redis()
    try:
        job = Job.fetch(job_id, connection=redis)
    except Exception as exc:  # NoSuchJobError, or an id that is not one
        raise UnknownJob(job_id) from exc
    registry = FailedJobRegistry(job.origin, connection=redis)
    if job.id not in registry.get_job_ids():
        raise UnknownJob(job_id)
    return job, registry


def requeue_failed(job_id: str) -> str:
    """Put a failed job back on its queue (RQ's own requeue); returns its description."""
    job, registry = _failed_job(job_id)
    registry.requeue(job.id)
    log.info("operations: requeued failed job %s (%s)", job.id, job.description)
    return job.description or job.func_name


def delete_failed(job_id: str) -> str:
    job, registry = _failed_job(job_id)
    description = job.description or job.func_name
    registry.remove(job, delete_job=True)
    log.info("operations: deleted failed job %s (%s)", job_id, description)
    return description
