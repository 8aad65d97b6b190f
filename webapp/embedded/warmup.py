"""Warming a worker before it forks: RQ runs every job in a forked work horse, which starts
with the parent's memory — so SQL compiled (and modules imported) once in the parent is free
in every job, instead of every push job compiling its statements cold (bench/RESULTS.md)."""
from __future__ import annotations

import gc
import importlib
import logging

from sqlalchemy import select

from ..extensions import db
from ..models import OrderPush

log = logging.getLogger(__name__)

JOB_MODULES = ("push", "push_bulk", "order_sync", "run_slices", "status_sync", "catalog_sync", "webhooks",
               "maintenance", "push_recovery")


def warm_up() -> None:
    """Import the job modules and run the read side of a push attempt (the latest push row's
    context, its claim as an UPDATE matching no row), then roll back: nothing is written."""
    try:
        from ..providers.registry import all_providers

        for name in JOB_MODULES:
            importlib.import_module(f"{__package__}.{name}")
        all_providers()
        from . import push

        row = db.session.scalars(select(OrderPush).order_by(OrderPush.id.desc()).limit(1)).first()
        if row is not None:
            push._prepare(row)
        push._claim(0)  # no row has id 0: compiled and sent, changes nothing
    except Exception:  # warming is an optimisation: a worker must start whatever it meets
        log.warning("worker warm-up skipped", exc_info=True)
    finally:
        try:
            db.session.rollback()
            db.session.remove()
        except Exception:  # the database is unreachable: the worker reports that on its first job
            log.warning("worker warm-up: could not release the session", exc_info=True)
        # The app, its mappers, compiled SQL and provider modules live as long as the process:
        # move them out of the collector's reach, so a job's full collection scans only what the
        # job made (a 5,000-order bulk push paid 85-300 ms for one pass over the app's objects),
        # and a forked horse does not copy the pages a collection would touch.
        gc.collect()
        gc.freeze()
