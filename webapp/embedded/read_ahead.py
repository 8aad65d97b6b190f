"""A provider's record stream read ahead of its use, in a background thread.

A status sync alternates between waiting for the provider's next page and writing the
previous one to the database; read ahead, the next page is on the wire (and parsed) while
the current records are applied, so the run costs about max(fetch, apply) instead of their
sum (bench/status_sync.py). The reader keeps the app context (the provider's HTTP metrics
and its rate limiter need it) and never touches the database session.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator

from flask import current_app, has_app_context

JOIN_SECONDS = 60.0  # a reader stopped early finishes the request in hand (bounded by its timeout)


def read_ahead(records: Iterable, size: int = 100, depth: int = 10) -> Iterator:
    """The same records in the same order, read by a background thread at most ``size * depth``
    records ahead (handed over in lists of ``size``). An error of the reader is raised here,
    where its record would have been; closing this iterator (or an error of the consumer)
    stops the reader after the request in hand, and waits for it, so no request of the
    reader is still running (or recording an exchange) once this iterator is done."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()
    app = current_app._get_current_object() if has_app_context() else None

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        batch: list = []
        try:
            for record in records:
                batch.append(record)
                if len(batch) >= size:
                    if not put(batch):
                        return
                    batch = []
                if stop.is_set():
                    return
            if batch and not put(batch):
                return
            put(end)
        except BaseException as exc:  # handed to the consumer after the records read before it
            if not batch or put(batch):
                put(exc)

    def reader() -> None:
        if app is None:
            read()
        else:
            with app.app_context():
                read()

    thread = threading.Thread(target=reader, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        thread.join(JOIN_SECONDS)
