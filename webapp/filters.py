"""Jinja filters used across templates."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal


def register(app) -> None:
    @app.template_filter("dt")
    def format_datetime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return "—"
        if isinstance(value, (datetime, date)):
            return value.strftime(fmt)
        return str(value)

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
