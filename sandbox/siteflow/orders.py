"""Site Flow order validation, storage, status machine and triggers (providers-part1.md §2.3–2.6)."""
from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timezone
from typing import Any


from ..base import dispatch
from .state import STATUSES, Account, new_id, state

EVENTS = {"dataready": "Order Received", "printready": "Order Print Ready", "cancelled": "Order Cancelled",
          "error": "Order Errored", "shipped": "Shipment Shipped"}
REQUIRED_SHIP_TO = ("name", "address1", "town", "isoCountry")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


def _stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def validate(account: Account, body: Any) -> dict[str, str]:
    """Every problem of a submission, keyed by the field path (empty = valid)."""
    errors: dict[str, str] = {}
    if not isinstance(body, dict):
        return {"": "The order must be a JSON object."}
    destination = body.get("destination")
    name = destination.get("name") if isinstance(destination, dict) else None
    if not _text(name):
        errors["destination.name"] = "destination.name is required."
    elif name not in account.destinations:
        errors["destination.name"] = f"Destination '{name}' is not linked to this account."
    data = body.get("orderData")
    if not isinstance(data, dict):
        errors["orderData"] = "orderData is required."
        return errors
    if not _text(data.get("sourceOrderId")):
        errors["orderData.sourceOrderId"] = "sourceOrderId is required."
    shipments = data.get("shipments")
    indexes = set()
    if not isinstance(shipments, list) or not shipments:
        errors["orderData.shipments"] = "At least one shipment is required."
        shipments = []
    for n, shipment in enumerate(shipments):
        where = f"orderData.shipments[{n}]"
        if not isinstance(shipment, dict):
            errors[where] = "A shipment must be an object."
            continue
        index = shipment.get("shipmentIndex", n)
        if not isinstance(index, int) or isinstance(index, bool) or index in indexes:
            errors[f"{where}.shipmentIndex"] = "shipmentIndex must be a unique integer."
        indexes.add(index)
        ship_to = shipment.get("shipTo")
        if not isinstance(ship_to, dict):
            errors[f"{where}.shipTo"] = "shipTo is required."
        else:
            for key in REQUIRED_SHIP_TO:
                if not _text(ship_to.get(key)):
                    errors[f"{where}.shipTo.{key}"] = f"shipTo.{key} is required."
        carrier = shipment.get("carrier")
        if not isinstance(carrier, dict) or not (_text(carrier.get("alias")) or (
                _text(carrier.get("code")) and _text(carrier.get("service")))):
            errors[f"{where}.carrier"] = "carrier needs an alias, or a code and a service."
    items = data.get("items")
    if not isinstance(items, list) or not items:
        errors["orderData.items"] = "At least one item is required."
        items = []
    for n, item in enumerate(items):
        where = f"orderData.items[{n}]"
        if not isinstance(item, dict):
            errors[where] = "An item must be an object."
            continue
        if not _text(item.get("sourceItemId")):
            errors[f"{where}.sourceItemId"] = "sourceItemId is required."
        quantity = item.get("quantity", 1)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            errors[f"{where}.quantity"] = "quantity must be a positive integer."
        sku = item.get("sku")
        if not _text(sku):
            errors[f"{where}.sku"] = "sku is required."
        elif sku not in account.skus:
            errors[f"{where}.sku"] = f"SKU '{sku}' was not found."
        if item.get("shipmentIndex", 0) not in indexes and shipments:
            errors[f"{where}.shipmentIndex"] = "shipmentIndex does not match any shipment."
        components = item.get("components", [])
        if not isinstance(components, list):
            errors[f"{where}.components"] = "components must be a list."
            components = []
        for c, component in enumerate(components):
            if not isinstance(component, dict) or not _text(component.get("code")) or not _text(component.get("path")):
                errors[f"{where}.components[{c}]"] = "A component needs a code and a path."
    return errors


def store(account: Account, body: dict, order_id: str | None = None) -> dict:
    """Keep a valid submission as a Site Flow order in ``dataready``."""
    stamp = _stamp()
    data = copy.deepcopy(body["orderData"])
    data["status"] = "dataready"
    for item in data["items"]:
        item.setdefault("shipmentIndex", 0)
        item.update({"_id": new_id(), "status": "live"})
        for component in item.get("components", []):
            component.update({"_id": new_id(), "status": "notreceived" if component.get("fetch") else "received"})
    for n, shipment in enumerate(data["shipments"]):
        shipment.setdefault("shipmentIndex", n)
        shipment.update({"_id": new_id(), "status": "live"})
    order = {"_id": order_id or new_id(), "sourceAccountId": account.token, "destination": body["destination"],
             "orderData": data, "createdAt": stamp, "updatedAt": stamp}
    account.orders[order["_id"]] = order
    account.by_source[data["sourceOrderId"]] = order["_id"]
    return order


def advance(account: Account, order: dict, status: str, shipment: dict | None = None) -> list[dict]:
    """Move an order (test hook); each transition fires the account's triggers."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    data = order["orderData"]
    data["status"] = status
    order["updatedAt"] = _stamp()
    shipped = []
    if status == "shipped":
        for s in data["shipments"]:
            if shipment is None or s["shipmentIndex"] == shipment.get("shipmentIndex", s["shipmentIndex"]):
                s.update({"status": "shipped", "shippedAt": order["updatedAt"],
                          "trackingNumber": (shipment or {}).get("trackingNumber") or f"1Z{new_id()[:16].upper()}"})
                shipped.append(s)
    event = EVENTS.get(status)
    if event is None:
        return []
    if shipped:
        return [fire(account, event, order, s) for s in shipped]
    return [fire(account, event, order)]


def render(template: str, context: dict) -> str:
    """Handlebars-style ``{{a.b}}`` substitution, JSON-string escaped; a missing value renders empty."""
    def value(match: re.Match) -> str:
        current: Any = context
        for part in match.group(1).split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if current is None or isinstance(current, (dict, list)):
            return ""
        return json.dumps(str(current))[1:-1]
    return _PLACEHOLDER.sub(value, template)


def fire(account: Account, event: str, order: dict, shipment: dict | None = None, error: str = "") -> dict:
    """Deliver one event to every trigger listening to it (synchronously, like a test hook wants)."""
    context = {"event": event, "timestamp": _stamp(), "order": order, "shipment": shipment or {},
               "error": {"message": error}}
    outcomes = []
    for trigger in account.triggers:
        if trigger.events and event not in trigger.events:
            continue
        # Site Flow's "signature" is the static header the admin pasted with the trigger.
        outcomes.append(dispatch(trigger.url, render(trigger.template, context), headers=trigger.headers,
                                 method=trigger.method, timeout=state().webhook_timeout, log=account.deliveries,
                                 info={"event": event}))
    return {"event": event, "deliveries": outcomes}
