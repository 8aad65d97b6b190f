"""Pure mapping for the Tharstern REST API (no HTTP here): sales orders, imported products,
the per-account status map."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..base import RemoteCategory, RemoteProduct
from ..context import ItemContext, OrderContext
from ..errors import ProviderConfigError

# uuid5 namespace of our UniqueSubmitOrderID values: the same push key always gives the same GUID.
SUBMIT_NAMESPACE = uuid.UUID("6f1c2a4e-3b8d-5e7f-9a0b-1c2d3e4f5a6b")
HUB_STATUSES = ("Order Received", "In Production", "Ready to Ship", "Shipped", "Completed", "On Hold", "Cancelled")


def unique_submit_order_id(idempotency_key: str) -> str:
    return str(uuid.uuid5(SUBMIT_NAMESPACE, idempotency_key))


def iso_utc(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def product_code(item: ItemContext) -> str:
    """Product setting, else the product's Integration ID, else its SKU."""
    return str(item.product_settings.get("product_code") or item.product_integration_id or item.sku or "").strip()


def customer_code(ctx: OrderContext, settings: dict) -> str:
    """The user's External ID when it is set and Active, else the account's customer code."""
    user = ctx.customer.settings or {}
    if user.get("external_id") and user.get("active"):
        return str(user["external_id"]).strip()
    return str(settings.get("customer_code") or "").strip()


def required_date(ctx: OrderContext, settings: dict) -> str:
    dates = [i.requested_ship_date for i in ctx.items if i.requested_ship_date]
    if dates:
        return iso_utc(datetime.combine(min(dates), time(12, 0), tzinfo=timezone.utc))
    days = int(settings.get("lead_days") or 7)
    return iso_utc(ctx.placed_at + timedelta(days=days))


def sales_order(ctx: OrderContext, settings: dict, stock_item_ids: dict[str, int]) -> dict:
    """One entry of ``orders/submit``'s ``Orders[]``; Ref1 = our order number, Ref2 = PO."""
    code = customer_code(ctx, settings)
    if not code:
        raise ProviderConfigError("No Tharstern customer code: set the account's customer code or the user's "
                                  "External ID (+ Active).")
    if not ctx.items:
        raise ProviderConfigError("The order has no item to send.")
    return {
        "UniqueSubmitOrderID": unique_submit_order_id(ctx.idempotency_key),
        "InvoiceCustomer": {"Code": code},
        "OrderDate": iso_utc(ctx.placed_at),
        "RequiredDate": required_date(ctx, settings),
        "Ref1": ctx.external_number,
        "Ref2": ctx.po_number or "",
        "Items": [{"StockItemID": stock_item_ids[product_code(item)], "Quantity": item.quantity,
                   "Ref1": item.external_number, "Ref2": item.name[:100]} for item in ctx.items],
    }


def codes_to_import(text: str | None) -> list[str]:
    """Product codes from the setting: one per line or comma-separated; "*" = the whole list."""
    seen, codes = set(), []
    for code in re.split(r"[\s,;]+", text or ""):
        if code and code not in seen:
            seen.add(code)
            codes.append(code)
    return codes


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def marked_up(price, markup_percent) -> str | None:
    base = _decimal(price)
    if base is None:
        return None
    markup = _decimal(markup_percent) or Decimal("0")
    return str((base * (Decimal("100") + markup) / Decimal("100")).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def remote_product(item: dict, settings: dict) -> RemoteProduct | None:
    """A Tharstern product as an import candidate (None when it has no id or code).
    [PROPOSED] field names: ID, Code, Name, Description, Price, StockLevel."""
    if not isinstance(item, dict) or item.get("ID") in (None, "", 0) or not item.get("Code"):
        return None
    category_name = str(settings.get("import_category") or "").strip()
    stock = _decimal(item.get("StockLevel"))
    return RemoteProduct(
        external_id=str(item["ID"]), sku=str(item["Code"])[:100], name=str(item.get("Name") or item["Code"])[:300],
        price=marked_up(item.get("Price"), settings.get("markup_percent")), active=True,
        description=str(item.get("Description") or ""),
        category=RemoteCategory(external_id=f"import-category:{category_name.lower()}", name=category_name)
        if category_name else None,
        data={"tharstern_id": item["ID"], "code": item["Code"], "tharstern_price": str(item.get("Price")),
              "markup_percent": str(settings.get("markup_percent") or "0"),
              "stock_level": None if stock is None else format(stock.normalize(), "f"),
              "product_type_id": item.get("ProductTypes_ID")},
    )


def account_status_map(text: str | None) -> dict[str, str]:
    """``Tharstern status = hub status`` lines (the account's overrides); unknown hub names are refused."""
    mapping = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        remote, sep, ours = line.partition("=")
        match = next((s for s in HUB_STATUSES if s.lower() == ours.strip().lower()), None)
        if not sep or not remote.strip() or match is None:
            raise ProviderConfigError(f"Status map line {number} ({line.strip()!r}): write 'Tharstern status = "
                                      f"one of {', '.join(HUB_STATUSES)}'.")
        mapping[remote.strip().lower()] = match
    return mapping
