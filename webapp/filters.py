"""Jinja filters used across templates."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

# Provider values that read better as words an admin uses.
_ACRONYMS = {"ups": "UPS", "usps": "USPS", "dhl": "DHL", "fedex": "FedEx", "sku": "SKU", "id": "ID", "url": "URL",
             "pdf": "PDF", "api": "API"}


def humanize(value) -> str:
    """``True`` → "Yes", ``awaiting_shipment`` / ``awaitingShipment`` → "Awaiting shipment",
    ``ups`` → "UPS"; anything else as it is."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    text = str(value)
    if not re.fullmatch(r"[a-z]+(?:_[a-z]+)*|[a-z]+(?:[A-Z][a-z]+)+|[A-Z]+(?:_[A-Z]+)+", text):
        return text  # a sentence, a number, a code or an id: leave it alone
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text).replace("_", " ").split()
    words = [_ACRONYMS.get(w.lower(), w.lower()) for w in words]
    first = words[0]
    return " ".join([first if first.isupper() or first in _ACRONYMS.values() else first.capitalize(), *words[1:]])


def register(app) -> None:
    @app.template_filter("dt")
    def format_datetime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return "—"
        if isinstance(value, (datetime, date)):
            return value.strftime(fmt)
        return str(value)

    app.add_template_filter(humanize, "humanize")

    @app.template_filter("money")
    def format_money(value, currency: str = "USD") -> str:
        if value is None:
            return "—"
        return f"{Decimal(value):,.2f} {currency}"

    @app.template_filter("address_lines")
    def address_lines(address: dict | None) -> list[str]:
        if not address:
            return []
        city_line = " ".join(p for p in (address.get("city"), address.get("state"), address.get("postal_code")) if p)
        lines = [address.get("name"), address.get("company"), address.get("street1"), address.get("street2"),
                 city_line, address.get("country"), address.get("phone"), address.get("email")]
        return [line for line in lines if line]
