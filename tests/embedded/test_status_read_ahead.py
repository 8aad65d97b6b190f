"""A status sync reads the provider's pages ahead of applying them (embedded/read_ahead.py):
same records in the same order, the reader's errors raised where its record would have
been, nothing left running once the stream is closed."""
from __future__ import annotations

import threading
import time

import pytest
from flask import has_app_context

from webapp.embedded.read_ahead import read_ahead
from webapp.embedded.run_slices import execute_run
from webapp.embedded.runs import request_run
from webapp.extensions import db
from webapp.models import OrderPush, ProviderExchange, RunLogLine, SyncRun
from webapp.providers.errors import ProviderTransientError

from .test_status_polling import _pushed


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "read-ahead"]


def test_records_come_in_order_and_are_read_ahead_in_a_bounded_window():
    pulled = []

    def source():
        for n in range(1000):
            pulled.append(n)
            yield n

    stream = read_ahead(source(), size=10, depth=3)
    assert next(stream) == 0
    deadline = time.monotonic() + 5
    while len(pulled) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert 30 <= len(pulled) <= 10 * (3 + 2)  # ahead of the consumer, never the whole stream
    assert [0, *stream] == list(range(1000))
    assert not _readers()


def test_an_error_of_the_reader_is_raised_where_its_record_would_have_been():
    def source():
        yield from range(25)
        raise ProviderTransientError("page 2 failed")

    seen = []
    with pytest.raises(ProviderTransientError, match="page 2 failed"):
        for n in read_ahead(source(), size=10):
            seen.append(n)
    assert seen == list(range(25))


def test_closing_stops_the_reader_and_waits_for_it():
    pulled = []

    def endless():
        n = 0
        while True:
            pulled.append(n)
            yield n
            n += 1

    stream = read_ahead(endless(), size=5, depth=2)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert not _readers()  # joined: no request of the reader runs after close()
    count = len(pulled)
    time.sleep(0.1)
    assert len(pulled) == count <= 5 * (2 + 2)


def test_the_reader_runs_in_the_app_context(app_ctx):
    def source():
        yield has_app_context(), threading.current_thread().name

    assert list(read_ahead(source())) == [(True, "read-ahead")]


def test_a_status_sync_reads_ahead_and_a_provider_error_mid_stream_asks_each_order_on_its_own(
        factory, fake_account, fake_remote, monkeypatch):
    from tests.providers.fake_provider import FakeProvider

    site = factory.site()
    account = fake_account(site)
    pushes = [_pushed(factory, site, account)[1] for _ in range(3)]
    for remote_order in fake_remote.orders.values():
        remote_order["status"] = "printing"
    real_fetch = FakeProvider.fetch_status_updates
    threads = []

    def fails_after_the_first(self, refs):
        threads.append(threading.current_thread().name)
        for n, update in enumerate(real_fetch(self, refs)):
            if n == 1 and len(refs) > 1:  # the whole-site stream fails on its second order
                raise ProviderTransientError("the provider hiccuped")
            yield update

    monkeypatch.setattr(FakeProvider, "fetch_status_updates", fails_after_the_first)
    run = request_run(account, ["status"], "ops@example.test", site=site)
    db.session.commit()
    assert execute_run(run.id) == "finished"
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert (run.updated, run.failed, run.skipped) == (3, 0, 0)
    assert threads[0] == "read-ahead"  # the site's stream was read by the background reader
    assert {p.external_status for p in OrderPush.query.filter(OrderPush.id.in_([p.id for p in pushes]))} == {"printing"}
    messages = [line.message for line in RunLogLine.query.filter_by(run_id=run.id)]
    assert any("asking for each order on its own" in m for m in messages), messages
    # every request of the run is recorded once: 2 of the failed stream + 1 per order after it
    exchanges = ProviderExchange.query.filter_by(subject_type="run", subject_id=run.id).filter(
        ProviderExchange.url.contains("/orders/")).count()
    assert exchanges == 2 + 3


def test_fewer_collections_raises_the_young_threshold_for_the_stage_and_puts_it_back():
    import gc

    from webapp.embedded.status_sync import fewer_collections

    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        with fewer_collections(young=123_456):
            assert gc.get_threshold() == (max(before[0], 123_456), *before[1:])
            raise RuntimeError("the stage failed")
    assert gc.get_threshold() == before
