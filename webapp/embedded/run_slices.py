"""Executing a synchronization run, one slice job at a time.

A slice works through the run's plan of stages from its checkpoint until the plan is done
(the run ends), its page budget is spent (the next slice is queued at once, behind whatever
else waits) or a rate limit is met (the run waits and its next slice is scheduled for the
reset time through RQ's scheduler). Each slice job carries the run's ``slice_no`` and claims
it with a conditional UPDATE, so a duplicated or replayed job does nothing.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, update

from ..extensions import db
from ..models import (RUN_ACTIVE_STATES, RUN_FAILED, RUN_FINISHED, RUN_PARTIAL, RUN_RUNNING, RUN_WAITING,
                      ProviderAccount, Site, SiteActivation, SyncRun, utcnow)
from ..providers.errors import ProviderError, ProviderRateLimited
from ..queue import SYNC, more_urgent_waiting, stop_requested
from . import account_status
from .accounts import record_exchanges
from .clients import client_for
from .run_context import RunContext
from .runs import ITEM_LABELS, SiteLock, enqueue_slice

log = logging.getLogger(__name__)


class Budget:
    """Pages (or batches) one slice job may still handle before it queues the next slice:
    at most SYNC_SLICE_PAGES, and about SYNC_SLICE_SECONDS' worth at the pace the run's earlier
    slices measured — so a waiting push is taken within about a second even where one page
    takes a second (a slow database). Counted in pages rather than checked against a clock, so
    a page read ahead is never thrown away (it would cost a request of the provider's rate
    limit). A stopping worker (SIGTERM) ends the slice after the page in hand."""

    def __init__(self, pages: int, seconds: float = 0, page_seconds: float | None = None):
        if seconds and page_seconds:
            pages = min(pages, int(seconds / page_seconds))
        elif seconds:
            pages = 1  # the first slice measures the pace
        self.pages = self.left = max(1, pages)
        self.started, self.seconds = time.monotonic(), seconds
        self._urgent_checked, self._urgent = 0.0, False

    def spend(self, pages: int = 1) -> None:
        self.left -= pages

    @property
    def exhausted(self) -> bool:
        return self.left <= 0 or stop_requested()

    def urgent_waiting(self) -> bool:
        """The slice had its time (SYNC_SLICE_SECONDS) and a push or a webhook waits (looked up
        at most every 0.1 s): a batch being prepared is sent as it is and the slice ends, so
        even one worker takes it within moments — and a run under a steady stream of pushes
        still gets its share of the worker."""
        now = time.monotonic()
        if now - self.started < self.seconds:
            return False
        if now - self._urgent_checked >= 0.1:
            self._urgent_checked, self._urgent = now, more_urgent_waiting(SYNC)
        return self._urgent

    def pace(self, previous: float | None) -> float | None:
        """Seconds per page of this slice, smoothed with the previous slices' pace."""
        spent = self.pages - self.left
        if spent <= 0:
            return previous
        measured = (time.monotonic() - self.started) / spent
        return measured if previous is None else (previous + measured) / 2


@dataclass
class Pause:
    seconds: float
    reason: str


def _claim(run_id: int, slice_no: int) -> bool:
    """Only the job of the run's current slice runs it, once (a replayed job does nothing)."""
    now = utcnow()
    result = db.session.execute(
        update(SyncRun).where(SyncRun.id == run_id, SyncRun.slice_no == slice_no,
                              SyncRun.state.in_(RUN_ACTIVE_STATES))
        .values(state=RUN_RUNNING, slice_no=slice_no + 1, resume_at=None, heartbeat_at=now,
                started_at=func.coalesce(SyncRun.started_at, now)))
    db.session.commit()
    return result.rowcount == 1


def execute_run(run_id: int, slice_no: int = 0) -> str:
    """One slice of a run: stages from the checkpoint until the plan is done (the run ends),
    the page budget is spent (the next slice is queued now) or a rate limit is met (the next
    slice is scheduled for the reset time)."""
    if not _claim(run_id, slice_no):
        return "skipped"
    ctx = None
    try:
        ctx = RunContext(db.session.get(SyncRun, run_id))
        if "plan" not in ctx.checkpoint:
            _plan(ctx)
        config = current_app.config
        budget = Budget(config["SYNC_SLICE_PAGES"], config["SYNC_SLICE_SECONDS"], ctx.checkpoint.get("page_seconds"))
        plan = ctx.checkpoint["plan"]
        while ctx.checkpoint.get("stage", 0) < len(plan):
            outcome = _run_stage(ctx, plan[ctx.checkpoint.get("stage", 0)], budget)
            if isinstance(outcome, Pause):
                return _pause(ctx, outcome)
            if outcome == "more":
                return _next_slice(ctx, budget)
            ctx.next_stage()
            ctx.beat()
            if budget.exhausted and ctx.checkpoint.get("stage", 0) < len(plan):
                return _next_slice(ctx, budget)  # the next stage starts in a slice of its own
        _end(ctx)
    except Exception as exc:
        db.session.rollback()
        log.exception("sync run %s failed", run_id)
        ctx = ctx or RunContext(db.session.get(SyncRun, run_id))
        ctx.run = db.session.get(SyncRun, run_id)
        ctx.site_id = ctx.run.site_id
        ctx.fail(f"The run stopped: {type(exc).__name__}: {exc}")
        ctx.log(ctx.run.error, "error")
        _end(ctx)
    return ctx.run.state


