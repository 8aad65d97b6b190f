"""Real provider answers to mutate: for every provider of the registry whose simulator has a
testing module, run each operation its capabilities promise against the sandbox once and
record every HTTP answer (and the webhook bodies the simulator delivers). The fuzz tests
then replay those answers mutated — truncated, retyped, deleted, swapped for HTML or random
bytes — so they reach deep into each parser without provider-specific test code.

Providers without a simulator testing module get an empty corpus: they are still fuzzed
with random answers."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tests.providers import contexts

OPERATIONS = ("test_connection", "push_order", "find_order", "push_orders_bulk", "fetch_status_updates",
              "iter_products", "iter_categories", "subscribe_webhook", "process_webhook")


@dataclass
class Answer:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes


@dataclass
class Corpus:
    provider: type
    credentials: dict
    answers: dict[str, list[Answer]] = field(default_factory=dict)     # operation -> answers
    webhooks: list[tuple[dict, bytes]] = field(default_factory=list)     # (headers, body) delivered

    def all_answers(self) -> list[Answer]:
        return [a for answers in self.answers.values() for a in answers]


def webhook_token(provider) -> str:
    """The account webhook token the recorded deliveries were set up for (hand-configured webhooks
    carry a value derived from it, e.g. Site Flow's trigger header)."""
    return f"corpus-{provider.key}-token"


def push_settings(provider_key: str) -> dict:
    """Entity settings every push to this provider needs (``PUSH_SETTINGS`` of its simulator's
    testing module, e.g. a required product mapping): {"product": {...}, "site_user": {...},
    "site": {...} (activation), "account": {...}}."""
    from tests.resilience import harness

    try:
        module, _ = harness.simulator_testing_module(provider_key)
    except LookupError:
        return {}
    return dict(getattr(module, "PUSH_SETTINGS", {}))


def order_context(n: int = 1, settings: dict | None = None):
    settings = settings or {}
    customer = contexts.CustomerContext(email="ada@example.test", first_name="Ada",
                                        settings=dict(settings.get("site_user") or {}))
    return contexts.order(order_id=n, number=f"W-{1000 + n}", external_number=f"W-{1000 + n}-ES1",
                          idempotency_key=f"es1-o{n}-W-{1000 + n}", customer=customer,
                          site_settings=dict(settings.get("site") or {}),
                          items=[contexts.item(line, external_number=f"W-{1000 + n}-ES1-{line}",
                                               product_settings=dict(settings.get("product") or {}))
                                 for line in (1, 2)])


def push_refs(result=None, n: int = 1):
    from webapp.providers.context import PushRef

    ctx = order_context(n)
    return [PushRef(push_id=n, idempotency_key=ctx.idempotency_key, reference=ctx.external_number,
                    external_id=getattr(result, "external_id", None) or "1000001",
                    pushed_at=datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc),
                    item_numbers=[i.external_number for i in ctx.items])]


_PUSHED: dict = {}  # the context of the last push_order, so find_order looks up what it created


def run_operation(client, name: str, webhook_target: str = "https://hub.example.test/webhooks/x/token",
                  webhook_body: bytes | None = None):
    """Run one operation to the end (generators consumed); returns its result."""
    if name == "test_connection":
        return client.test_connection()
    settings = push_settings(client.key)
    if name == "push_order":
        _PUSHED[type(client)] = ctx = order_context(1, settings)
        return client.push_order(ctx)
    if name == "find_order":
        # The same order again, with what its push recorded (a multi-call push's checkpoint).
        pushed = _PUSHED.get(type(client))
        ctx = order_context(1, settings)
        if pushed is not None:
            ctx.checkpoint = dict(pushed.checkpoint)
        calls = len(client.exchanges)
        result = client.find_order(ctx)
        if pushed is not None and len(client.exchanges) == calls:
            # The checkpoint already answered (tFLOW knows its order id): look up from scratch.
            result = client.find_order(order_context(1, settings))
        return result
    if name == "push_orders_bulk":
        return client.push_orders_bulk([order_context(2, settings), order_context(3, settings)])
    if name == "fetch_status_updates":
        return list(client.fetch_status_updates(push_refs()))
    if name == "iter_products":
        return list(client.iter_products())
    if name == "iter_categories":
        return list(client.iter_categories())
    if name == "subscribe_webhook":
        return client.subscribe_webhook(webhook_target)
    if name == "process_webhook":
        return list(client.process_webhook(webhook_body or b"{}"))
    raise ValueError(name)


