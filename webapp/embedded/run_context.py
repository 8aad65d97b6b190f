"""What a sync stage uses while it works on its run: log, count, progress, checkpoint.

Everything here is committed together by ``beat()``: the records a page changed, the
counters they moved and the cursor after that page. A run resumed from its checkpoint
(after a rate-limit pause, a slice end or a lost job) therefore never counts a page twice.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func
from sqlalchemy.orm.attributes import flag_modified

from ..extensions import db
from ..models import RunLogLine, SyncRun, utcnow
from .bulk_sql import insert_rows

# The first RUN_LOG_INFO_LINES info lines are kept; warnings and errors have their own cap
# (RUN_LOG_ALERT_LINES), so a long run's errors are never pushed out by its info lines.
# How much of the run's progress bar each kind of stage is worth.
STAGE_WEIGHTS = {"categories": 1, "products": 3, "orders": 2, "status": 1}


class RunContext:
    """The live run of one slice. Steps clear the session between batches, so only ids are
    kept and ``self.run`` is always re-read after a clear."""

    def __init__(self, run: SyncRun):
        self.run = run
        self.site_id: int | None = run.site_id
        self.lock = None
        counts = dict(db.session.query(RunLogLine.level, func.count())
                      .filter(RunLogLine.run_id == run.id).group_by(RunLogLine.level).all())
        self._info = counts.pop("info", 0)
        self._alerts = sum(counts.values())
        self.max_info = current_app.config["RUN_LOG_INFO_LINES"]
        self.max_alerts = current_app.config["RUN_LOG_ALERT_LINES"]

    # ---- checkpoint -------------------------------------------------------------
    @property
    def checkpoint(self) -> dict:
        return self.run.checkpoint

    def save(self, **values) -> None:
        """Change the checkpoint (committed with the next beat)."""
        self.run.checkpoint = {**(self.run.checkpoint or {}), **values}
        flag_modified(self.run, "checkpoint")

    @property
    def cursor(self) -> dict | None:
        return self.checkpoint.get("cursor")

    def save_cursor(self, cursor: dict | None) -> None:
        self.save(cursor=cursor)

    # ---- log --------------------------------------------------------------------
    def log(self, message: str, level: str = "info", **refs) -> None:
        if not self._room(level, 1):
            return
        db.session.add(RunLogLine(run_id=self.run.id, site_id=refs.pop("site_id", self.site_id), level=level,
                                  message=message[:1000], **refs))

    def log_many(self, entries: list[tuple[str, dict]], level: str = "info") -> None:
        """Many lines in one INSERT (a batch of a sync); same caps as log()."""
        room = self._room(level, len(entries))
        if not room:
            return
        db.session.flush()  # lines added one by one before these keep their place
        now = utcnow()
        rows = [{"run_id": self.run.id, "site_id": refs.get("site_id", self.site_id), "level": level,
                 "message": message[:1000], "order_id": refs.get("order_id"), "product_id": refs.get("product_id"),
                 "category_id": refs.get("category_id"), "created_at": now} for message, refs in entries[:room]]
        insert_rows(RunLogLine.__table__, rows)  # Core, set-based on PostgreSQL: no ORM objects

    def _room(self, level: str, wanted: int) -> int:
        """How many of ``wanted`` lines fit; dropped info lines are counted for the end line."""
        if level == "info":
            room = max(0, min(wanted, self.max_info - self._info))
            self._info += room
            if room < wanted:
                self.save(dropped_info=self.checkpoint.get("dropped_info", 0) + wanted - room)
            return room
        room = max(0, min(wanted, self.max_alerts - self._alerts))
        self._alerts += room
        return room

    def log_truncation(self) -> None:
        dropped = self.checkpoint.get("dropped_info", 0)
        if dropped:
            db.session.add(RunLogLine(run_id=self.run.id, site_id=None, level="warning", message=(
                f"Log truncated: the first {self.max_info} info lines are kept, {dropped} later info line(s) "
                f"were dropped; warnings and errors are kept (up to {self.max_alerts}); counters stay exact.")))

    def log_always(self, message: str, level: str = "info") -> None:
        """A run-level line no cap drops (the run's summary)."""
        db.session.add(RunLogLine(run_id=self.run.id, site_id=self.site_id, level=level, message=message[:1000]))

    # ---- counters and progress ---------------------------------------------------
    def count(self, outcome: str, n: int = 1) -> None:
        setattr(self.run, outcome, getattr(self.run, outcome) + n)

    def fail(self, message: str) -> None:
        """The run's own error (the first one stays in front; later ones are appended)."""
        error = f"{self.run.error} | {message}" if self.run.error else message
        self.run.error = error[:1000]
        self.save(incomplete=True)

    def stage(self, text: str, total: int | None = None) -> None:
        """A stage (re)starts: its label, and its record total when known (0 = not known)."""
        self.run.stage = text[:100]
        if total is not None:
            self.set_total(total)
        self.beat()

    def set_total(self, total: int | None) -> None:
        self.run.progress_total = max(int(total or 0), self.run.progress_done)
        self._update_percent()

    def progress(self, n: int = 1) -> None:
        run = self.run
        run.progress_done += n
        if run.progress_total and run.progress_done > run.progress_total:
            run.progress_total = run.progress_done  # the list grew while it was read
        self._update_percent()

    def _update_percent(self) -> None:
        """Weighted stages of the plan: stages done + the current one's share; never backwards."""
        plan, index = self.checkpoint.get("plan") or [], self.checkpoint.get("stage", 0)
        weights = [STAGE_WEIGHTS.get(step["item"], 1) for step in plan]
        if not weights:
            return
        run = self.run
        share = run.progress_done / run.progress_total if run.progress_total else 0.0
        current = weights[index] * min(1.0, share) if index < len(weights) else 0
        percent = int(100 * (sum(weights[:index]) + current) / sum(weights))
        run.progress_percent = max(run.progress_percent or 0, min(100, percent))

    def next_stage(self) -> None:
        run = self.run
        self.save(stage=self.checkpoint.get("stage", 0) + 1, cursor=None, seen_categories=[])
        run.progress_done = run.progress_total = 0
        self._update_percent()

    def beat(self) -> None:
        """Commit what is done so far and prove the worker (and its site lock) is alive."""
        self.run.heartbeat_at = utcnow()
        db.session.commit()
        if self.lock is not None:
            self.lock.refresh()
