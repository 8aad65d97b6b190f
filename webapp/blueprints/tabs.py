"""Tab registry for detail pages (site settings, product, category, site user, shipping
method, order, order item). Later modules (Embedded Services) add tabs here instead of
editing the pages that show them.

A tab is (key, label, endpoint, visible) where ``visible(obj) -> bool`` decides per object
and ``endpoint`` is called with the page's URL values plus ``tab=key``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Tab:
    key: str
    label: str
    render: Callable[..., str]  # render(obj, **ctx) -> HTML of the tab body
    visible: Callable[[Any], bool] = field(default=lambda obj: True)
    order: int = 100


_TABS: dict[str, list[Tab]] = {}

PAGES = ("site_settings", "product", "category", "site_user", "shipping_method", "order", "order_item")


def register_tab(page: str, tab: Tab) -> None:
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}")
    tabs = [t for t in _TABS.setdefault(page, []) if t.key != tab.key]
    tabs.append(tab)
    tabs.sort(key=lambda t: t.order)
    _TABS[page] = tabs


def tabs_for(page: str, obj) -> list[Tab]:
    return [t for t in _TABS.get(page, []) if t.visible(obj)]


def find_tab(page: str, key: str, obj) -> Tab | None:
    return next((t for t in tabs_for(page, obj) if t.key == key), None)
