"""Preferences › Embedded Services › At a glance: counts per account and site, the server-side
chart, recent runs, the failed-orders page, and a constant number of queries."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from webapp.embedded import accounts, activation, install, overview, push_summary
from webapp.extensions import db
from webapp.models import Company, OrderPush, SyncRun

TODAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


# --- helpers ------------------------------------------------------------------------------------

@pytest.fixture
def world(app_ctx, factory):
    install.enable_provider("shipstation")
    north = factory.site(slug="north", name="North")
    south = factory.site(slug="south", name="South")
    boss = factory.admin(email="boss@example.test", is_super=True)
    return {"north": north, "south": south, "boss": boss, "factory": factory}


def make_account(admin, name: str):
    result = accounts.save_account(
        None, company_id=admin.company_id, name=name, provider_key="shipstation", admin_id=admin.id,
        credentials={"api_key": "KEY1", "api_secret": "secret-1", "base_url": "http://127.0.0.1:9/shipstation"},
        settings={})
    assert result.ok, result.errors
    return result.account


def live(account, site):
    assert activation.set_activation(account, site, enabled=True, is_live=True).ok


def push(factory, site, account, state: str, when: datetime = NOON, **kw) -> OrderPush:
    order = factory.order(site, paid=True, items=[{"approval": "approved"}])
    row = OrderPush(order_id=order.id, account_id=account.id, state=state, idempotency_key=f"k-{order.number}",
                    reference=f"{order.number}-ES", errors=kw.pop("errors", []),
                    pushed_at=when if state == "pushed" else None, updated_at=when, **kw)
    db.session.add(row)
    db.session.flush()
    push_summary.refresh([order.id])  # as every push state change does
    db.session.commit()
    return row


def run(account, site=None, **kw) -> SyncRun:
    row = SyncRun(account_id=account.id, site_id=site.id if site else None, scope="site" if site else "global",
                  items=kw.pop("items", ["products"]), started_by=kw.pop("started_by", "boss@example.test"),
                  state=kw.pop("state", "finished"), **kw)
    db.session.add(row)
    db.session.commit()
    return row


@contextmanager
def counted_queries():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def log_in(client, admin):
    response = client.post("/login", data={"email": admin.email, "password": "secret-pass"})
    assert response.status_code == 302


# --- counts ---------------------------------------------------------------------------------------

def test_counts_per_account_and_site(world):
    f, north, south, boss = world["factory"], world["north"], world["south"], world["boss"]
    main, spare = make_account(boss, "Main"), make_account(boss, "Spare")
    live(main, north)
    live(main, south)
    live(spare, south)
    later = NOON + timedelta(hours=3)
    push(f, north, main, "pushed")
    push(f, north, main, "pushed", when=later)
    push(f, north, main, "failed", errors=["Bad country"])
    push(f, north, main, "queued")
    push(f, north, main, "pushing")
    push(f, north, main, "waiting")
    push(f, south, main, "failed")

    rows = {a.account_name: a for a in overview.account_rows(boss.company_id)}
    assert list(rows) == ["Main", "Spare"]
    by_site = {r.site_name: r for r in rows["Main"].sites}
    n = by_site["North"]
    assert (n.pushed, n.failed, n.in_flight, n.waiting, n.live) == (2, 1, 2, 1, True)
    assert n.last_push_at == later
    s = by_site["South"]
    assert (s.pushed, s.failed, s.in_flight, s.waiting, s.last_push_at) == (0, 1, 0, 0, None)
    # Enabled and live without any push yet: a row of zeros.
    [spare_row] = rows["Spare"].sites
    assert (spare_row.site_name, spare_row.pushed, spare_row.failed, spare_row.live) == ("South", 0, 0, True)

    glance = overview.build(boss.company_id, today=TODAY)
    t = glance.totals
    assert (t.pushed, t.failed, t.in_flight, t.waiting) == (2, 2, 2, 1)


def test_counts_respect_company_and_visible_sites(world):
    f, north, south, boss = world["factory"], world["north"], world["south"], world["boss"]
    main = make_account(boss, "Main")
    live(main, north)
    live(main, south)
    push(f, north, main, "pushed")
    push(f, south, main, "failed")

    only_north = overview.account_rows(boss.company_id, site_ids=[north.id])
    assert [(r.site_name, r.pushed, r.failed) for r in only_north[0].sites] == [("North", 1, 0)]
    assert overview.failed_pushes(boss.company_id, site_ids=[north.id]) == []

    other = Company(name="Other", slug="other-co")
    db.session.add(other)
    db.session.commit()
    assert overview.account_rows(other.id) == []
    assert overview.build(other.id).empty
    assert overview.per_day(other.id, today=TODAY)[-1].failed == 0


# --- chart ----------------------------------------------------------------------------------------

def test_per_day_counts_pushes_and_failures_by_utc_day(world):
    f, north, boss = world["factory"], world["north"], world["boss"]
    main = make_account(boss, "Main")
    for _ in range(3):
        push(f, north, main, "pushed")
    push(f, north, main, "failed")
    push(f, north, main, "pushed", when=NOON - timedelta(days=2, hours=11, minutes=59))  # Nov 18, 00:01 UTC
    push(f, north, main, "pushed", when=NOON - timedelta(days=20))  # outside the window

    days = overview.per_day(boss.company_id, today=TODAY)
    assert len(days) == 14 and days[0].day == date(2026, 11, 7) and days[-1].day == TODAY
    assert [(d.day.day, d.pushed, d.failed) for d in days if d.pushed or d.failed] == [(18, 1, 0), (20, 3, 1)]


def test_chart_geometry_for_three_pushed_and_one_failed():
    days = [overview.Day(date(2026, 11, 7) + timedelta(days=n)) for n in range(14)]
    days[-1].pushed, days[-1].failed = 3, 1
    chart = overview.build_chart(days)
    assert [t.value for t in chart.ticks] == [0, 1, 2, 3, 4]
    pushed, failed = chart.bars
    assert (pushed.series, pushed.value, failed.series, failed.value) == ("pushed", 3, "failed", 1)
    plot = chart.plot_bottom - chart.plot_top
    assert pushed.height == pytest.approx(plot * 3 / 4, abs=0.2)
    assert failed.height == pytest.approx(plot / 4, abs=0.2)
    assert pushed.y + pushed.height == pytest.approx(chart.plot_bottom, abs=0.2)
    assert pushed.x < failed.x and chart.plot_left < pushed.x < chart.plot_right
    assert [label.text for label in chart.labels] == [str(d) for d in range(7, 21)]
    assert chart.labels[0].month == "Nov" and not any(label.month for label in chart.labels[1:])
    assert "3 pushed and 1 failed" in chart.description and "Nov 20" in chart.description
    assert overview.build_chart([overview.Day(TODAY)]).empty


@pytest.mark.parametrize("value, top", [(0, 4), (3, 4), (5, 8), (10, 12), (13, 20), (37, 40), (101, 120)])
def test_axis_top_is_four_even_steps(value, top):
    assert overview.nice_ceiling(value) == top


def test_overview_page_draws_the_chart_and_counts(client, world):
    f, north, boss = world["factory"], world["north"], world["boss"]
    main = make_account(boss, "Main")
    live(main, north)
    today = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    for _ in range(3):
        push(f, north, main, "pushed", when=today)
    failed = push(f, north, main, "failed", when=today, errors=["Ship-to country ZZ is not valid."])
    run(main, north, created=300, updated=2, progress_total=300, progress_done=300)
    log_in(client, boss)

    html = client.get("/preferences/embedded/").get_data(as_text=True)
    glance = html[html.index('id="at-a-glance"'):html.index('id="accounts"')]
    svg = glance[glance.index("<svg"):glance.index("</svg>")]
    day = today.date().isoformat()
    assert 'role="img"' in svg and "<title id=\"push-chart-title\">" in svg and "<desc id=\"push-chart-desc\">" in svg
    assert re.search(rf'data-day="{day}" data-series="pushed" data-value="3"', svg)
    assert re.search(rf'data-day="{day}" data-series="failed" data-value="1"', svg)
    assert svg.count('data-series="pushed"') == 1 and svg.count('data-series="failed"') == 1
    assert f"{today.strftime('%b')} {today.day}: 3 pushed" in svg and "Pushed (3)" in svg and "Failed (1)" in svg
    assert "<script" not in glance
    # The per-site row links its failures to the failed orders of that account and site.
    link = f"/preferences/embedded/failed?account={main.id}&amp;site={north.id}"
    assert link in glance and "1 · see orders" in glance
    assert "Recent synchronization runs" in glance and "300 created" in glance and "boss@example.test" in glance

    page = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert failed.order.number in page and "Ship-to country ZZ is not valid." in page


def test_overview_empty_states(client, world):
    log_in(client, world["boss"])
    html = client.get("/preferences/embedded/").get_data(as_text=True)
    glance = html[html.index('id="at-a-glance"'):html.index('id="accounts"')]
    assert "Nothing pushed yet" in glance and "No synchronization has run yet" in glance
    assert "<svg" not in glance
    make_account(world["boss"], "Main")
    html = client.get("/preferences/embedded/").get_data(as_text=True)
    glance = html[html.index('id="at-a-glance"'):html.index('id="accounts"')]
    assert "Not enabled on any site yet." in glance and "No pushes in the last 14 days" in glance
    assert "No failed pushes" in client.get("/preferences/embedded/failed").get_data(as_text=True)


def test_failed_page_is_scoped_to_the_admins_sites(client, world):
    f, north, south, boss = world["factory"], world["north"], world["south"], world["boss"]
    main = make_account(boss, "Main")
    north_failed = push(f, north, main, "failed", errors=["North problem"])
    south_failed = push(f, south, main, "failed", errors=["South problem"])
    pushed = push(f, north, main, "pushed")
    clerk = f.admin(email="clerk@example.test", sites=[north])
    numbers = (north_failed.order.number, south_failed.order.number, pushed.order.number)
    log_in(client, clerk)

    page = client.get("/preferences/embedded/failed").get_data(as_text=True)
    assert numbers[0] in page and numbers[1] not in page and numbers[2] not in page
    assert client.get(f"/preferences/embedded/failed?site={south.id}").status_code == 404
    assert client.get("/preferences/embedded/failed?account=999999").status_code == 404
    recent = overview.recent_runs(boss.company_id, site_ids=[north.id])
    assert recent == []


# --- recent runs and query count --------------------------------------------------------------

def test_recent_runs_newest_first_with_global_runs(world):
    north, south, boss = world["north"], world["south"], world["boss"]
    main = make_account(boss, "Main")
    first = run(main, north)
    second = run(main, None, items=["orders", "status"])
    third = run(main, south, state="running")
    assert [r.id for r in overview.recent_runs(boss.company_id)] == [third.id, second.id, first.id]
    assert [r.id for r in overview.recent_runs(boss.company_id, site_ids=[north.id])] == [second.id, first.id]


def _populate(world, n: int):
    f, boss = world["factory"], world["boss"]
    sites = [world["north"], world["south"]] + [f.site(name=f"Extra {n}-{i}") for i in range(n)]
    for i in range(n):
        account = make_account(boss, f"Account {n}-{i}")
        for site in sites[: i + 2]:
            live(account, site)
            push(f, site, account, "pushed")
            push(f, site, account, "failed")
            push(f, site, account, "waiting")
        run(account, sites[i])
        run(account, None)


def test_constant_number_of_queries(world):
    company_id = world["boss"].company_id
    _populate(world, 1)
    db.session.expire_all()
    with counted_queries() as small:
        glance = overview.build(company_id, today=TODAY)
        [r.account.name for r in glance.runs] + [r.site.name for r in glance.runs if r.site]
    _populate(world, 4)
    db.session.expire_all()
    with counted_queries() as large:
        glance = overview.build(company_id, today=TODAY)
        [r.account.name for r in glance.runs] + [r.site.name for r in glance.runs if r.site]
    assert sum(len(a.sites) for a in glance.accounts) > 10
    assert len(large) == len(small), "\n".join(large)
    assert len(small) <= 9  # + open orders per live site, orders per push state
