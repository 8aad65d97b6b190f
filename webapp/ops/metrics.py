"""Prometheus metrics, read at scrape time from what every process shares — the database
(pushes, runs) and Redis (queues, counters) — so any number of web and worker processes on
any number of machines give one consistent picture, with no multiprocess directory."""
from __future__ import annotations

from datetime import timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from rq import Queue
from sqlalchemy import func

from ..extensions import db
from ..models import OrderPush, ProviderAccount, SyncRun, utcnow
from . import counters

RUN_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
RUN_WINDOW = timedelta(days=1)


class HubCollector:
    def collect(self):
        yield from self._pushes()
        yield from self._queues()
        yield from self._runs()
        yield from self._provider_http()
        yield from self._webhooks()

    def _pushes(self):
        gauge = GaugeMetricFamily("hub_pushes", "Order pushes by provider and state.", labels=["provider", "state"])
        rows = (db.session.query(ProviderAccount.provider_key, OrderPush.state, func.count())
                .join(ProviderAccount, ProviderAccount.id == OrderPush.account_id)
                .group_by(ProviderAccount.provider_key, OrderPush.state))
        for provider, state, count in rows:
            gauge.add_metric([provider, state], count)
        yield gauge

    def _queues(self):
        from ..queue import all_queues, get_redis

        depth = GaugeMetricFamily("hub_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
        age = GaugeMetricFamily("hub_queue_oldest_age_seconds", "Age of the oldest waiting job.", labels=["queue"])
        now = utcnow()
        # Every declared queue (an empty one reports 0), plus any other still in Redis (e.g. a
        # `default` queue left over from before the split by urgency).
        queues = {q.name: q for q in Queue.all(connection=get_redis())}
        queues.update({q.name: q for q in all_queues()})
        for queue in queues.values():
            depth.add_metric([queue.name], queue.count)
            oldest = queue.get_jobs(0, 1)
            enqueued = oldest[0].enqueued_at if oldest else None
            if enqueued is not None and enqueued.tzinfo is None:
                enqueued = enqueued.replace(tzinfo=now.tzinfo)
            age.add_metric([queue.name], max(0.0, (now - enqueued).total_seconds()) if enqueued else 0.0)
        yield depth
        yield age

    def _runs(self):
        histogram = HistogramMetricFamily("hub_sync_run_duration_seconds",
                                          "Synchronization runs finished in the last day, by provider and outcome.",
                                          labels=["provider", "state"])
        rows = (db.session.query(ProviderAccount.provider_key, SyncRun.state, SyncRun.started_at, SyncRun.finished_at)
                .join(ProviderAccount, ProviderAccount.id == SyncRun.account_id)
                .filter(SyncRun.finished_at >= utcnow() - RUN_WINDOW, SyncRun.started_at.isnot(None)))
        durations: dict[tuple[str, str], list[float]] = {}
        for provider, state, started, finished in rows:
            durations.setdefault((provider, state), []).append(max(0.0, (finished - started).total_seconds()))
        for labels, values in durations.items():
            buckets = [(str(bound), sum(v <= bound for v in values)) for bound in RUN_BUCKETS]
            histogram.add_metric(list(labels), buckets + [("+Inf", len(values))], sum_value=sum(values))
        yield histogram

    def _provider_http(self):
        answers = CounterMetricFamily("hub_provider_http_responses", "Provider HTTP answers by status "
                                      "('error' = no answer).", labels=["provider", "status"])
        for field, count in counters.read(counters.HTTP_RESPONSES).items():
            provider, status = field.split("|", 1)
            answers.add_metric([provider, status], count)
        yield answers
        latency = HistogramMetricFamily("hub_provider_http_duration_seconds", "Provider HTTP latency.",
                                        labels=["provider"])
        buckets: dict[str, dict[str, int]] = {}
        for field, count in counters.read(counters.HTTP_LATENCY).items():
            provider, bound = field.split("|", 1)
            buckets.setdefault(provider, {})[bound] = count
        sums = counters.read(counters.HTTP_LATENCY_SUM)
        for provider, counts in sorted(buckets.items()):
            ordered = [(str(b), counts.get(str(b), 0)) for b in counters.LATENCY_BUCKETS]
            latency.add_metric([provider], ordered + [("+Inf", counts.get("+Inf", 0))],
                               sum_value=sums.get(provider, 0) / 1000)
        yield latency

    def _webhooks(self):
        intake = CounterMetricFamily("hub_webhooks_received", "Webhook requests by provider and HTTP answer.",
                                     labels=["provider", "answer"])
        for field, count in counters.read(counters.WEBHOOKS).items():
            provider, answer = field.split("|", 1)
            intake.add_metric([provider, answer], count)
        yield intake
