"""Issue 13 §5: an account has one status — set by every connection test and real call, reset
when its credentials change — told the same way on its page, the accounts list and the site
cards; the test panel's last poll refreshes the page's header status and exchanges list."""
from __future__ import annotations

import re

from sqlalchemy import event

from webapp.embedded import account_status
from webapp.embedded import push as push_uc
from webapp.embedded.accounts import run_connection_test, save_account
from webapp.embedded.runs import execute_run, request_run
from webapp.extensions import db
from webapp.models import ProviderAccount, ProviderExchange

HX = {"HX-Request": "true"}
BASE = "/preferences/embedded"


def _save(account, **credentials):
    result = save_account(account, company_id=account.company_id, name=account.name, provider_key="shipstation",
                          admin_id=account.admin_id, credentials={**account.credentials, **credentials},
                          settings=account.settings)
    assert result.ok, result.errors


def _states(html: str) -> list[str]:
    return re.findall(r'data-account-status="([a-z]+)"', html)


def test_fixing_a_credential_and_testing_tells_one_story_everywhere(client, login, factory, make_shipstation_account,
                                                                    run_worker):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    good_secret = sim.api_secret
    _save(account, api_secret="wrong-secret")
    run_connection_test(account.id)
    assert (account.auth_state, account.auth_code) == ("failing", "invalid_credentials")
    login(factory.admin(is_super=True))
    page = client.get(f"{BASE}/accounts/{account.id}").get_data(as_text=True)
    assert "Failing: Invalid credentials" in page and set(_states(page)) == {"failing"}

    # New credentials: the old "Invalid credentials" is gone at once, everywhere.
    _save(account, api_secret=good_secret)
    assert account.auth_state == "changed" and account.test_state is None
    page = client.get(f"{BASE}/accounts/{account.id}").get_data(as_text=True)
    assert "Invalid credentials" not in page and "Not verified since the credentials changed" in page
    assert set(_states(page)) == {"changed"}
    listing = client.get(f"{BASE}/").get_data(as_text=True)
    row = listing[listing.index(f'href="{BASE}/accounts/{account.id}"', listing.index('id="accounts"')):]
    assert _states(row.split("</tr>")[0]) == ["changed"]
    card = client.get(f"/sites/{site.slug}/settings/embedded").get_data(as_text=True)
    assert _states(card[card.index(f'id="embedded-account-{account.id}"'):]) [0] == "changed"

    # Test again: the panel's final poll carries the header status and the exchanges (out of band).
    assert client.post(f"{BASE}/accounts/{account.id}/test", headers=HX).status_code == 200
    run_worker()
    final = client.get(f"{BASE}/accounts/{account.id}/test", headers=HX).get_data(as_text=True)
    assert "Verified." in final and "hx-trigger=\"load" not in final
    header = re.search(rf'<span class="account-status" data-account-status="(\w+)" id="account-status-{account.id}" '
                       r'hx-swap-oob="true">', final)
    assert header and header.group(1) == "ok"
    exchanges = final[final.index(f'id="account-exchanges-{account.id}" hx-swap-oob="true"'):]
    assert exchanges.count("<details>") == 2  # the old 401 and the new 200
    assert '<span class="badge status-badge status-ok">200</span>' in exchanges
    assert "status-bad\">401</span>" in exchanges
    assert good_secret not in final
    page = client.get(f"{BASE}/accounts/{account.id}").get_data(as_text=True)
    assert set(_states(page)) == {"ok"} and "Verified" in page


def test_the_page_header_has_the_target_the_panel_refreshes(client, login, factory, make_shipstation_account):
    site = factory.site()
    account, _ = make_shipstation_account(site)
    login(factory.admin(is_super=True))
    page = client.get(f"{BASE}/accounts/{account.id}").get_data(as_text=True)
    assert f'id="account-status-{account.id}"' in page and f'id="account-exchanges-{account.id}"' in page
    assert "hx-swap-oob" not in page  # only the poll's answer swaps them


def test_real_calls_move_the_status_and_a_verified_account_costs_no_write(factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    good_secret = sim.api_secret
    order = factory.order(site, paid=True, items=[{"approval": "approved"}])

    _save(account, api_secret="wrong-secret")
    push = push_uc.ensure_push(order, account)
    assert push_uc.to_queued(push.id, ("waiting",))
    db.session.commit()
    assert push_uc.run_push(push.id) == "failed"
    db.session.expire_all()
    account = db.session.get(ProviderAccount, account.id)
    assert account.auth_state == "failing" and account.auth_code == "invalid_credentials"
    assert account.auth_message.startswith(f"Push of order {order.number}:")

    _save(account, api_secret=good_secret)
    assert push_uc.to_queued(push.id, ("failed",))
    db.session.commit()
    assert push_uc.run_push(push.id) == "pushed"
    db.session.expire_all()
    account = db.session.get(ProviderAccount, account.id)
    assert account.auth_state == "ok"  # a real call verified the new credentials

    # Verified already: a further successful push writes nothing to the account.
    statements = []
    listener = lambda conn, cursor, statement, *a: statements.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        other = factory.order(site, paid=True, items=[{"approval": "approved"}])
        push = push_uc.ensure_push(other, account)
        assert push_uc.to_queued(push.id, ("waiting",))
        db.session.commit()
        assert push_uc.run_push(push.id) == "pushed"
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE PROVIDER_ACCOUNTS")]


def test_a_synchronization_refused_the_credentials_fails_the_account_and_a_good_one_verifies_it(
        factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    good_secret = sim.api_secret
    account_id = account.id
    _save(account, api_secret="wrong-secret")
    run_id = request_run(account, ["products"], "test", site=site).id
    execute_run(run_id)  # (runs clear the session between batches: ids only from here)
    account = db.session.get(ProviderAccount, account_id)
    assert account.auth_state == "failing" and f"Synchronization #{run_id}" in account.auth_message
    assert account_status.credentials_refused(account)  # automatic status polling skips it

    _save(account, api_secret=good_secret)
    run_id = request_run(account, ["products"], "test", site=site).id
    assert execute_run(run_id) == "finished"
    assert db.session.get(ProviderAccount, account_id).auth_state == "ok"


def test_an_address_change_is_a_credentials_change(factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    run_connection_test(account.id)
    assert account.auth_state == "ok" and account.test_state == "ok"
    _save(account, base_url=sim.api + "/", api_secret=sim.api_secret)  # same address: nothing changed
    assert account.auth_state == "ok"
    _save(account, base_url="http://127.0.0.1:9/shipstation", api_secret=sim.api_secret)
    assert account.auth_state == "changed" and account.test_state is None
    assert ProviderExchange.query.filter_by(account_id=account.id).count() == 1  # history stays


def test_a_bulk_push_of_a_synchronization_verifies_new_credentials(factory, make_shipstation_account):
    """Each bulk chunk goes out through its own client (order_sync): an accepted request still
    tells the account its credentials work."""
    site = factory.site()
    factory.order(site, paid=True, items=[{"approval": "approved"}])
    account, sim = make_shipstation_account(site)
    account_id = account.id
    _save(account, api_secret=sim.api_secret)  # a credentials change: not verified until a call works
    assert db.session.get(ProviderAccount, account_id).auth_state != "ok"
    run_id = request_run(db.session.get(ProviderAccount, account_id), ["orders"], "test", site=site).id
    assert execute_run(run_id) == "finished"
    db.session.expire_all()
    assert len(sim.orders()) == 1
    assert db.session.get(ProviderAccount, account_id).auth_state == "ok"
