"""RQ job entry points: ids in, one use-case call, nothing else."""
from __future__ import annotations


def test_connection_job(account_id: int) -> None:
    from .accounts import run_connection_test

    run_connection_test(account_id)


def push_order_job(push_id: int) -> str:
    from .push import run_push

    return run_push(push_id)


def sync_run_job(run_id: int, slice_no: int = 0) -> str:
    from .run_slices import execute_run

    return execute_run(run_id, slice_no)


def process_webhook_job(event_id: int) -> str:
    from .webhooks import process

    return process(event_id)


def subscribe_webhook_job(account_id: int) -> None:
    from .accounts import run_webhook_subscription

    run_webhook_subscription(account_id)
