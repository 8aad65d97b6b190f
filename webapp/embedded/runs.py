"""Synchronization runs: request, queue slices, recover (execution: ``run_slices``).

The database is the truth for every run (state, counters, progress, checkpoint, log lines);
the UI never depends on an RQ job still existing. One active run per (account, site) — or
per account for a global run — is enforced by a unique ``active_key``; a global run also
takes a per-site Redis lock so it never overlaps a site run on the same site.

A run is a plan of stages (site × item) worked through in slices: each job handles at most
SYNC_SLICE_PAGES pages, commits its checkpoint (stage + cursor) and queues the next slice,
so other jobs run in between. A rate limit (ours or the provider's) ends the slice too: the
run waits (state ``waiting``, ``resume_at``) and its next slice is scheduled for the reset
time through RQ's scheduler — no worker sleeps through the window. Each slice job carries
the run's ``slice_no`` and claims it with a conditional UPDATE, so a duplicated or replayed
job does nothing.
"""
from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (RUN_FAILED, RUN_PARTIAL, RUN_QUEUED, RUN_RUNNING,
                      RUN_WAITING, SYNC_ITEMS, ProviderAccount, RunLogLine, Site, SiteActivation, SyncRun, utcnow)
from .jobs import sync_run_job

log = logging.getLogger(__name__)

SITE_LOCK_TTL = 120


class RunRefused(Exception):
    pass


ITEM_LABELS = {"orders": "Push orders", "status": "Update order status", "products": "Products",
               "categories": "Categories"}


def supported_items(account: ProviderAccount) -> list[str]:
    return account.provider.capabilities.sync_items


def _active_key(account_id: int, site_id: int | None) -> str:
    return f"{account_id}:{site_id if site_id is not None else 'global'}"


def request_run(account: ProviderAccount, items: list[str], started_by: str, site: Site | None = None,
                options: dict | None = None) -> SyncRun:
    """Create the run (committed) and queue its job. Refuses unsupported items, sites where
    the account is not live, and a second run while one is active. ``options`` start its
    checkpoint (a backlog run: go_live)."""
    items = [i for i in SYNC_ITEMS if i in set(items)]
    if not items:
        raise RunRefused("Choose at least one thing to synchronize.")
    unsupported = [i for i in items if i not in supported_items(account)]
    if unsupported:
        raise RunRefused(f"{account.provider.name} does not support: {', '.join(ITEM_LABELS[i] for i in unsupported)}.")
    if site is not None:
        activation = SiteActivation.query.filter_by(account_id=account.id, site_id=site.id).first()
        if activation is None or not (activation.enabled and activation.is_live):
            raise RunRefused(f"{account.name} is not enabled and live on {site.name}.")
    elif not SiteActivation.query.filter_by(account_id=account.id, enabled=True, is_live=True).first():
        raise RunRefused(f"{account.name} is not enabled and live on any site.")
    run = SyncRun(account_id=account.id, site_id=site.id if site else None, scope="site" if site else "global",
                  items=items, started_by=started_by, state=RUN_QUEUED, checkpoint=dict(options or {}),
                  active_key=_active_key(account.id, site.id if site else None))
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        active = SyncRun.query.filter_by(active_key=_active_key(account.id, site.id if site else None)).first()
        where = f"on {site.name}" if site else "globally"
        raise RunRefused(f"A synchronization of {account.name} {where} is already "
                         f"{active.state if active else 'in progress'}"
                         f"{f' (run #{active.id})' if active else ''}. Wait for it to finish.") from None
    try:
        _enqueue(run.id)
    except RedisError:
        log.exception("sync run %s could not be queued", run.id)
        run.state, run.finished_at, run.active_key = RUN_FAILED, utcnow(), None
        run.error = "The background queue is unreachable, so the synchronization could not start. Try again shortly."
        db.session.add(RunLogLine(run_id=run.id, site_id=run.site_id, level="error", message=run.error))
        db.session.commit()
        raise RunRefused(run.error) from None
    return run


def _job_id(run_id: int, slice_no: int) -> str:
    return f"run-{run_id}-s{slice_no}"


def _enqueue(run_id: int, slice_no: int = 0, delay: float = 0) -> None:
    """Queue the slice ``slice_no`` of a run, now or after ``delay`` seconds (RQ scheduler)."""
    sync_run_job.enqueue(run_id, slice_no, delay=delay, job_id=_job_id(run_id, slice_no))


