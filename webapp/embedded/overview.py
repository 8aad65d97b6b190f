"""Read side of Preferences › Embedded Services "at a glance": per account and site what was
pushed, what failed and what is still on its way; recent synchronization runs; pushes and
failures per day for a small server-side chart.

A constant number of queries whatever the number of accounts, sites and orders: the counts
are one grouped query over order_pushes joined to orders, the chart one grouped query per
series. No Flask request objects here: the view passes the company and the sites the admin
may see.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import case, func
from sqlalchemy.orm import joinedload, lazyload

from ..extensions import db
from ..models import (PUSH_FAILED, PUSH_PUSHED, PUSH_PUSHING, PUSH_QUEUED, PUSH_WAITING, Order, OrderPush,
                      ProviderAccount, Site, SiteActivation, SyncRun)
from ..models.orders import ORDER_CANCELLED
from . import push_summary

COUNTED_STATES = (push_summary.FAILED, push_summary.WAITING, push_summary.IN_FLIGHT, push_summary.PUSHED)
CHART_DAYS = 14
RECENT_RUNS = 8
FAILED_LIMIT = 200


# --- per account and site -------------------------------------------------------------------------

@dataclass
class SiteRow:
    site_id: int
    site_name: str
    site_slug: str
    enabled: bool = False
    live: bool = False
    pushed: int = 0
    failed: int = 0
    in_flight: int = 0   # queued or pushing
    waiting: int = 0     # live here, order not pushed yet: not ready (payment, approval, files…) or never sent
    last_push_at: datetime | None = None


@dataclass
class AccountRows:
    account_id: int
    account_name: str
    provider_key: str
    sites: list[SiteRow] = field(default_factory=list)

    @property
    def pushed(self) -> int:
        return sum(s.pushed for s in self.sites)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.sites)


@dataclass
class Totals:
    """Orders by their Embedded Services state (orders.push_state: the worst over their
    accounts), the numbers the orders lists' ?push= filter shows."""
    pushed: int = 0
    failed: int = 0
    in_flight: int = 0
    waiting: int = 0


@dataclass
class Overview:
    accounts: list[AccountRows]
    totals: Totals
    runs: list[SyncRun]
    chart: "Chart"

    @property
    def empty(self) -> bool:
        return not self.accounts


def _site_filter(column, site_ids):
    return column.in_(site_ids) if site_ids is not None else True


def push_counts(company_id: int, site_ids: list[int] | None = None) -> dict[tuple[int, int], dict]:
    """{(account_id, site_id): {pushed, failed, in_flight, settled, last_push_at}} in one query;
    ``settled``: pushes past waiting of orders with something to push (see account_rows)."""
    rows = (db.session.query(
        OrderPush.account_id, Order.site_id,
        func.sum(case((OrderPush.state == PUSH_PUSHED, 1), else_=0)),
        func.sum(case((OrderPush.state == PUSH_FAILED, 1), else_=0)),
        func.sum(case((OrderPush.state.in_((PUSH_QUEUED, PUSH_PUSHING)), 1), else_=0)),
        func.sum(case(((OrderPush.state != PUSH_WAITING) & (Order.status != ORDER_CANCELLED), 1), else_=0)),
        func.max(OrderPush.pushed_at))
        .join(Order, Order.id == OrderPush.order_id)
        .join(ProviderAccount, ProviderAccount.id == OrderPush.account_id)
        .filter(ProviderAccount.company_id == company_id, _site_filter(Order.site_id, site_ids))
        .group_by(OrderPush.account_id, Order.site_id)
        .all())
    out = {}
    for account_id, site_id, pushed, failed, in_flight, settled, last in rows:
        out[(account_id, site_id)] = {"pushed": int(pushed or 0), "failed": int(failed or 0),
                                      "in_flight": int(in_flight or 0), "settled": int(settled or 0),
                                      "last_push_at": _aware(last)}
    return out


def open_orders(site_ids) -> dict[int, int]:
    """{site_id: orders with something to push (not "Cancelled")} in one grouped query."""
    if not site_ids:
        return {}
    return dict(db.session.query(Order.site_id, func.count(Order.id))
                .filter(Order.site_id.in_(sorted(site_ids)), Order.status != ORDER_CANCELLED)
                .group_by(Order.site_id).all())


def state_totals(company_id: int, site_ids: list[int] | None = None) -> Totals:
    """Orders per Embedded Services state (orders.push_state), one grouped query."""
    rows = (db.session.query(Order.push_state, func.count(Order.id))
            .join(Site, Site.id == Order.site_id)
            .filter(Site.company_id == company_id, _site_filter(Order.site_id, site_ids),
                    Order.push_state.in_(COUNTED_STATES))
            .group_by(Order.push_state).all())
    counts = dict(rows)
    return Totals(pushed=counts.get(push_summary.PUSHED, 0), failed=counts.get(push_summary.FAILED, 0),
                  in_flight=counts.get(push_summary.IN_FLIGHT, 0), waiting=counts.get(push_summary.WAITING, 0))


