"""Transport and logs (issue 11, item 11): Secure cookies and HSTS whenever the app is served
over HTTPS, webhook tokens kept out of access logs, webhook URLs built from PUBLIC_URL (never
the Host header), webhook bodies decoded by their declared charset or refused with 415."""
from __future__ import annotations

import json
import logging

import pytest

from webapp.embedded import install
from webapp.embedded import webhooks as intake
from webapp.embedded.accounts import save_account
from webapp.extensions import db
from webapp.log_filters import redact
from webapp.models import WebhookEvent

from .conftest import PASSWORD


def test_https_gets_secure_cookies_and_hsts_without_production_mode(app, world):
    assert not app.config["SESSION_COOKIE_SECURE"]
    client = app.test_client()
    response = client.post("/login", base_url="https://hub.example.test",
                           data={"email": world.boss, "password": PASSWORD})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}, cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = app.test_client().post("/login", data={"email": world.boss, "password": PASSWORD})
    cookie = next(c for c in plain.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "secure" not in cookie.lower() and "Strict-Transport-Security" not in plain.headers


def test_webhook_tokens_never_reach_the_access_log(caplog):
    token = "tok_Zx81LmQpR2sT5uVw"
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        # What Werkzeug's request handler logs for every request ('"%s" %s %s', request line, code, size).
        logging.getLogger("werkzeug").info('127.0.0.1 - - [x] "%s" %s %s',
                                           f"POST /webhooks/shipstation/{token} HTTP/1.1", "202", "-")
        logging.getLogger("werkzeug").info(f"127.0.0.1 - - [x] \"POST /webhooks/x/{token}?a=1 HTTP/1.1\" 404 -")
    assert caplog.records and token not in caplog.text
    assert "/webhooks/shipstation/[token]" in caplog.text
    assert redact("/orders/W-1") == "/orders/W-1"


@pytest.fixture
def hook_account(app_ctx, factory):
    install.enable_provider("shipstation")
    admin = factory.admin(is_super=True)
    return save_account(None, company_id=admin.company_id, name="SS", provider_key="shipstation", admin_id=admin.id,
                        credentials={"api_key": "key1", "api_secret": "secret-1234",
                                     "base_url": "https://ssapi.shipstation.com"}, settings={}).account


def test_webhook_url_comes_from_public_url_not_the_host_header(app, hook_account, monkeypatch):
    assert intake.webhook_url(hook_account, "http://evil.example/") == \
        f"http://evil.example/webhooks/shipstation/{hook_account.webhook_token}"  # unset: the admin's own address
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://hub.example.com")
    assert intake.webhook_url(hook_account, "http://evil.example/") == \
        f"https://hub.example.com/webhooks/shipstation/{hook_account.webhook_token}"


def test_the_account_page_and_subscription_use_public_url(app, world, monkeypatch):
    from webapp.models import ProviderAccount

    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://hub.example.com")
    evil = "http://evil.example"  # every request of this client names this host
    client = app.test_client()
    assert client.post("/login", base_url=evil, data={"email": world.boss, "password": PASSWORD}).status_code == 302
    with app.app_context():
        account = next(a for a in ProviderAccount.query.all() if a.provider.capabilities.status_webhook)
        account_id, token = account.id, account.webhook_token
        subscribes = account.provider.capabilities.webhook_subscribe
    page = client.get(f"/preferences/embedded/accounts/{account_id}", base_url=evil)
    text = page.get_data(as_text=True)
    assert "https://hub.example.com/webhooks/" in text and "evil.example/webhooks" not in text
    client.post(f"/preferences/embedded/accounts/{account_id}/webhook", base_url=evil)
    with app.app_context():
        sub = db.session.get(ProviderAccount, account_id).webhook_subscription or {}
        assert bool(sub) == subscribes
        if subscribes:
            assert sub["target_url"].startswith("https://hub.example.com/") and token in sub["target_url"]


def _delivery(charset: str | None, encoding: str, bom: bool = False) -> tuple[dict, bytes]:
    body = json.dumps({"resource_url": "https://ssapi.shipstation.com/shipments?batchId=1",
                       "resource_type": "SHIP_NOTIFY", "note": "Ünïcødé"}, ensure_ascii=False)
    data = body.encode(encoding)
    if bom and not data.startswith(b"\xff\xfe"):
        data = b"\xff\xfe" + data
    content_type = "application/json" + (f"; charset={charset}" if charset else "")
    return {"Content-Type": content_type}, data


def test_a_utf16_webhook_is_decoded_by_its_declared_charset(hook_account):
    headers, body = _delivery("utf-16", "utf-16")
    answer = intake.receive("shipstation", hook_account.webhook_token, headers, body)
    assert answer.status == 202, answer
    stored = db.session.get(WebhookEvent, answer.event_id).payload
    assert json.loads(stored)["note"] == "Ünïcødé"


@pytest.mark.parametrize("charset,encoding,bom", [(None, "utf-16-le", True), ("no-such-charset", "utf-8", False),
                                                  ("utf-8", "utf-16-le", True), ("latin-1", "utf-16", False)])
def test_an_undecodable_webhook_is_refused_with_415(hook_account, charset, encoding, bom):
    headers, body = _delivery(charset, encoding, bom)
    answer = intake.receive("shipstation", hook_account.webhook_token, headers, body)
    assert answer.status in (415, 400), answer
    if charset != "latin-1":
        assert answer.status == 415, answer
    assert WebhookEvent.query.count() == 0