class SiteLock:
    """Held while a run works on a site; a global run skips a site a site run is busy with.
    It expires by itself if the worker dies, and is refreshed on every heartbeat. Owned by the
    run (``owner``), not by one slice: a slice resumed after its worker was killed takes back
    its own run's lock instead of skipping the site until the lock expires."""

    def __init__(self, account_id: int, site_id: int, owner: str | None = None):
        from ..queue import get_redis

        self.redis = get_redis()
        self.key, self.token = f"sync-lock:{account_id}:{site_id}", owner or uuid.uuid4().hex
        self.held = False

    def acquire(self) -> bool:
        self.held = bool(self.redis.set(self.key, self.token, nx=True, ex=SITE_LOCK_TTL))
        if not self.held and self.redis.get(self.key) == self.token.encode():
            self.held = bool(self.redis.expire(self.key, SITE_LOCK_TTL))
        return self.held

    def refresh(self) -> None:
        if self.held and self.redis.get(self.key) == self.token.encode():
            self.redis.expire(self.key, SITE_LOCK_TTL)

    def release(self) -> None:
        if self.held and self.redis.get(self.key) == self.token.encode():
            self.redis.delete(self.key)
        self.held = False


@contextmanager
def site_lock(account_id: int, site_id: int):
    lock = SiteLock(account_id, site_id)
    try:
        yield lock if lock.acquire() else None
    finally:
        lock.release()


# ---- recovery ---------------------------------------------------------------------------

def _job_waiting(run: SyncRun) -> bool:
    """The run's next slice job is still queued or scheduled (a long queue, not a lost job)."""
    from rq.job import Job, JobStatus
    from rq.exceptions import NoSuchJobError

    from ..queue import get_redis

    try:
        status = Job.fetch(_job_id(run.id, run.slice_no), connection=get_redis()).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def execute_run(run_id: int, slice_no: int = 0) -> str:
    """Run one slice of a run (what its RQ job does); see ``run_slices``."""
    from .run_slices import execute_run as run_slice

    return run_slice(run_id, slice_no)


def enqueue_slice(run_id: int, slice_no: int, delay: float = 0) -> None:
    """Queue a run's next slice; if Redis is away, the committed checkpoint waits for the
    maintenance job to queue it again."""
    try:
        _enqueue(run_id, slice_no, delay)
    except RedisError:
        log.exception("sync run %s: next slice could not be queued", run_id)


def recover_stale_runs() -> int:
    """A run whose job was lost (its worker died, Redis lost it) is queued again from its
    checkpoint, up to SYNC_MAX_RECOVERIES times, then ends failed — never 'running' forever.
    A waiting run is alive until its resume time has passed by the heartbeat allowance."""
    now = utcnow()
    heartbeat_stale = timedelta(seconds=current_app.config["RUN_HEARTBEAT_STALE_SECONDS"])
    queued_stale = timedelta(seconds=current_app.config["RUN_STALE_QUEUED_SECONDS"])
    stale = SyncRun.query.filter(
        ((SyncRun.state == RUN_RUNNING) & (SyncRun.heartbeat_at < now - heartbeat_stale))
        | ((SyncRun.state == RUN_QUEUED) & (SyncRun.queued_at < now - queued_stale))
        | ((SyncRun.state == RUN_WAITING) & (SyncRun.resume_at < now - heartbeat_stale))
    ).all()
    recovered = 0
    for run in stale:
        if _job_waiting(run):
            continue
        recovered += 1
        recoveries = (run.checkpoint or {}).get("recoveries", 0)
        if recoveries < current_app.config["SYNC_MAX_RECOVERIES"]:
            _requeue(run, recoveries + 1)
            continue
        was = run.state
        run.state = RUN_PARTIAL if run.created + run.updated + run.unchanged + run.skipped else RUN_FAILED
        run.finished_at, run.active_key, run.resume_at = now, None, None
        run.error = ("The worker running this synchronization stopped (no heartbeat) too often. Start it again."
                     if was != RUN_QUEUED else "This synchronization was never picked up by a worker. Start it again.")
        db.session.add(RunLogLine(run_id=run.id, site_id=run.site_id, level="error", message=run.error))
        db.session.commit()
    if recovered:
        log.warning("recovered %s stale runs", recovered)
    return recovered


def _requeue(run: SyncRun, recoveries: int) -> None:
    """Next slice number (a zombie job of the old one can no longer claim), from the checkpoint."""
    slice_no = run.slice_no + 1
    result = db.session.execute(update(SyncRun).where(SyncRun.id == run.id, SyncRun.slice_no == run.slice_no,
                                                      SyncRun.state == run.state)
                                .values(slice_no=slice_no, state=RUN_QUEUED, queued_at=utcnow(), resume_at=None,
                                        checkpoint={**(run.checkpoint or {}), "recoveries": recoveries}))
    if result.rowcount != 1:
        db.session.rollback()
        return
    db.session.add(RunLogLine(run_id=run.id, site_id=run.site_id, level="warning", message=(
        "The job of this synchronization was lost (its worker stopped); it continues from its checkpoint.")))
    db.session.commit()
    enqueue_slice(run.id, slice_no)
