"""Order and item actions through the web: each changes state and is audited with the admin's
email; a refused one shows the use-case's message and changes nothing."""
from __future__ import annotations

from datetime import date

import pytest

from webapp.extensions import db
from webapp.models import ItemFile, Order, OrderEvent


@pytest.fixture
def setup(factory, login):
    site = factory.site(slug="north")
    admin = factory.admin(email="ann@example.test", sites=[site])
    order = factory.order(site, number="N-2001", items=[
        {"name": "Cards", "files": [("edoc", "pending")]},
        {"name": "Flyers"},
        {"name": "Posters", "status": "Cancelled"},
    ])
    login(admin)
    return order


def _state(number: str = "N-2001") -> Order:
    db.session.expire_all()
    return Order.query.filter_by(number=number).one()


def _events(order: Order) -> list[OrderEvent]:
    return OrderEvent.query.filter_by(order_id=order.id).order_by(OrderEvent.id).all()


def _post(client, url: str, **data):
    response = client.post(url, data=data, follow_redirects=True)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_mark_paid_then_paying_twice_is_refused(client, setup):
    html = _post(client, "/orders/N-2001/pay")
    order = _state()
    assert order.paid and order.paid_by == "ann@example.test" and order.paid_at is not None
    assert "Order N-2001 marked paid." in html
    assert "Mark paid" not in html.split("</nav>", 2)[-1]  # the button is gone once paid
    paid_at = order.paid_at
    html = _post(client, "/orders/N-2001/pay")
    assert "Order N-2001 is already marked paid." in html
    order = _state()
    assert order.paid_at == paid_at
    assert [(e.kind, e.actor) for e in _events(order)] == [("paid", "ann@example.test")]


def test_approve_and_deny(client, setup):
    html = _post(client, "/orders/N-2001/items/1/approve")
    assert "Item N-2001-1 approved." in html
    html = _post(client, "/orders/N-2001/items/2/deny")
    assert "Item N-2001-2 denied." in html
    order = _state()
    assert (order.items[0].approval, order.items[0].approval_by) == ("approved", "ann@example.test")
    assert (order.items[1].approval, order.items[1].approval_by) == ("denied", "ann@example.test")
    assert [(e.kind, e.actor, e.item_id) for e in _events(order)] == [
        ("approved", "ann@example.test", order.items[0].id), ("denied", "ann@example.test", order.items[1].id)]


def test_approving_a_cancelled_item_is_refused(client, setup):
    html = _post(client, "/orders/N-2001/items/3/approve")
    assert "Item N-2001-3 is cancelled and cannot be approved." in html
    order = _state()
    assert order.items[2].approval == "pending"
    assert _events(order) == []


def test_cancel_item(client, setup):
    html = _post(client, "/orders/N-2001/items/2/cancel")
    assert "Item N-2001-2 cancelled." in html
    order = _state()
    assert order.items[1].status == "Cancelled"
    assert [(e.kind, e.actor) for e in _events(order)] == [("cancelled", "ann@example.test")]
    html = _post(client, "/orders/N-2001/items/2/cancel")
    assert "Item N-2001-2 is already cancelled." in html
    assert len(_events(_state())) == 1


def test_set_status(client, setup):
    html = _post(client, "/orders/N-2001/items/1/status", status="In Production")
    assert "Item N-2001-1 is now In Production." in html
    order = _state()
    assert order.items[0].status == "In Production"
    event = _events(order)[-1]
    assert (event.kind, event.actor, event.detail) == ("status", "ann@example.test",
                                                       "Item N-2001-1: Order Received → In Production")
    html = _post(client, "/orders/N-2001/items/1/status", status="Lost in space")
    assert "Choose one of the listed statuses." in html
    html = _post(client, "/orders/N-2001/items/3/status", status="In Production")
    assert "Item N-2001-3 is cancelled and cannot be changed." in html
    order = _state()
    assert [i.status for i in order.items] == ["In Production", "Order Received", "Cancelled"]
    assert len(_events(order)) == 1


