"""Read side of runs for the Synchronize panels and logs."""
from __future__ import annotations

from sqlalchemy import or_

from ..models import ProviderAccount, RunLogLine, SyncRun

LOG_LIMIT = 100


def latest_run(account_id: int, site_id: int | None) -> SyncRun | None:
    query = SyncRun.query.filter_by(account_id=account_id)
    query = query.filter(SyncRun.site_id.is_(None)) if site_id is None else query.filter(SyncRun.site_id == site_id)
    return query.order_by(SyncRun.id.desc()).first()


def recent_runs(site_id: int | None = None, account_id: int | None = None, limit: int = 10) -> list[SyncRun]:
    """A site's own runs and the global runs that touched it; or every run (site_id None)."""
    query = SyncRun.query
    if account_id is not None:
        query = query.filter(SyncRun.account_id == account_id)
    if site_id is not None:
        touched = RunLogLine.query.with_entities(RunLogLine.run_id).filter(RunLogLine.site_id == site_id)
        query = query.filter(or_(SyncRun.site_id == site_id,
                                 (SyncRun.site_id.is_(None)) & SyncRun.id.in_(touched)))
    return query.order_by(SyncRun.id.desc()).limit(limit).all()


def log_lines(site_id: int | None = None, account_id: int | None = None, run_id: int | None = None,
              limit: int = LOG_LIMIT, site_ids: list[int] | None = None, company_id: int | None = None,
              account_ids: set[int] | None = None) -> list[RunLogLine]:
    """Newest first. For a site: only that site's lines (also from global runs). ``company_id``
    keeps to that company's accounts; ``site_ids`` limits an admin without every site to lines
    of their sites, and run-level lines (no site) to runs on their sites or of ``account_ids``
    (the accounts they manage)."""
    query = RunLogLine.query
    if site_ids is not None or company_id is not None or account_id is not None:
        query = query.join(SyncRun, SyncRun.id == RunLogLine.run_id)
    if company_id is not None:
        query = query.join(ProviderAccount, ProviderAccount.id == SyncRun.account_id).filter(
            ProviderAccount.company_id == company_id)
    if site_ids is not None:
        run_level = RunLogLine.site_id.is_(None) & or_(SyncRun.site_id.in_(site_ids),
                                                       SyncRun.account_id.in_(sorted(account_ids or ())))
        query = query.filter(or_(RunLogLine.site_id.in_(site_ids), run_level))
    if run_id is not None:
        query = query.filter(RunLogLine.run_id == run_id)
    if site_id is not None:
        query = query.filter(RunLogLine.site_id == site_id)
    if account_id is not None:
        query = query.filter(SyncRun.account_id == account_id)
    return query.order_by(RunLogLine.id.desc()).limit(limit).all()


def visible_log_lines(admin, limit: int = LOG_LIMIT) -> list[RunLogLine]:
    """The global log as ``admin`` may read it: their company, then their sites."""
    from .account_access import manageable_account_ids

    site_ids = admin.visible_site_ids()
    return log_lines(company_id=admin.company_id, site_ids=site_ids, limit=limit,
                     account_ids=manageable_account_ids(admin) if site_ids is not None else None)