def operations_for(provider) -> list[str]:
    caps = provider.capabilities
    ops = ["test_connection"]
    if caps.push_orders:
        ops.append("push_order")
        if caps.order_lookup:
            ops.append("find_order")
    if caps.bulk_push:
        ops.append("push_orders_bulk")
    if caps.status_polling:
        ops.append("fetch_status_updates")
    if caps.product_sync:
        ops.append("iter_products")
    if caps.category_sync:
        ops.append("iter_categories")
    if caps.webhook_subscribe:
        ops.append("subscribe_webhook")
    if caps.status_webhook:
        ops.append("process_webhook")
    return ops


def record(provider) -> Corpus:
    """Run every operation against a fresh sandbox and keep the answers."""
    from sandbox.testing import run_sandbox, serve_wsgi
    from tests.resilience import harness
    from werkzeug.wrappers import Request, Response

    try:
        module, _ = harness.simulator_testing_module(provider.key)
    except LookupError:
        return Corpus(provider, {})
    delivered: list[tuple[dict, bytes]] = []

    def capture(environ, start_response):
        request = Request(environ)
        delivered.append((dict(request.headers), request.get_data()))
        return Response("", status=202)(environ, start_response)

    base, stop = run_sandbox()
    hook_url, stop_hook = serve_wsgi(capture)
    try:
        sim = harness.create_sim_account(base, provider.key, rate_limit=100_000, window_seconds=60)
        getattr(sim, "seed", lambda: None)()
        corpus = Corpus(provider, dict(sim.credentials))
        results = {}
        for name in operations_for(provider):
            if name == "process_webhook":
                continue
            client = provider(dict(sim.credentials), dict(push_settings(provider.key).get("account") or {}))
            answers: list[Answer] = []
            client.http.session.hooks["response"].append(
                lambda response, *a, _answers=answers, **k: _answers.append(_answer(response)))
            try:
                results[name] = run_operation(client, name, webhook_target=f"{hook_url}/hook")
            except Exception:  # noqa: BLE001 - a failing operation still leaves useful answers
                results[name] = None
            corpus.answers[name] = answers
        push = results.get("push_order")
        if not provider.capabilities.webhook_subscribe and hasattr(sim, "add_webhook"):
            # Webhooks set up by hand at the provider (Site Flow triggers): what the account page shows.
            sim.add_webhook(provider.webhook_setup(f"{hook_url}/hook", webhook_token(provider)))
        if "process_webhook" in operations_for(provider) and push is not None and hasattr(sim, "ship"):
            if not provider.capabilities.webhook_subscribe and hasattr(sim, "set_webhook"):
                sim.set_webhook(f"{hook_url}/hook")  # no subscription call: the URL is set up at the provider
            sim.ship(push.external_id)
            corpus.webhooks = list(delivered)
            for headers, body in corpus.webhooks[:1]:
                client = provider(dict(sim.credentials), dict(push_settings(provider.key).get("account") or {}))
                answers = []
                client.http.session.hooks["response"].append(
                    lambda response, *a, _answers=answers, **k: _answers.append(_answer(response)))
                try:
                    run_operation(client, "process_webhook", webhook_body=body)
                except Exception:  # noqa: BLE001
                    pass
                corpus.answers["process_webhook"] = answers
        return corpus
    finally:
        stop_hook()
        stop()


def _answer(response) -> Answer:
    from urllib.parse import urlsplit

    return Answer(response.request.method, urlsplit(response.url).path, response.status_code,
                  response.headers.get("Content-Type", ""), response.content)


def json_or_none(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