def test_mark_file_ready(client, setup):
    file_id = setup.items[0].files[0].id
    html = _post(client, f"/orders/N-2001/items/1/files/{file_id}/ready")
    assert f"File #{file_id} of item N-2001-1 marked ready." in html
    db.session.expire_all()
    file = db.session.get(ItemFile, file_id)
    assert (file.state, file.ready_by) == ("ready", "ann@example.test")
    assert [(e.kind, e.actor) for e in _events(_state())] == [("file_ready", "ann@example.test")]
    html = _post(client, f"/orders/N-2001/items/1/files/{file_id}/ready")
    assert "This file is already ready." in html
    # A file is addressed through its own item only.
    assert client.post(f"/orders/N-2001/items/2/files/{file_id}/ready").status_code == 404


def test_record_shipment(client, setup):
    html = _post(client, "/orders/N-2001/items/1/shipment", carrier="UPS", tracking_number=" 1Z999 ",
                 shipped_on="2026-11-20")
    assert "Shipment of item N-2001-1 recorded." in html
    item = _state().items[0]
    assert (item.carrier, item.tracking_number, item.shipped_on, item.status) == (
        "UPS", "1Z999", date(2026, 11, 20), "Shipped")
    assert [(e.kind, e.actor) for e in _events(_state())] == [("shipment", "ann@example.test")]


@pytest.mark.parametrize("data, message", [
    ({"carrier": "UPS", "tracking_number": ""}, "Tracking number is required."),
    ({"carrier": "", "tracking_number": "1Z"}, "Carrier is required."),
    ({"carrier": "UPS", "tracking_number": "1Z", "shipped_on": "20/11/2026"}, "Enter a date as YYYY-MM-DD."),
])
def test_invalid_shipment_shows_the_field_message_and_changes_nothing(client, setup, data, message):
    response = client.post("/orders/N-2001/items/1/shipment", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'<div class="invalid-feedback d-block">{message}</div>' in html
    assert "Item N-2001-1" in html  # the whole item page, with the typed values kept
    item = _state().items[0]
    assert (item.tracking_number, item.status) == ("", "Order Received")
    assert _events(_state()) == []


def test_shipment_of_a_cancelled_item_is_refused(client, setup):
    html = _post(client, "/orders/N-2001/items/3/shipment", carrier="UPS", tracking_number="1Z")
    assert "Item N-2001-3 is cancelled and cannot be shipped." in html
    assert _state().items[2].tracking_number == ""


def test_actions_return_to_the_page_they_came_from(client, setup):
    response = client.post("/orders/N-2001/items/1/approve", data={"next": "/orders/N-2001"})
    assert response.headers["Location"] == "/orders/N-2001"
    response = client.post("/orders/N-2001/items/2/approve", data={"next": "//evil.example/x"})
    assert response.headers["Location"] == "/orders/N-2001/items/2"  # never off-site
    response = client.post("/orders/N-2001/pay")
    assert response.headers["Location"] == "/orders/N-2001"


def test_actions_need_a_csrf_token(app, client, setup, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post("/orders/N-2001/pay").status_code == 400
    assert client.post("/orders/N-2001/items/1/approve").status_code == 400
    assert not _state().paid
    assert _state().items[0].approval == "pending"


def test_order_page_buttons_carry_the_csrf_token(app, client, setup, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    html = client.get("/orders/N-2001").get_data(as_text=True)
    forms = html.split("<form")[2:]  # [0] is before the first form, [1] is the logout form
    assert forms and all('name="csrf_token"' in f for f in forms)
    item_html = client.get("/orders/N-2001/items/1").get_data(as_text=True)
    assert all('name="csrf_token"' in f for f in item_html.split("<form")[1:])


def test_item_history_shows_who_did_what(client, setup):
    _post(client, "/orders/N-2001/items/1/approve")
    _post(client, "/orders/N-2001/items/1/status", status="In Production")
    html = client.get("/orders/N-2001/items/1").get_data(as_text=True)
    assert html.index("Order Received → In Production") < html.index("Item N-2001-1 approved</td>")
    assert "ann@example.test" in html
    history = client.get("/orders/N-2001/history").get_data(as_text=True)
    assert "Item N-2001-1 approved" in history

