"""RQ job entry points: ids in, one use-case call, nothing else."""
from __future__ import annotations


def test_connection_job(account_id: int) -> None:
    from .accounts import run_connection_test

    run_connection_test(account_id)


def push_order_job(push_id: int) -> str:
    from .push import run_push

    return run_push(push_id)
