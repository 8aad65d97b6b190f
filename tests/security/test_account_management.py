"""Who manages a company-wide provider account (issue 11, items 2, 3, 4, 11 and 12).

An admin limited to some sites may use an account on their sites, but managing it (edit,
delete, test, webhook token and subscription, API key, account-level exchanges, global sync,
releasing a stuck push) needs access to every site it serves; changing its address never keeps
the stored secret; logs and runs are scoped by company, then by site."""
from __future__ import annotations

import pytest

from webapp.embedded import install
from webapp.embedded.accounts import save_account
from webapp.embedded.activation import set_activation
from webapp.extensions import db
from webapp.models import (Admin, OrderEvent, OrderPush, ProviderAccount, ProviderExchange, RunLogLine, Site, SyncRun,
                           utcnow)

from .conftest import login_client

API_KEY = "visible-key-9F3kQ"
SECRET = "stored-secret-77Hx"
CUSTOMER = "Zebulon Quartermaine"  # a name on another site's order, fetched by a webhook


@pytest.fixture
def shared(app, monkeypatch):
    """An account live on "mine" and "theirs"; one-site admin "one@" (mine), company-wide "boss@"."""
    from tests.factories import Factory

    with app.app_context():
        f = Factory()
        mine, theirs = f.site(slug="mine", name="Mine"), f.site(slug="theirs", name="Theirs")
        f.admin(email="one@example.test", sites=[mine])
        boss = f.admin(email="boss@example.test", is_super=True)
        install.enable_provider("shipstation")
        result = save_account(None, company_id=boss.company_id, name="Shared", provider_key="shipstation",
                              admin_id=boss.id, credentials={"api_key": API_KEY, "api_secret": SECRET,
                                                             "base_url": "https://ssapi.example.test"}, settings={})
        account = result.account
        for site in (mine, theirs):
            assert set_activation(account, site, enabled=True, is_live=True).ok
        own = save_account(None, company_id=boss.company_id, name="Mine only", provider_key="shipstation",
                           admin_id=boss.id, credentials={"api_key": "mine-key", "api_secret": "mine-secret-1",
                                                          "base_url": "https://ssapi.example.test"}, settings={}).account
        assert set_activation(own, mine, enabled=True, is_live=True).ok
        db.session.add(ProviderExchange(account_id=account.id, subject_type="account", subject_id=account.id,
                                        method="GET", url="https://ssapi.example.test/shipments", status=200,
                                        response_body=f'{{"shipTo": {{"name": "{CUSTOMER}"}}}}'))
        db.session.commit()
        ids = {"account": account.id, "own": own.id, "token": account.webhook_token, "mine": mine.id,
               "theirs": theirs.id}
        db.session.remove()
    return ids


def _manage_requests(account_id: int):
    base = f"/preferences/embedded/accounts/{account_id}"
    return [("GET", f"{base}/edit", {}), ("POST", f"{base}/edit", {"name": "Hijacked"}),
            ("POST", f"{base}/test", {}), ("GET", f"{base}/test", {}), ("POST", f"{base}/webhook", {}),
            ("POST", f"{base}/delete", {}),
            ("POST", "/preferences/embedded/sync", {"account_id": account_id, "items": "orders"})]


def test_a_one_site_admin_cannot_manage_an_account_serving_other_sites(app, shared):
    client = login_client(app, "one@example.test")
    for method, url, data in _manage_requests(shared["account"]):
        response = client.open(url, method=method, data=data)
        assert response.status_code == 404, (method, url, response.status_code)
    with app.app_context():
        account = db.session.get(ProviderAccount, shared["account"])
        assert account.name == "Shared" and account.test_state != "queued" and not account.webhook_subscription
        assert SyncRun.query.count() == 0


