"""Synchronization runs: request, execute, log, recover.

The database is the truth for every run (state, counters, progress, log lines); the UI
never depends on an RQ job still existing. One active run per (account, site) — or per
account for a global run — is enforced by a unique ``active_key``; a global run also takes
a per-site Redis lock so it never overlaps a site run on the same site.
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
from ..models import (RUN_FAILED, RUN_FINISHED, RUN_QUEUED, RUN_RUNNING, SYNC_ITEMS, ProviderAccount, RunLogLine,
                      Site, SiteActivation, SyncRun, utcnow)

log = logging.getLogger(__name__)

RUN_JOB_TIMEOUT = 6 * 3600
QUEUED_STALE = timedelta(minutes=10)     # a queued run never picked up: its job was lost
MAX_LOG_LINES = 5000
SITE_LOCK_TTL = 120


class RunRefused(Exception):
    pass


ITEM_LABELS = {"orders": "Push orders", "status": "Update order status", "products": "Products",
               "categories": "Categories"}


def supported_items(account: ProviderAccount) -> list[str]:
    return account.provider.capabilities.sync_items


def _active_key(account_id: int, site_id: int | None) -> str:
    return f"{account_id}:{site_id if site_id is not None else 'global'}"


def request_run(account: ProviderAccount, items: list[str], started_by: str, site: Site | None = None) -> SyncRun:
    """Create the run (committed) and queue its job. Refuses unsupported items, sites where
    the account is not live, and a second run while one is active."""
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
                  items=items, started_by=started_by, state=RUN_QUEUED,
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


def _enqueue(run_id: int) -> None:
    from ..queue import get_queue

    get_queue().enqueue("webapp.embedded.jobs.sync_run_job", run_id, job_id=f"run-{run_id}-{uuid.uuid4().hex[:8]}",
                        job_timeout=RUN_JOB_TIMEOUT, result_ttl=3600, failure_ttl=7 * 86400,
                        description=f"sync run #{run_id}")


class RunContext:
    """What a sync step uses to log, count and report progress on its run."""

    def __init__(self, run: SyncRun):
        self.run = run
        self.site_id: int | None = run.site_id
        self.lock: "SiteLock | None" = None
        self._lines = RunLogLine.query.filter_by(run_id=run.id).count()

    def log(self, message: str, level: str = "info", **refs) -> None:
        if self._lines >= MAX_LOG_LINES:
            return
        self._lines += 1
        db.session.add(RunLogLine(run_id=self.run.id, site_id=refs.pop("site_id", self.site_id), level=level,
                                  message=message[:1000], **refs))
        if self._lines == MAX_LOG_LINES:
            db.session.add(RunLogLine(run_id=self.run.id, site_id=None, level="warning",
                                      message=f"Log truncated after {MAX_LOG_LINES} lines; counters stay exact."))

    def log_many(self, entries: list[tuple[str, dict]], level: str = "info") -> None:
        """Many lines in one INSERT (a batch of a sync); same cap and truncation line as log()."""
        room = MAX_LOG_LINES - self._lines
        if room <= 0 or not entries:
            return
        db.session.flush()  # lines added one by one before these keep their place
        now = utcnow()
        rows = [{"run_id": self.run.id, "site_id": refs.get("site_id", self.site_id), "level": level,
                 "message": message[:1000], "order_id": refs.get("order_id"), "product_id": refs.get("product_id"),
                 "category_id": refs.get("category_id"), "created_at": now} for message, refs in entries[:room]]
        db.session.execute(RunLogLine.__table__.insert(), rows)  # Core executemany: no ORM objects
        self._lines += len(rows)
        if self._lines == MAX_LOG_LINES:
            db.session.add(RunLogLine(run_id=self.run.id, site_id=None, level="warning",
                                      message=f"Log truncated after {MAX_LOG_LINES} lines; counters stay exact."))

    def count(self, outcome: str, n: int = 1) -> None:
        setattr(self.run, outcome, getattr(self.run, outcome) + n)

    def stage(self, text: str, total: int | None = None) -> None:
        self.run.stage = text[:100]
        if total is not None:
            self.run.progress_total += total
        self.beat()

    def progress(self, n: int = 1) -> None:
        self.run.progress_done += n

    def beat(self) -> None:
        """Commit what is done so far and prove the worker (and its site lock) is alive."""
        self.run.heartbeat_at = utcnow()
        db.session.commit()
        if self.lock is not None:
            self.lock.refresh()


def _claim(run_id: int) -> bool:
    now = utcnow()
    result = db.session.execute(update(SyncRun).where(SyncRun.id == run_id, SyncRun.state == RUN_QUEUED)
                                .values(state=RUN_RUNNING, started_at=now, heartbeat_at=now))
    db.session.commit()
    return result.rowcount == 1


class SiteLock:
    """Held while a run works on a site; a global run skips a site a site run is busy with.
    It expires by itself if the worker dies, and is refreshed on every heartbeat."""

    def __init__(self, account_id: int, site_id: int):
        from ..queue import get_redis

        self.redis = get_redis()
        self.key, self.token = f"sync-lock:{account_id}:{site_id}", uuid.uuid4().hex
        self.held = False

    def acquire(self) -> bool:
        self.held = bool(self.redis.set(self.key, self.token, nx=True, ex=SITE_LOCK_TTL))
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


def execute_run(run_id: int) -> str:
    if not _claim(run_id):
        return "skipped"
    ctx = RunContext(db.session.get(SyncRun, run_id))
    account_id, scope, items = ctx.run.account_id, ctx.run.scope, list(ctx.run.items)
    try:
        # Steps clear the session between batches, so only ids are kept here and ctx.run is
        # always the live row.
        if scope == "site":
            site_ids = [ctx.run.site_id]
        else:
            site_ids = [a.site_id for a in SiteActivation.query.filter_by(account_id=account_id, enabled=True,
                                                                          is_live=True)
                        .order_by(SiteActivation.site_id).all()]
            ctx.log(f"Global synchronization of {', '.join(ITEM_LABELS[i].lower() for i in items)} "
                    f"on {len(site_ids)} site(s).", site_id=None)
        for site_id in site_ids:
            ctx.site_id = site_id
            site = db.session.get(Site, site_id)
            with site_lock(account_id, site_id) as lock:
                if lock is None:
                    ctx.log(f"{site.name}: skipped, another synchronization is running on this site.", "warning")
                    ctx.count("skipped")
                    continue
                ctx.lock = lock
                _sync_site(ctx, account_id, site_id, items)
                ctx.lock = None
        run = ctx.run
        ctx.site_id = run.site_id
        run.state = RUN_FINISHED
        ctx.log(f"Finished: {run.created} created, {run.updated} updated, {run.unchanged} unchanged, "
                f"{run.skipped} skipped, {run.failed} failed.")
    except Exception as exc:
        db.session.rollback()
        log.exception("sync run %s failed", run_id)
        ctx.run = db.session.get(SyncRun, run_id)
        ctx.run.state, ctx.run.error = RUN_FAILED, f"{type(exc).__name__}: {exc}"[:1000]
        ctx.site_id = ctx.run.site_id
        ctx.log(f"The run stopped: {ctx.run.error}", "error")
    run = ctx.run
    run.finished_at, run.active_key, run.stage = utcnow(), None, ""
    db.session.commit()
    return run.state


def _sync_site(ctx: RunContext, account_id: int, site_id: int, items: list[str]) -> None:
    from . import catalog_sync, order_sync, status_sync

    steps = {"categories": catalog_sync.sync_categories, "products": catalog_sync.sync_products,
             "orders": order_sync.push_recent_orders, "status": status_sync.refresh_statuses}
    for item in ("categories", "products", "orders", "status"):
        if item in items:
            # Reloaded per step: a previous step may have cleared the session.
            account, site = db.session.get(ProviderAccount, account_id), db.session.get(Site, site_id)
            ctx.stage(f"{site.name}: {ITEM_LABELS[item].lower()}")
            steps[item](ctx, account, site)
            ctx.beat()


def recover_stale_runs() -> int:
    """A run whose worker died ends as failed (bounded time), never 'running' forever."""
    now = utcnow()
    # A running run silent this long lost its worker (RUN_HEARTBEAT_STALE_SECONDS, 3 min).
    heartbeat_stale = timedelta(seconds=current_app.config["RUN_HEARTBEAT_STALE_SECONDS"])
    stale = SyncRun.query.filter(
        ((SyncRun.state == RUN_RUNNING) & (SyncRun.heartbeat_at < now - heartbeat_stale))
        | ((SyncRun.state == RUN_QUEUED) & (SyncRun.queued_at < now - QUEUED_STALE))
    ).all()
    for run in stale:
        was = run.state
        run.state, run.finished_at, run.active_key = RUN_FAILED, now, None
        run.error = ("The worker running this synchronization stopped (no heartbeat). Start it again."
                     if was == RUN_RUNNING else "This synchronization was never picked up by a worker. Start it again.")
        db.session.add(RunLogLine(run_id=run.id, site_id=run.site_id, level="error", message=run.error))
    if stale:
        db.session.commit()
        log.warning("marked %s stale runs failed", len(stale))
    return len(stale)
