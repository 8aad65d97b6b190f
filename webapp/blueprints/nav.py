"""Top navigation. Preferences holds Embedded Services (shown only once a provider is enabled)."""
from __future__ import annotations

from flask import request, url_for


def nav_items() -> list[dict]:
    items = [
        {"label": "Orders", "url": url_for("orders.index"), "prefix": "/orders"},
        {"label": "Sites", "url": url_for("sites.index"), "prefix": "/sites"},
        {"label": "Preferences", "url": url_for("preferences.index"), "prefix": "/preferences"},
    ]
    for item in items:
        item["active"] = request.path.startswith(item["prefix"])
    return items
