"""Secrets stay secret through a full cycle — push, connection test, webhook subscription and
delivery, synchronization runs — for every provider that pushes (via its simulator):

* the raw database (every column of every table, credentials included) never holds a
  credential in clear;
* no page the hub renders for a super-admin shows one (every GET route of the URL map, every
  tab, full pages and htmx partials);
* no log record (this process at DEBUG, and the worker processes' output) and no RQ job
  (queued, scheduled, started, finished, failed: args, kwargs, meta, description, result)
  carries one — nor the webhook token, the CREDENTIALS_KEY or the SECRET_KEY."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from rq.job import Job
from rq.registry import (CanceledJobRegistry, DeferredJobRegistry, FailedJobRegistry, FinishedJobRegistry,
                         ScheduledJobRegistry, StartedJobRegistry)

from sandbox.testing import run_sandbox, serve_wsgi
from tests.factories import Factory
from tests.resilience import harness
from webapp.extensions import db
from webapp.models import ENTITY_TYPES, Category, Order, OrderPush, ProviderAccount, SyncRun, WebhookEvent
from webapp.queue import all_queues, get_redis

from .conftest import login_client, rule_url, rules

TAB_KEYS = ("items", "history", "details", "general", "shipping", "embedded")


@pytest.fixture
def hub_url(app):
    base, stop = serve_wsgi(app)
    yield base
    stop()


def _scan(text: str, secrets: dict[str, str], where: str) -> list[str]:
    return [f"{label} in {where}" for label, secret in secrets.items() if secret and secret in text]


def _database_dump() -> str:
    """Every row of every table as stored (plain SQL: no column type decrypts anything)."""
    parts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(db.text(f'SELECT * FROM "{table.name}"')).all():
            parts.append(f"{table.name}: {tuple(row)!r}")
    assert len(parts) > 20
    return "\n".join(parts)


def _jobs_dump() -> str:
    redis = get_redis()
    ids = set()
    for queue in all_queues():
        ids |= set(queue.get_job_ids())
        for registry in (StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry, ScheduledJobRegistry,
                         DeferredJobRegistry, CanceledJobRegistry):
            ids |= set(registry(queue=queue).get_job_ids())
    parts = []
    for job in Job.fetch_many(sorted(ids), connection=redis):
        if job is None:
            continue
        result = job.latest_result()
        parts.append(repr((job.id, job.func_name, job.args, job.kwargs, job.meta, job.description,
                           result.return_value if result else None, result.exc_string if result else None)))
    assert len(parts) >= 5, "the cycle should have left jobs to inspect"
    # Everything else kept in Redis (locks, limiter logs, throttling, …), raw.
    for key in redis.scan_iter():
        kind = redis.type(key).decode()
        if kind == "string":
            value = redis.get(key)
        elif kind == "hash":
            value = redis.hgetall(key)
        elif kind == "list":
            value = redis.lrange(key, 0, -1)
        elif kind == "set":
            value = redis.smembers(key)
        elif kind == "zset":
            value = redis.zrange(key, 0, -1)
        else:
            continue
        parts.append(f"{key!r}: {value!r}")
    return "\n".join(parts)


def test_no_secret_leaks_through_a_full_cycle(app, app_ctx, hub_url, run_worker, caplog):
    caplog.set_level(logging.DEBUG)
    base, stop_sandbox = run_sandbox()
    worker_output = []
    try:
        world = harness.build_world([base], sites=1, orders=3, ineligible_every=3)
        factory = Factory()
        site_id = world.site_ids[0]
        from webapp.models import Site
        site = db.session.get(Site, site_id)
        product = factory.product(site, sku="SEC-1")
        user = factory.site_user(site)
        method = factory.shipping_method(site, "Secret ground")
        accounts = [db.session.get(ProviderAccount, account_id) for account_id in world.accounts]
        credentials = {f"{a.provider_key}#{a.id} {name}": str(a.credentials[name]) for a in accounts
                       for name in a.provider.credentials.secret_names if a.credentials.get(name)}
        assert credentials, "every push provider declares at least one secret credential"
        for sim in world.accounts.values():
            getattr(sim, "seed", lambda: None)()

        harness.pay(world.eligible + world.ineligible)
        worker_output.append(run_worker().stderr)
        assert {p.state for p in OrderPush.query.filter(OrderPush.order_id.in_(world.eligible))} == {"pushed"}

        from webapp.embedded.accounts import request_connection_test, request_webhook_subscription
        from webapp.embedded.runs import request_run
        for account in accounts:
            request_connection_test(account)
            caps = account.provider.capabilities
            if caps.webhook_subscribe:
                request_webhook_subscription(account, f"{hub_url}/webhooks/{account.provider_key}/"
                                                      f"{account.webhook_token}")
            elif hasattr(world.accounts[account.id], "add_webhook"):  # set up by hand at the provider
                world.accounts[account.id].add_webhook(account.provider.webhook_setup(
                    f"{hub_url}/webhooks/{account.provider_key}/{account.webhook_token}", account.webhook_token))
        worker_output.append(run_worker().stderr)
        db.session.expire_all()
        for account in accounts:
            assert account.test_state == "ok", account.test_message
            sim = world.accounts[account.id]
            if account.provider.capabilities.status_webhook and hasattr(sim, "ship"):
                push = OrderPush.query.filter_by(account_id=account.id, state="pushed").first()
                sim.ship(push.external_id)
        worker_output.append(run_worker().stderr)
        shipped = [a for a in accounts if a.provider.capabilities.status_webhook and hasattr(world.accounts[a.id], "ship")]
        if shipped:  # the webhook really came in and was processed
            assert WebhookEvent.query.filter_by(state="processed").count() >= len(shipped)
        for account in accounts:
            request_run(account, account.provider.capabilities.sync_items, "ops@example.test", site=site)
        worker_output.append(run_worker().stderr)
        db.session.expire_all()
        assert {r.state for r in SyncRun.query.all()} == {"finished"}

        secrets = dict(credentials)
        tokens = {f"webhook token #{a.id}": a.webhook_token for a in accounts}
        keys = {"CREDENTIALS_KEY": app.config["CREDENTIALS_KEY"], "SECRET_KEY": app.config["SECRET_KEY"]}
        leaks = []

        # The raw database: the credentials column is ciphertext; nothing else holds a secret.
        raw = db.session.execute(db.text("SELECT credentials FROM provider_accounts")).scalars().all()
        assert raw and all(value.startswith("gAAAA") for value in raw)  # Fernet tokens
        leaks += _scan(_database_dump(), {**secrets, **keys}, "the database")

        # Every page a super-admin can open.
        values = {
            "site_slug": site.slug, "order_number": db.session.get(Order, world.eligible[0]).number, "line": 1,
            "product_id": product.id, "category_id": Category.root_for(site).id, "user_id": user.id,
            "method_id": method.id, "account_id": accounts[0].id, "run_id": SyncRun.query.first().id,
            "provider_key": accounts[0].provider_key,
        }
        entity_ids = {"product": product.id, "category": values["category_id"], "site_user": user.id,
                      "shipping_method": method.id}
        client = login_client(app, world.admin_email)
        pages = 0
        for rule, method_name in rules(app, {"GET"}):
            variants = [{}]
            if "tab" in rule.arguments:
                variants = [{"tab": key} for key in TAB_KEYS]
            if "entity_type" in rule.arguments:
                variants = [{"entity_type": k, "entity_id": entity_ids[k]} for k in ENTITY_TYPES]
            if "account_id" in rule.arguments:
                variants = [{**v, "account_id": a.id} for v in variants for a in accounts]
            for overrides in variants:
                url, _ = rule_url(app, rule, values, overrides)
                for headers in ({}, {"HX-Request": "true"}):
                    response = client.get(url, headers=headers, follow_redirects=True)
                    assert response.status_code < 500, (url, response.status_code)
                    if response.status_code == 200:
                        pages += 1
                        leaks += _scan(response.get_data(as_text=True), {**secrets, **keys}, f"page {url}")
        assert pages >= 40, pages

        # Logs (this process and every worker run) and every job kept in Redis.
        # The simulator runs in this process: its own HTTP calls to the hub (the webhook delivery,
        # logged by urllib3 with the hub URL) are the provider's side, not the hub's logs.
        hub = urlsplit(hub_url).netloc
        records = [r for r in caplog.records if not (r.name.startswith("urllib3") and hub in r.getMessage())]
        logs = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in records)
        logs += "\n".join(worker_output)
        assert "push ok" in logs and "provider http" in logs  # the logs really cover the cycle
        leaks += _scan(logs, {**secrets, **tokens, **keys}, "the logs")
        leaks += _scan(_jobs_dump(), {**secrets, **tokens, **keys}, "Redis (jobs and keys)")
        assert not leaks, leaks
    finally:
        stop_sandbox()