def _plan(ctx: RunContext) -> None:
    """The stages of the whole run, fixed at its start: weighted progress and a checkpoint
    that says which stage comes next."""
    run = ctx.run
    account = db.session.get(ProviderAccount, run.account_id)
    if run.scope == "site":
        site_ids = [run.site_id]
    else:
        site_ids = [a.site_id for a in SiteActivation.query.filter_by(account_id=run.account_id, enabled=True,
                                                                      is_live=True)
                    .order_by(SiteActivation.site_id).all()]
        ctx.log(f"Global synchronization of {', '.join(ITEM_LABELS[i].lower() for i in run.items)} "
                f"on {len(site_ids)} site(s).", site_id=None)
    items = list(run.items)
    merged = "products" in items and "categories" in items and account.provider.categories_from_products
    plan = []
    for site_id in site_ids:
        for item in ("categories", "products", "orders", "status"):
            if item in items and not (merged and item == "categories"):
                plan.append({"site": site_id, "item": item, "with_categories": merged and item == "products"})
    ctx.save(plan=plan, stage=0, cursor=None)
    ctx.beat()


def _run_stage(ctx: RunContext, step: dict, budget: Budget):
    """Work on one stage until it is done ("done"), the budget is spent ("more") or a rate
    limit pauses the run (a Pause). A provider error that is not a rate limit stops the stage:
    its records not processed count as failed and the error goes on the run."""
    from . import catalog_sync, order_sync, status_sync

    run_id, account_id, site_id, item = ctx.run.id, ctx.run.account_id, step["site"], step["item"]
    ctx.site_id = site_id
    account, site = db.session.get(ProviderAccount, account_id), db.session.get(Site, site_id)
    label = ITEM_LABELS[item].lower() + (" and categories" if step.get("with_categories") else "")
    lock = SiteLock(account_id, site_id, owner=f"run-{run_id}")
    if not lock.acquire():
        ctx.log(f"{site.name}: {label} skipped, another synchronization is running on this site.", "warning")
        ctx.count("skipped")
        ctx.save(incomplete=True)
        return "done"
    ctx.lock = lock
    client = client_for(account)
    try:
        ctx.stage(f"{site.name}: {label}")
        if item in ("products", "categories"):
            done = catalog_sync.sync_catalog(ctx, account, site, client, budget, products=item == "products",
                                             categories=item == "categories" or step.get("with_categories"))
        elif item == "orders":
            done = order_sync.push_recent_orders(ctx, account, site, client, budget)
        else:
            done = status_sync.refresh_statuses(ctx, account, site, client, budget)
        if account_status.calls_accepted(client):  # it talked to the provider, and it worked
            account_status.call_succeeded(client)
        return "done" if done else "more"
    except ProviderRateLimited as exc:
        _after_error(ctx, run_id, account_id, client)
        return Pause(exc.retry_after or 60, exc.message)
    except ProviderError as exc:
        _after_error(ctx, run_id, account_id, client)
        account_status.call_failed(db.session.get(ProviderAccount, account_id), exc, f"Synchronization #{run_id}")
        run = ctx.run
        remaining = max(0, run.progress_total - run.progress_done)
        if remaining:
            ctx.count("failed", remaining)
        message = f"{site.name}: {label} stopped: {' '.join(exc.messages())}"
        ctx.fail(message + (f" ({remaining} record(s) not processed)" if remaining else ""))
        ctx.log(message, "error")
        ctx.beat()
        return "done"
    finally:
        ctx.lock = None
        lock.release()


def _after_error(ctx: RunContext, run_id: int, account_id: int, client) -> None:
    """The page in hand is not applied; what came before it is committed already."""
    db.session.rollback()
    ctx.run = db.session.get(SyncRun, run_id)
    record_exchanges(account_id, "run", run_id, client.exchanges)
    del client.exchanges[:]


def _pause(ctx: RunContext, pause: Pause) -> str:
    run = ctx.run
    seconds = max(1.0, min(float(pause.seconds), 6 * 3600.0))
    run.state, run.pauses = RUN_WAITING, run.pauses + 1
    run.resume_at = utcnow() + timedelta(seconds=seconds)
    ctx.log(f"Rate limit reached ({pause.reason}); waiting, resumes at {run.resume_at:%H:%M:%S} UTC "
            f"where it stopped.", "warning")
    ctx.beat()
    enqueue_slice(run.id, run.slice_no, delay=seconds)
    return run.state


def _next_slice(ctx: RunContext, budget: Budget) -> str:
    ctx.save(page_seconds=budget.pace(ctx.checkpoint.get("page_seconds")))
    ctx.beat()
    enqueue_slice(ctx.run.id, ctx.run.slice_no)
    return ctx.run.state


def _end(ctx: RunContext) -> None:
    """finished only when every record was processed; otherwise partial (something was
    processed) or failed (nothing was)."""
    run = ctx.run
    ctx.site_id = run.site_id
    processed = run.created + run.updated + run.unchanged + run.skipped
    if run.failed == 0 and not ctx.checkpoint.get("incomplete"):
        run.state = RUN_FINISHED
        run.progress_percent = 100
    else:
        run.state = RUN_PARTIAL if processed else RUN_FAILED
        if not run.error:
            run.error = f"{run.failed} record(s) could not be processed; see the log."
    ctx.log_always(f"{'Finished' if run.state == RUN_FINISHED else run.state.capitalize()}: {run.created} created, "
                   f"{run.updated} updated, {run.unchanged} unchanged, {run.skipped} skipped, {run.failed} failed"
                   f"{f', {run.pauses} rate-limit pause(s)' if run.pauses else ''}.",
                   "info" if run.state == RUN_FINISHED else "error")
    ctx.log_truncation()
    run.finished_at, run.active_key, run.stage, run.resume_at = utcnow(), None, "", None
    db.session.commit()