def test_the_account_page_hides_key_token_and_exchanges_from_a_non_manager(app, shared):
    page = login_client(app, "one@example.test").get(f"/preferences/embedded/accounts/{shared['account']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for leak in (API_KEY, shared["token"], CUSTOMER, SECRET):
        assert leak not in text, leak
    boss = login_client(app, "boss@example.test").get(f"/preferences/embedded/accounts/{shared['account']}")
    text = boss.get_data(as_text=True)
    assert API_KEY in text and shared["token"] in text and CUSTOMER in text and SECRET not in text


def test_a_one_site_admin_still_manages_an_account_serving_only_their_sites(app, shared):
    client = login_client(app, "one@example.test")
    assert client.get(f"/preferences/embedded/accounts/{shared['own']}/edit").status_code == 200
    page = client.get(f"/preferences/embedded/accounts/{shared['own']}").get_data(as_text=True)
    assert "mine-key" in page
    index = client.get("/preferences/embedded/").get_data(as_text=True)
    assert 'name="account_id" value="%s"' % shared["own"] in index          # global sync offered for it
    assert 'name="account_id" value="%s"' % shared["account"] not in index  # not for the shared one


def test_changing_the_address_never_keeps_the_stored_secret(app, shared):
    """Web and CLI go through save_account: pointing the account elsewhere needs the secret typed."""
    with app.app_context():
        account = db.session.get(ProviderAccount, shared["account"])
        boss = Admin.query.filter_by(email="boss@example.test").one()
        kwargs = dict(company_id=boss.company_id, name="Shared", provider_key="shipstation", admin_id=boss.id,
                      settings={})
        moved = save_account(account, credentials={"api_key": API_KEY, "api_secret": "",
                                                   "base_url": "https://attacker.example.test"}, **kwargs)
        assert "credentials.api_secret" in moved.errors and "again" in moved.errors["credentials.api_secret"]
        db.session.expire_all()
        assert account.credentials["base_url"] == "https://ssapi.example.test"
        kept = save_account(account, credentials={"api_key": API_KEY, "api_secret": "",
                                                  "base_url": "https://ssapi.example.test/"}, **kwargs)
        assert kept.ok and account.credentials["api_secret"] == SECRET  # same address: blank keeps it
        typed = save_account(account, credentials={"api_key": API_KEY, "api_secret": "new-secret-123",
                                                   "base_url": "https://other.example.test"}, **kwargs)
        assert typed.ok and account.credentials == {**account.credentials, "api_secret": "new-secret-123",
                                                    "base_url": "https://other.example.test"}
    response = login_client(app, "boss@example.test").post(
        f"/preferences/embedded/accounts/{shared['account']}/edit",
        data={"name": "Shared", "admin": "", "credentials-api_key": API_KEY, "credentials-api_secret": "",
              "credentials-base_url": "https://elsewhere.example.test"})
    assert response.status_code == 422 and "again" in response.get_data(as_text=True)


def _run_with_lines(account_id: int, site_id: int | None, messages: list[tuple[int | None, str]]) -> int:
    run = SyncRun(account_id=account_id, site_id=site_id, scope="site" if site_id else "global", items=["orders"],
                  started_by="boss@example.test", state="finished")
    db.session.add(run)
    db.session.flush()
    for line_site, message in messages:
        db.session.add(RunLogLine(run_id=run.id, site_id=line_site, message=message))
    db.session.commit()
    return run.id


def test_logs_and_runs_are_scoped_by_company_then_site(app, shared):
    from webapp.models import Company

    with app.app_context():
        other = Company(name="Other Co", slug="other-co")
        db.session.add(other)
        db.session.flush()
        outsider = Admin(company_id=other.id, email="outsider@example.test", name="Out", is_super=True)
        outsider.set_password("secret-pass")
        other_site = Site(company_id=other.id, slug="other-site", name="Other site")
        db.session.add_all([outsider, other_site])
        db.session.commit()
        global_run = _run_with_lines(shared["account"], None, [(None, "GLOBAL-RUN-LEVEL"),
                                                               (shared["theirs"], "THEIRS-LINE"),
                                                               (shared["mine"], "MINE-LINE")])
        _run_with_lines(shared["own"], None, [(None, "OWN-RUN-LEVEL")])
    # The outsider (company-wide admin of another company) sees none of it.
    outsider_log = login_client(app, "outsider@example.test").get("/preferences/embedded/log")
    for marker in ("GLOBAL-RUN-LEVEL", "THEIRS-LINE", "MINE-LINE", "OWN-RUN-LEVEL"):
        assert marker not in outsider_log.get_data(as_text=True), marker
    # The one-site admin: lines of their site, run-level lines of accounts they manage only.
    one = login_client(app, "one@example.test")
    text = one.get("/preferences/embedded/log").get_data(as_text=True)
    assert "MINE-LINE" in text and "OWN-RUN-LEVEL" in text
    assert "THEIRS-LINE" not in text and "GLOBAL-RUN-LEVEL" not in text
    assert one.get(f"/sync/runs/{global_run}/panel").status_code == 404
    boss = login_client(app, "boss@example.test")
    assert all(m in boss.get("/preferences/embedded/log").get_data(as_text=True)
               for m in ("GLOBAL-RUN-LEVEL", "THEIRS-LINE", "MINE-LINE"))
    assert boss.get(f"/sync/runs/{global_run}/panel").status_code == 200


def _stuck_push(app, shared, account_key: str = "account") -> tuple[str, int]:
    from tests.factories import Factory

    with app.app_context():
        order = Factory().order(db.session.get(Site, shared["mine"]), number="STUCK-1", paid=True)
        push = OrderPush(order_id=order.id, account_id=shared[account_key], state="pushing", attempts=1,
                         idempotency_key="k-stuck", reference="STUCK-1-ES", lease_until=utcnow())
        db.session.add(push)
        db.session.commit()
        return order.number, push.id


def test_an_account_manager_releases_a_stuck_push_and_history_says_who(app, shared):
    number, push_id = _stuck_push(app, shared)
    one = login_client(app, "one@example.test")  # may see the order, does not manage the account
    assert "Release" not in one.get(f"/orders/{number}/embedded/panel").get_data(as_text=True)
    one.post(f"/orders/{number}/embedded/release", data={"account_id": shared["account"]})
    with app.app_context():
        assert db.session.get(OrderPush, push_id).state == "pushing"
    boss = login_client(app, "boss@example.test")
    panel = boss.get(f"/orders/{number}/embedded/panel").get_data(as_text=True)
    assert "Release" in panel
    response = boss.post(f"/orders/{number}/embedded/release", data={"account_id": shared["account"]},
                         headers={"HX-Request": "true"})
    assert response.status_code == 200 and "released" in response.get_data(as_text=True)
    again = boss.post(f"/orders/{number}/embedded/release", data={"account_id": shared["account"]})
    assert again.status_code == 302
    with app.app_context():
        push = db.session.get(OrderPush, push_id)
        assert push.state == "failed" and push.lease_until is None and push.ambiguous
        assert push.errors[0].startswith("Released by boss@example.test")
        events = OrderEvent.query.filter_by(order_id=push.order_id, kind="push_released").all()
        assert len(events) == 1 and events[0].actor == "boss@example.test"
    history = boss.get(f"/orders/{number}/history").get_data(as_text=True)
    assert "released by boss@example.test" in history


def test_the_cli_twin_releases_with_the_same_rule(app, shared):
    number, push_id = _stuck_push(app, shared)
    runner = app.test_cli_runner()
    args = ["embedded", "release-push", number, "--account", str(shared["account"]), "--admin"]
    refused = runner.invoke(args=[*args, "one@example.test"])
    assert refused.exit_code == 2 and "manages this account" in refused.output
    done = runner.invoke(args=[*args, "boss@example.test"])
    assert done.exit_code == 0, done.output
    again = runner.invoke(args=[*args, "boss@example.test"])
    assert again.exit_code == 2 and "no longer running" in again.output
    with app.app_context():
        assert db.session.get(OrderPush, push_id).state == "failed"
