"""Probes answer without login and without data; /metrics is off unless a token is configured
and then shows what every process recorded (pushes, queues, runs, provider HTTP, webhooks)."""
from __future__ import annotations

import pytest

from webapp.ops import counters

TOKEN = "scrape-token-0123456789"


def test_healthz_and_readyz_need_no_login_and_show_no_data(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ready", "database": "ok", "redis": "ok"}


def test_readyz_answers_503_while_redis_is_down(app, client, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    class DeadRedis:
        def ping(self):
            raise RedisConnectionError("connection refused")

    monkeypatch.setattr("webapp.queue.get_redis", lambda: DeadRedis())
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "not ready", "database": "ok", "redis": "unavailable"}


def test_metrics_disabled_without_a_token_and_refused_with_a_wrong_one(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "")
    assert client.get("/metrics").status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.usefixtures("app_ctx")
def test_metrics_show_pushes_queues_http_and_webhooks(app, client, monkeypatch, factory, make_shipstation_account,
                                                      run_worker):
    from webapp.storefront import orders as uc

    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    site = factory.site()
    account, _ = make_shipstation_account(site)
    order = factory.order(site, paid=False, items=[{"approval": "approved"}])
    uc.mark_paid(order, "ops@example.test")  # queues a push: depth 1 before the worker runs
    before = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert 'hub_pushes{provider="shipstation",state="queued"} 1.0' in before
    assert 'hub_queue_depth{queue="push"} 1.0' in before  # on the push queue, by urgency
    assert 'hub_queue_depth{queue="sync"} 0.0' in before and 'hub_queue_depth{queue="maintenance"} 0.0' in before
    run_worker()
    client.post(f"/webhooks/shipstation/{account.webhook_token}", data=b"not json")   # 400
    client.post("/webhooks/no-such-provider/abc", data=b"{}")                          # 404, label "unknown"
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert 'hub_pushes{provider="shipstation",state="pushed"} 1.0' in text
    # The worker process recorded its provider call in Redis; the web process shows it.
    assert 'hub_provider_http_responses_total{provider="shipstation",status="200"}' in text
    assert 'hub_provider_http_duration_seconds_count{provider="shipstation"}' in text
    assert 'hub_webhooks_received_total{answer="400",provider="shipstation"} 1.0' in text
    assert 'hub_webhooks_received_total{answer="404",provider="unknown"} 1.0' in text
    assert "no-such-provider" not in text


def test_counters_never_raise_when_redis_is_down(app_ctx, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    def broken():
        raise RedisConnectionError("down")

    monkeypatch.setattr(counters, "_redis", broken)
    counters.record_provider_http("shipstation", 200, 12)
    counters.record_webhook("shipstation", "202")
