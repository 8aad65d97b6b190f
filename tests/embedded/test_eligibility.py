"""Eligibility: every rule, and the combinations that make an order (not) pushable."""
from __future__ import annotations

import pytest

from webapp.embedded.eligibility import check

READY = ("upload", "ready")
PENDING_EDOC = ("edoc", "pending")
PENDING_UPLOAD = ("upload", "pending")


@pytest.mark.parametrize("paid,items,ok,reason_part,pushed_lines", [
    (True, [{"approval": "approved"}], True, None, [1]),
    (False, [{"approval": "approved"}], False, "not marked as paid", []),
    (True, [{"approval": "approved"}, {"approval": "pending"}], False, "waiting for approval", []),
    (True, [{"approval": "approved"}, {"approval": "denied"}], True, None, [1]),
    (True, [{"approval": "denied"}, {"approval": "denied"}], False, "Every item was denied", []),
    (True, [{"approval": "approved", "files": [PENDING_EDOC]}], False, "pending eDocBuilder file", []),
    (True, [{"approval": "approved", "files": [PENDING_UPLOAD]}], False, "pending uploaded file", []),
    (True, [{"approval": "approved", "files": [READY, READY]}], True, None, [1]),
    (True, [{"approval": "approved"}, {"approval": "denied", "files": [PENDING_EDOC]}], True, None, [1]),
    (True, [{"approval": "approved"}, {"approval": "approved", "status": "Cancelled"}], True, None, [1]),
    (True, [{"approval": "pending", "status": "Cancelled"}, {"approval": "approved"}], True, None, [2]),
    (True, [{"approval": "approved", "status": "Cancelled"}], False, "Every item is cancelled", []),
    (False, [{"approval": "pending", "files": [PENDING_EDOC]}], False, "not marked as paid", []),
])
def test_rules(factory, paid, items, ok, reason_part, pushed_lines):
    site = factory.site()
    order = factory.order(site, paid=paid, items=items)
    result = check(order)
    assert result.ok is ok
    if reason_part:
        assert any(reason_part in r for r in result.reasons), result.reasons
    assert [i.line_number for i in result.items] == pushed_lines


def test_all_reasons_are_listed_together(factory):
    order = factory.order(factory.site(), paid=False,
                          items=[{"approval": "pending"}, {"approval": "approved", "files": [PENDING_EDOC]}])
    reasons = check(order).reasons
    assert len(reasons) == 3
    assert reasons[0].startswith("The order is not marked as paid")
