"""Pure mapping from an OrderContext to tFLOW order / job bodies (no HTTP here).

tFLOW's public clients send form-encoded bodies with PHP-style nested keys
(``props[quantity]=1``); ``form_fields`` flattens a nested body that way. A JSON body is
the same dict, unflattened (JSON acceptance is unverified, hence a setting).
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..context import Address, ItemContext, OrderContext
from ..errors import ProviderConfigError

DEFAULT_LEAD_DAYS = 5


def form_fields(body: dict, prefix: str = "") -> list[tuple[str, str]]:
    """{"props": {"quantity": 2}, "tflows": [{"id": "8:1"}]} →
    [("props[quantity]", "2"), ("tflows[0][id]", "8:1")]; None values are left out."""
    out: list[tuple[str, str]] = []
    for key, value in body.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, dict):
            out += form_fields(value, name)
        elif isinstance(value, (list, tuple)):
            out += form_fields({str(i): v for i, v in enumerate(value)}, name)
        elif isinstance(value, bool):
            out.append((name, "1" if value else "0"))
        else:
            out.append((name, str(value)))
    return out


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def ship_date(ctx: OrderContext, item: ItemContext, lead_days: int | None) -> str:
    """ISO-8601 with the site's UTC offset, end of the due day (``2026-12-01T23:59:59-06:00``):
    the item's requested ship date, else the order date plus the account's lead days."""
    tz = zone(ctx.site_time_zone)
    due: date | None = item.requested_ship_date
    if due is None:
        start = ctx.paid_at or ctx.placed_at or datetime.now(timezone.utc)
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        due = start.astimezone(tz).date() + timedelta(days=DEFAULT_LEAD_DAYS if lead_days is None else lead_days)
    return datetime.combine(due, time(23, 59, 59), tzinfo=tz).isoformat()


def one_line(a: Address) -> str:
    parts = [a.name, a.company, a.street1, a.street2, a.city, a.state, a.postal_code, (a.country or "").upper()]
    return ", ".join(p for p in parts if p)


def product_fields(item: ItemContext) -> dict:
    """The tFLOW product and workflow from the product's Embedded Services tab (required)."""
    product = str(item.product_settings.get("tflow_product") or "").strip()
    workflow = str(item.product_settings.get("tflow_workflow") or "").strip()
    if not product or not workflow:
        raise ProviderConfigError(f"Item {item.number}: tFLOW product and workflow are required on the "
                                  f"product's Embedded Services tab.")
    # A number is a tFLOW product id; anything else is sent as the product name.
    key = "product_id" if product.isdigit() else "product_name"
    return {key: product, "workflow": workflow}


def order_body(ctx: OrderContext, settings: dict, site_settings: dict) -> dict:
    client_id = site_settings.get("client_id") or settings.get("client_id")
    return {"name": ctx.external_number,
            "description": f"Storefront order {ctx.number} ({ctx.site_name})"
                           + (f", PO {ctx.po_number}" if ctx.po_number else ""),
            "client_id": client_id or None}


def job_body(ctx: OrderContext, item: ItemContext, order_id: str, settings: dict, site_settings: dict) -> dict:
    product = product_fields(item)
    workflow_field = (settings.get("workflow_field") or "workflow_id").strip()
    client_id = site_settings.get("client_id") or settings.get("client_id")
    props = {
        "quantity": item.quantity,
        "mis_job_number": item.external_number,
        # Our keys travel with the job so a webhook's job can be traced back to our push.
        "hub_order_key": ctx.idempotency_key,
        "hub_item": item.external_number,
        "shipping_address": one_line(item.ship_to) or None,
        "email_contact": ctx.customer.email or None,
        "phone_contact": ctx.customer.phone or item.ship_to.phone or None,
    }
    if (settings.get("artwork_mode") or "url") == "url" and item.file_urls:
        props["artwork_url"] = item.file_urls[0]
    body = {
        "name": item.external_number,
        "description": item.name,
        "notes": ctx.notes or None,
        "order_id": order_id,
        "client_id": client_id or None,
        **{k: v for k, v in product.items() if k != "workflow"},
        workflow_field: product["workflow"],
        "ship_date": ship_date(ctx, item, settings.get("lead_days")),
        "priority": settings.get("priority"),
        "props": props,
    }
    return body


def dedupe_key(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
