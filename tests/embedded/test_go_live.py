"""Issue 13 §2 and §6: going live is guarded (failing / unverified account, store id the provider
does not know) and subscribes the webhook; orders that qualified before the site went live are
counted on the card and pushed by one run — never twice — from the web and the CLI."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from webapp.embedded import account_status, go_live
from webapp.embedded.accounts import run_connection_test
from webapp.embedded.activation import set_activation
from webapp.extensions import db
from webapp.models import OrderPush, SiteActivation, SyncRun

HX = {"HX-Request": "true"}
BASE = "/preferences/embedded"


def _verified(account):
    run_connection_test(account.id)
    db.session.refresh(account)
    assert account.auth_state == account_status.OK, account.test_message
    return account


def _card_post(client, site, account, **data):
    return client.post(f"{BASE}/sites/{site.slug}/accounts/{account.id}", headers=HX,
                       data={"enabled": "y", "is_live": "y", **data})


def _ready(factory, site, n, **kw):
    return [factory.order(site, paid=True, items=[{"approval": "approved"}], **kw) for _ in range(n)]


# ---- §6 the guard -----------------------------------------------------------------------------

def test_going_live_with_a_failing_account_warns_and_saves_nothing_until_confirmed(
        client, login, factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site, live=False)
    account.credentials = {**account.credentials, "api_secret": "wrong-secret"}
    db.session.commit()
    run_connection_test(account.id)
    assert account.auth_state == account_status.FAILING
    login(factory.admin(is_super=True))

    html = _card_post(client, site, account).get_data(as_text=True)
    assert "going live needs your confirmation" in html and "Saved." not in html
    assert "is failing: Invalid credentials" in html
    assert 'name="confirm_live" value="y"' in html  # "Go live anyway" re-posts the form
    assert not SiteActivation.query.filter_by(account_id=account.id).one().is_live

    html = _card_post(client, site, account, confirm_live="y").get_data(as_text=True)
    assert "Saved." in html
    assert SiteActivation.query.filter_by(account_id=account.id).one().is_live
    # Already live: saving again asks nothing.
    assert "Saved." in _card_post(client, site, account).get_data(as_text=True)


def test_a_store_id_the_provider_does_not_know_warns_with_the_stores_it_has(
        client, login, factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site, live=False)
    _verified(account)
    stores = go_live.picker_options(account, "site", "store_id").options
    assert stores, "the sandbox account has a store"
    login(factory.admin(is_super=True))

    html = _card_post(client, site, account, **{"site-store_id": "987654"}).get_data(as_text=True)
    assert "ShipStation does not know the Store ID for this site 987654" in html
    assert stores[0][1] in html  # the stores it has, by name
    assert "Saved." not in html

    # A known store on a verified account goes live at once ("Saved."), no question asked.
    html = _card_post(client, site, account, **{"site-store_id": stores[0][0]}).get_data(as_text=True)
    assert "Saved." in html and "going live needs your confirmation" not in html
    # The site's store field suggests the provider's stores: its own <datalist>, loaded over HTMX.
    card_id = f"embedded-account-{account.id}"
    assert f'list="{card_id}-picker-store_id"' in html and f'<datalist id="{card_id}-picker-store_id"' in html


def test_the_account_level_store_is_checked_when_the_site_does_not_override_it(factory, make_shipstation_account):
    site = factory.site()
    account, _ = make_shipstation_account(site, live=False, store_id=4242)
    _verified(account)
    warnings = go_live.warnings(account, site, {})
    assert len(warnings) == 1 and "does not know the Store ID 4242" in warnings[0]
    assert go_live.unknown_values(account, {"store_id": None}) == warnings


def test_the_guard_names_an_untested_and_a_changed_account(factory, make_shipstation_account):
    from webapp.embedded.accounts import save_account

    site = factory.site()
    account, sim = make_shipstation_account(site, live=False)
    assert "never been tested" in go_live.warnings(account, site, {})[0]
    _verified(account)
    assert go_live.warnings(account, site, {}) == []
    result = save_account(account, company_id=account.company_id, name=account.name, provider_key="shipstation",
                          admin_id=account.admin_id, credentials={**account.credentials, "api_key": "other-key"},
                          settings=account.settings)
    assert result.ok, result.errors
    assert "credentials changed" in go_live.warnings(account, site, {})[0]
    refused = set_activation(account, site, enabled=True, is_live=True, guarded=True)
    assert not refused.ok and refused.warnings and not refused.errors
    assert set_activation(account, site, enabled=True, is_live=True).ok  # programmatic callers are not asked


# ---- §6 webhook subscription on going live ---------------------------------------------------

def test_going_live_in_the_ui_subscribes_the_webhook_and_the_card_says_so(
        client, login, factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site, live=False)
    _verified(account)
    login(factory.admin(is_super=True))
    html = _card_post(client, site, account).get_data(as_text=True)
    assert "Saved." in html and 'data-subscription="queued"' in html
    run_worker()
    assert account.webhook_subscription["state"] == "ok"
    tab = client.get(f"/sites/{site.slug}/settings/embedded").get_data(as_text=True)
    card = tab[tab.index(f'id="embedded-account-{account.id}"'):]
    assert 'data-subscription="ok"' in card and "Webhook subscribed at ShipStation" in card, card[:4000]


def test_a_live_account_not_subscribed_says_it_plainly_with_the_button(
        client, login, factory, make_shipstation_account, run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)  # live, never subscribed (made without the form)
    login(factory.admin(is_super=True))
    tab = client.get(f"/sites/{site.slug}/settings/embedded").get_data(as_text=True)
    assert "Not subscribed:" in tab and "does not send status updates to this hub yet" in tab
    action = f"{BASE}/sites/{site.slug}/accounts/{account.id}/subscribe"
    assert f'action="{action}"' in tab and "Subscribe at ShipStation" in tab
    html = client.post(action, headers=HX).get_data(as_text=True)
    assert 'data-subscription="queued"' in html
    run_worker()
    assert account.webhook_subscription["state"] == "ok"
    # An admin who does not manage the account (it also serves a site they cannot access)
    # sees the state but no button.
    elsewhere = factory.site()
    assert set_activation(account, elsewhere, enabled=True).ok
    other = factory.admin(sites=[site])
    account.webhook_subscription = None
    db.session.commit()
    client.post("/logout")
    login(other)
    tab = client.get(f"/sites/{site.slug}/settings/embedded").get_data(as_text=True)
    assert "Not subscribed:" in tab and f'action="{action}"' not in tab
    assert client.post(action, headers=HX).status_code == 404


# ---- §2 the backlog --------------------------------------------------------------------------

def test_backlog_counts_orders_that_qualified_before_going_live_and_reuses_the_order_tab_rule(
        factory, make_shipstation_account):
    from webapp.embedded.push_view import ELIGIBLE_NOT_PUSHED, order_pushes

    site = factory.site()
    account, _ = make_shipstation_account(site, live=False)
    ready = _ready(factory, site, 3)
    factory.order(site, paid=False, items=[{"approval": "approved"}])           # not paid
    factory.order(site, paid=True, items=[{"approval": "pending"}])             # waiting for approval
    _ready(factory, site, 1, placed_at=datetime.now(timezone.utc) - timedelta(days=31))  # too old
    assert set_activation(account, site, enabled=True, is_live=True).ok
    assert go_live.backlog_count(account, site) == 3
    assert go_live.backlog_count(account, site, days=40) == 4
    # The very orders the order tab calls "qualified before the site went live".
    assert [r.reasons for r in order_pushes(ready[0]) if r.account.id == account.id] == [[ELIGIBLE_NOT_PUSHED]]
    # A failed (or pushed) push is not backlog: it has its own red bar and button.
    db.session.add(OrderPush(order_id=ready[0].id, account_id=account.id, state="failed",
                             idempotency_key="k", reference="r"))
    db.session.commit()
    assert go_live.backlog_count(account, site) == 2


def test_the_card_counts_the_backlog_in_chunks_and_stops_at_what_it_shows(
        client, login, factory, make_shipstation_account, monkeypatch):
    site = factory.site()
    account, _ = make_shipstation_account(site, live=False)
    ready = _ready(factory, site, 7)
    factory.order(site, paid=True, items=[{"approval": "pending"}])  # between them: not backlog
    _ready(factory, site, 2)
    assert set_activation(account, site, enabled=True, is_live=True).ok
    # Chunks of 3 (keyset over placed_at, id): every order once, oldest first, across chunks.
    chunked = [o.id for o in go_live.iter_backlog(account, site, chunk=3)]
    assert len(chunked) == len(set(chunked)) == 9 and chunked[:7] == [o.id for o in ready]
    assert go_live.backlog_count(account, site) == 9
    assert go_live.backlog_count(account, site, cap=4) == 4

    monkeypatch.setattr(go_live, "BACKLOG_SHOWN", 5)
    login(factory.admin(is_super=True))
    notice = client.get(f"{BASE}/sites/{site.slug}/accounts/{account.id}/backlog", headers=HX).get_data(as_text=True)
    assert "More than 5 orders</strong> of the last 30 days" in notice and "Push them" in notice
    monkeypatch.setattr(go_live, "BACKLOG_SHOWN", 9)
    notice = client.get(f"{BASE}/sites/{site.slug}/accounts/{account.id}/backlog", headers=HX).get_data(as_text=True)
    assert "<strong>9 orders</strong>" in notice and "More than" not in notice


def test_push_them_runs_once_with_logs_and_never_pushes_twice(client, login, factory, make_shipstation_account,
                                                              run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site, live=False)
    orders = _ready(factory, site, 3)
    _verified(account)
    login(factory.admin(is_super=True))
    html = _card_post(client, site, account).get_data(as_text=True)
    assert "Saved." in html
    assert "3 orders</strong> of the last 30 days" in html and "eligible and not pushed" in html
    action = f"{BASE}/sites/{site.slug}/accounts/{account.id}/push-backlog"
    assert f'hx-post="{action}"' in html and "Push them" in html

    response = client.post(action, headers=HX).get_data(as_text=True)
    assert f'id="run-panel-{account.id}-{site.id}"' in response and 'hx-swap-oob="true"' in response
    run = SyncRun.query.one()
    assert (run.items, run.site_id, run.checkpoint["backlog"]) == (["orders"], site.id, True)
    assert f"Run #{run.id} is pushing" in response
    # A second click while it is active is refused, not a second run.
    again = client.post(action, headers=HX).get_data(as_text=True)
    assert "already" in again and SyncRun.query.count() == 1

    run_worker()
    db.session.refresh(run)
    assert run.state == "finished" and run.created == 3, run.error
    assert sim.stats()["orders"] == 3
    assert {p.state for p in OrderPush.query.filter_by(account_id=account.id)} == {"pushed"}
    log = client.get(f"/sites/{site.slug}/embedded/{account.id}/log", headers=HX).get_data(as_text=True)
    assert "qualified before" in log and f"Order {orders[0].number} pushed as" in log
    notice = client.get(f"{BASE}/sites/{site.slug}/accounts/{account.id}/backlog", headers=HX).get_data(as_text=True)
    assert "Push them" not in notice and "run-finished from:body" in notice  # refreshes itself when runs end

    # Nothing left: another request is refused, and the provider still has three orders.
    assert "No order of the last 30 days" in client.post(action, headers=HX).get_data(as_text=True)
    assert sim.stats()["orders"] == 3


def test_a_rerun_over_already_pushed_orders_creates_nothing_at_the_provider(factory, make_shipstation_account,
                                                                            run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site, live=False)
    _ready(factory, site, 2)
    assert set_activation(account, site, enabled=True, is_live=True).ok
    first = go_live.request_backlog_run(account, site, "test")
    # The second run is asked for while the first has not run yet: refused by the active run.
    try:
        go_live.request_backlog_run(account, site, "test")
        raise AssertionError("a second active backlog run was started")
    except go_live.RunRefused as exc:
        assert "already" in str(exc)
    run_worker()
    db.session.refresh(first)
    assert first.created == 2 and sim.stats()["orders"] == 2
    # Replaying the stage (a resumed slice, a new global orders sync) pushes nothing again.
    from webapp.embedded.runs import request_run

    replay = request_run(account, ["orders"], "test", site=site, options={"backlog": True})
    run_worker()
    db.session.refresh(replay)
    assert replay.created == 0 and replay.unchanged == 2 and sim.stats()["orders"] == 2


def test_push_backlog_cli_twin_has_the_same_checks(app, factory, make_shipstation_account, run_worker):
    runner = app.test_cli_runner()
    site = factory.site(slug="backlog-site")
    account, sim = make_shipstation_account(site, live=False)
    _ready(factory, site, 2)
    args = ["embedded", "push-backlog", "--account", str(account.id), "--site", site.slug]
    not_live = runner.invoke(args=args)
    assert not_live.exit_code == 2 and "is not enabled and live" in not_live.output
    assert set_activation(account, site, enabled=True, is_live=True).ok
    assert runner.invoke(args=args + ["--days", "0"]).exit_code == 2
    assert "between 1 and 90" in runner.invoke(args=args + ["--days", "91"]).output
    assert "2 order(s) eligible" in runner.invoke(args=args + ["--dry-run"]).output
    started = runner.invoke(args=args)
    assert started.exit_code == 0 and "2 order(s) to push" in started.output, started.output
    run_worker()
    assert sim.stats()["orders"] == 2
    done = runner.invoke(args=args)
    assert done.exit_code == 2 and "No order of the last 30 days" in done.output


def test_activate_cli_guard_and_backlog_hint(app, factory, make_shipstation_account):
    runner = app.test_cli_runner()
    site = factory.site(slug="guard-site")
    account, sim = make_shipstation_account(site, live=False)
    _ready(factory, site, 1)
    args = ["embedded", "activate", "--account", str(account.id), "--site", site.slug, "--enable", "--live"]
    guarded = runner.invoke(args=args)
    assert guarded.exit_code == 3 and "never been tested" in guarded.output and "Nothing saved" in guarded.output
    assert not SiteActivation.query.filter_by(account_id=account.id).one().is_live
    _verified(account)
    done = runner.invoke(args=args)
    assert done.exit_code == 0, done.output
    assert "1 order(s) of the last 30 days are eligible and not pushed" in done.output
    assert f"push-backlog --account {account.id} --site {site.slug}" in done.output