def account_rows(company_id: int, site_ids: list[int] | None = None) -> list[AccountRows]:
    """Every account of the company, with a row per site it is enabled on or pushed to."""
    accounts = (db.session.query(ProviderAccount.id, ProviderAccount.name, ProviderAccount.provider_key)
                .filter(ProviderAccount.company_id == company_id)
                .order_by(func.lower(ProviderAccount.name), ProviderAccount.id).all())
    activations = (db.session.query(SiteActivation.account_id, SiteActivation.site_id, SiteActivation.enabled,
                                    SiteActivation.is_live)
                   .join(ProviderAccount, ProviderAccount.id == SiteActivation.account_id)
                   .filter(ProviderAccount.company_id == company_id, SiteActivation.enabled.is_(True),
                           _site_filter(SiteActivation.site_id, site_ids))
                   .all())
    counts = push_counts(company_id, site_ids)
    # Waiting, as on the order tab (push_summary): for a live account, every order of the site
    # with something to push whose push is missing or waiting = open orders − settled pushes.
    waiting_base = open_orders({site_id for _, site_id, _, live in activations if live})
    site_ids_used = {site_id for _, site_id, *_ in activations} | {site_id for _, site_id in counts}
    sites = ({s.id: s for s in Site.query.filter(Site.id.in_(site_ids_used)).all()} if site_ids_used else {})
    by_account: dict[int, dict[int, SiteRow]] = {a.id: {} for a in accounts}

    def row(account_id: int, site_id: int) -> SiteRow | None:
        site = sites.get(site_id)
        if site is None or account_id not in by_account:
            return None
        return by_account[account_id].setdefault(site_id, SiteRow(site.id, site.name, site.slug))

    for account_id, site_id, enabled, live in activations:
        r = row(account_id, site_id)
        if r is not None:
            r.enabled, r.live = bool(enabled), bool(live)
            settled = counts.get((account_id, site_id), {}).get("settled", 0)
            r.waiting = max(0, waiting_base.get(site_id, 0) - settled) if r.live else 0
    for (account_id, site_id), values in counts.items():
        r = row(account_id, site_id)
        if r is not None:
            for key, value in values.items():
                if key != "settled":
                    setattr(r, key, value)
    return [AccountRows(a.id, a.name, a.provider_key,
                        sorted(by_account[a.id].values(), key=lambda r: (r.site_name.lower(), r.site_id)))
            for a in accounts]


def recent_runs(company_id: int, site_ids: list[int] | None = None, limit: int = RECENT_RUNS) -> list[SyncRun]:
    """The newest runs of the company's accounts (site runs on visible sites, and global runs),
    with their account and site loaded in the same query."""
    query = (SyncRun.query.join(ProviderAccount, ProviderAccount.id == SyncRun.account_id)
             # The account's activations are not needed here: loaded only if something asks.
             .options(joinedload(SyncRun.account).lazyload(ProviderAccount.activations), joinedload(SyncRun.site))
             .filter(ProviderAccount.company_id == company_id))
    if site_ids is not None:
        query = query.filter((SyncRun.site_id.is_(None)) | SyncRun.site_id.in_(site_ids))
    return query.order_by(SyncRun.id.desc()).limit(limit).all()


def failed_pushes(company_id: int, site_ids: list[int] | None = None, account_id: int | None = None,
                  site_id: int | None = None, limit: int = FAILED_LIMIT) -> list[OrderPush]:
    """Failed pushes, newest change first, with order, site and account loaded."""
    query = (OrderPush.query.join(Order, Order.id == OrderPush.order_id)
             .join(ProviderAccount, ProviderAccount.id == OrderPush.account_id)
             .options(joinedload(OrderPush.order).joinedload(Order.site),
                      joinedload(OrderPush.order).lazyload(Order.items),
                      joinedload(OrderPush.account).lazyload(ProviderAccount.activations),
                      lazyload(OrderPush.items))
             .filter(ProviderAccount.company_id == company_id, OrderPush.state == PUSH_FAILED,
                     _site_filter(Order.site_id, site_ids)))
    if account_id is not None:
        query = query.filter(OrderPush.account_id == account_id)
    if site_id is not None:
        query = query.filter(Order.site_id == site_id)
    return query.order_by(OrderPush.updated_at.desc(), OrderPush.id.desc()).limit(limit).all()


# --- pushes and failures per day -------------------------------------------------------------------

@dataclass
class Day:
    day: date
    pushed: int = 0
    failed: int = 0


