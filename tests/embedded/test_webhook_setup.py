"""§9 webhook setup per provider: the scheme, the exact URL / header / template to paste are
on the account page, and the answer is in the provider's format. The fake provider's
callback carries only its own order id (§7)."""
from __future__ import annotations

import json

from webapp.embedded.push import request_push, run_push
from webapp.embedded.webhooks import process
from webapp.extensions import db
from webapp.models import OrderPush, WebhookEvent
from webapp.providers.base import static_header_token


def test_the_setup_is_shown_and_a_notification_is_answered_in_the_providers_format(
        app, client, login, factory, fake_account, fake_remote):
    site = factory.site()
    account = fake_account(site)
    order = factory.order(site, paid=True, items=[{"approval": "approved"}])
    request_push(order, account.id)
    push = OrderPush.query.filter_by(order_id=order.id).one()
    assert run_push(push.id) == "pushed"
    login(factory.admin(is_super=True))
    page = client.get(f"/preferences/embedded/accounts/{account.id}").get_data(as_text=True)
    token = static_header_token(account.webhook_token)
    assert f"/webhooks/fake/{account.webhook_token}" in page
    assert f"X-Fake-Token: {token}" in page and 'data-webhook-scheme="static_token"' in page
    assert "{&#34;orderId&#34;: &#34;{{order.id}}&#34;" in page or '{"orderId": "{{order.id}}"' in page

    url = f"/webhooks/fake/{account.webhook_token}"
    body = json.dumps({"orderId": push.external_id, "status": "shipped"})
    refused = client.post(url, data=body, headers={"X-Fake-Token": "guess"})
    assert refused.status_code == 401 and refused.content_type == "application/xml"
    assert refused.get_data(as_text=True) == '<ack status="401">not authenticated</ack>'
    accepted = client.post(url, data=body, headers={"X-Fake-Token": token})
    assert accepted.status_code == 202 and accepted.get_data(as_text=True) == '<ack status="202">accepted</ack>'
    event = WebhookEvent.query.one()
    assert process(event.id) == "processed"
    db.session.expire_all()
    assert order.items[0].status == "Shipped"     # matched by the provider's own order id


def test_providers_without_webhooks_show_no_setup(fake_registered):
    from webapp.providers.registry import all_providers

    for provider in all_providers().values():
        setup = provider.webhook_setup("https://hub.test/webhooks/x/t", "t" * 32)
        declared = provider.capabilities.status_webhook or provider.webhook_auth != "none"
        assert (setup is not None) is declared, provider.key
        if setup:
            assert setup.url == "https://hub.test/webhooks/x/t" and setup.explanation