def per_day(company_id: int, site_ids: list[int] | None = None, days: int = CHART_DAYS,
            today: date | None = None) -> list[Day]:
    """The last ``days`` UTC days, oldest first: orders pushed that day (by pushed_at) and pushes
    that are failed, by the day they last changed."""
    today = today or datetime.now(timezone.utc).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=timezone.utc)
    series = {d: Day(d) for d in (first + timedelta(days=n) for n in range(days))}
    for attr, column, extra in (("pushed", OrderPush.pushed_at, OrderPush.pushed_at.isnot(None)),
                                ("failed", OrderPush.updated_at, OrderPush.state == PUSH_FAILED)):
        day = func.date(column)  # naive UTC on every backend (UTCDateTime), so this is the UTC day
        rows = (db.session.query(day, func.count(OrderPush.id))
                .join(Order, Order.id == OrderPush.order_id)
                .join(ProviderAccount, ProviderAccount.id == OrderPush.account_id)
                .filter(ProviderAccount.company_id == company_id, extra, column >= since,
                        _site_filter(Order.site_id, site_ids))
                .group_by(day).all())
        for value, count in rows:
            d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
            if d in series:
                setattr(series[d], attr, int(count))
    return list(series.values())


# --- chart geometry (pure: no database) -------------------------------------------------------------

@dataclass
class Bar:
    series: str        # pushed | failed
    day: date
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass
class Tick:
    value: int
    y: float


@dataclass
class DayLabel:
    day: date
    x: float
    text: str
    month: str = ""    # shown under the first day and where a month starts


@dataclass
class Chart:
    days: list[Day]
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[DayLabel]
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    total_pushed: int
    total_failed: int

    @property
    def empty(self) -> bool:
        return not (self.total_pushed or self.total_failed)

    @property
    def description(self) -> str:
        if not self.days:
            return "No days to show."
        span = f"{_day_text(self.days[0].day)} to {_day_text(self.days[-1].day)}"
        if self.empty:
            return f"No orders were pushed and no push failed from {span}."
        busiest = max(self.days, key=lambda d: (d.pushed + d.failed, d.day))
        return (f"From {span}: {self.total_pushed} pushed and {self.total_failed} failed. Busiest day "
                f"{_day_text(busiest.day)} with {busiest.pushed} pushed and {busiest.failed} failed.")


def _day_text(d: date) -> str:
    return f"{d.strftime('%b')} {d.day}"


def nice_ceiling(value: int) -> int:
    """The top of the y axis: four equal integer steps of 1, 2, 3 or 5 × 10^k, the smallest that
    reaches ``value`` (at least 4)."""
    magnitude = 1
    while True:
        for step in (1, 2, 3, 5):
            if 4 * step * magnitude >= value:
                return 4 * step * magnitude
        magnitude *= 10


def build_chart(days: list[Day], width: int = 520, height: int = 200) -> Chart:
    left, right, top, bottom = 36.0, width - 8.0, 30.0, height - 40.0
    top_value = nice_ceiling(max([max(d.pushed, d.failed) for d in days] or [0]))
    plot_h = bottom - top
    slot = (right - left) / max(len(days), 1)
    bar_w = max(2.0, min(14.0, (slot - 6) / 2))

    def y_of(value: int) -> float:
        return round(bottom - plot_h * value / top_value, 1)

    bars, labels = [], []
    previous_month = None
    for n, d in enumerate(days):
        x0 = left + n * slot
        centre = x0 + slot / 2
        for offset, series, value in ((-bar_w, "pushed", d.pushed), (0.0, "failed", d.failed)):
            if value:
                y = y_of(value)
                bars.append(Bar(series, d.day, value, round(centre + offset, 1), y, round(bar_w, 1),
                                round(bottom - y, 1)))
        month = d.day.strftime("%b") if d.day.month != previous_month else ""
        previous_month = d.day.month
        labels.append(DayLabel(d.day, round(centre, 1), str(d.day.day), month))
    ticks = [Tick(top_value * k // 4, y_of(top_value * k // 4)) for k in range(5)]
    return Chart(days, bars, ticks, labels, width, height, left, right, top, bottom,
                 sum(d.pushed for d in days), sum(d.failed for d in days))


# --- everything the overview shows ----------------------------------------------------------------

def build(company_id: int, site_ids: list[int] | None = None, today: date | None = None) -> Overview:
    accounts = account_rows(company_id, site_ids)
    totals = state_totals(company_id, site_ids) if accounts else Totals()
    return Overview(accounts=accounts, totals=totals, runs=recent_runs(company_id, site_ids),
                    chart=build_chart(per_day(company_id, site_ids, today=today)))


def _aware(value):
    """SQLite hands back MAX() of a datetime column as text; PostgreSQL as a naive datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
