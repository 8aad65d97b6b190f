"""Catalogue and site-settings edits made from the admin.

Each function validates everything first (so a rejected edit changes nothing), applies the
change and commits. A rule broken by the input raises CatalogError naming the form field it
belongs to, so the page can show the message next to that field. After the commit the
``product_saved`` / ``category_saved`` signals fire (listeners — e.g. Embedded Services
product/category sync — only ever see committed state).
"""
from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from zoneinfo import available_timezones

from blinker import signal
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Category, Product, ShippingMethod, Site

log = logging.getLogger(__name__)

product_saved = signal("product-saved")    # sender: product id; created: bool
category_saved = signal("category-saved")  # sender: category id; created: bool

MAX_PRICE = Decimal("99999999.9999")  # Numeric(12, 4)
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
CURRENCY = re.compile(r"^[A-Z]{3}$")


class CatalogError(ValueError):
    """An edit that breaks a rule; `field` is the form field the message belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _text(field: str, value: str | None, max_len: int, label: str, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CatalogError(field, f"{label} is required.")
    if len(value) > max_len:
        raise CatalogError(field, f"{label} must be at most {max_len} characters.")
    return value


def _commit(field: str, message: str) -> None:
    """Commit; a unique constraint hit by a concurrent edit becomes the same field message."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("catalog edit lost a uniqueness race: %s", message)
        raise CatalogError(field, message) from None


# --- site settings ---------------------------------------------------------------------------

def update_site_settings(site: Site, *, name: str, domain: str, integration_id: str, mis_id: str,
                         currency: str, time_zone: str, active: bool) -> None:
    name = _text("name", name, 200, "Name", required=True)
    domain = _text("domain", domain, 253, "Domain").lower()
    if domain and not HOSTNAME.match(domain):
        raise CatalogError("domain", "Enter a host name such as shop.example.com (no http:// and no path).")
    integration_id = _text("integration_id", integration_id, 100, "Integration ID")
    mis_id = _text("mis_id", mis_id, 50, "MIS ID")
    currency = (currency or "").strip().upper()
    if not CURRENCY.match(currency):
        raise CatalogError("currency", "Use a three-letter ISO 4217 code such as USD or EUR.")
    if time_zone not in available_timezones():
        raise CatalogError("time_zone", "Choose a time zone from the list.")
    site.name, site.domain, site.integration_id, site.mis_id = name, domain, integration_id, mis_id
    site.currency, site.time_zone, site.active = currency, time_zone, bool(active)
    db.session.commit()
    log.info("site settings saved site=%s", site.id)


# --- products --------------------------------------------------------------------------------

def _product_values(site: Site, product: Product | None, *, sku, name, description, price, category_id,
                    active, integration_id) -> dict:
    sku = _text("sku", sku, 100, "SKU", required=True)
    clash = select(Product.id).where(Product.site_id == site.id, Product.sku == sku)
    if product is not None:
        clash = clash.where(Product.id != product.id)
    if db.session.scalar(clash.limit(1)) is not None:
        raise CatalogError("sku", f"SKU {sku} is already used by another product of this site.")
    try:
        price = Decimal(str(price)) if price is not None else None
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite():
        raise CatalogError("price", "Enter a price.")
    if price < 0:
        raise CatalogError("price", "Price cannot be negative.")
    if price > MAX_PRICE:
        raise CatalogError("price", f"Price must be at most {MAX_PRICE:,}.")
    if price != price.quantize(Decimal("0.0001")):
        raise CatalogError("price", "Use at most 4 decimals.")
    category = db.session.get(Category, category_id) if category_id else None
    if category is None or category.site_id != site.id:
        raise CatalogError("category_id", "Choose a category of this site.")
    return {
        "sku": sku, "name": _text("name", name, 300, "Name", required=True),
        "description": (description or "").strip(), "price": price, "category_id": category.id,
        "active": bool(active), "integration_id": _text("integration_id", integration_id, 100, "Integration ID"),
    }


def create_product(site: Site, **fields) -> Product:
    """Create a product; `active` is whatever the admin chose (the form starts it unchecked:
    products created in the admin are inactive until someone switches them on)."""
    values = _product_values(site, None, **fields)
    product = Product(site_id=site.id, source="admin", **values)
    db.session.add(product)
    _commit("sku", f"SKU {values['sku']} is already used by another product of this site.")
    log.info("product created site=%s product=%s sku=%s", site.id, product.id, product.sku)
    product_saved.send(product.id, created=True)
    return product


def update_product(product: Product, **fields) -> None:
    values = _product_values(product.site, product, **fields)
    for key, value in values.items():
        setattr(product, key, value)
    _commit("sku", f"SKU {values['sku']} is already used by another product of this site.")
    log.info("product updated site=%s product=%s", product.site_id, product.id)
    product_saved.send(product.id, created=False)


# --- categories ------------------------------------------------------------------------------

def ensure_root(site: Site) -> Category:
    """The site's Root category, created and committed if the site has none yet."""
    root = Category.query.filter_by(site_id=site.id, is_root=True).first()
    if root is None:
        root = Category.root_for(site)
        db.session.commit()
    return root


def _sibling_clash(site_id: int, parent_id: int | None, name: str, exclude_id: int | None) -> bool:
    stmt = select(Category.id).where(Category.site_id == site_id, Category.parent_id == parent_id,
                                     func.lower(Category.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(Category.id != exclude_id)
    return db.session.scalar(stmt.limit(1)) is not None


def _parent_in_site(site_id: int, parent_id: int | None) -> Category:
    parent = db.session.get(Category, parent_id) if parent_id else None
    if parent is None or parent.site_id != site_id:
        raise CatalogError("parent_id", "Choose a parent category of this site.")
    return parent


def create_category(site: Site, *, name: str, parent_id: int | None, description: str = "") -> Category:
    """New categories always hang somewhere under the site's Root."""
    name = _text("name", name, 200, "Name", required=True)
    parent = _parent_in_site(site.id, parent_id) if parent_id else Category.root_for(site)
    if _sibling_clash(site.id, parent.id, name, None):
        raise CatalogError("name", f"{parent.name} already has a category named {name}.")
    category = Category(site_id=site.id, parent_id=parent.id, name=name, description=(description or "").strip())
    db.session.add(category)
    _commit("name", f"{parent.name} already has a category named {name}.")
    log.info("category created site=%s category=%s", site.id, category.id)
    category_saved.send(category.id, created=True)
    return category


def update_category(category: Category, *, name: str, description: str, parent_id: int | None) -> None:
    description = (description or "").strip()
    if category.is_root:
        # Root anchors every provider's category sync: it keeps its name and stays on top.
        if (name or "").strip() != category.name:
            raise CatalogError("name", "The Root category cannot be renamed.")
        if parent_id:
            raise CatalogError("parent_id", "The Root category cannot be moved.")
        category.description = description
        db.session.commit()
        category_saved.send(category.id, created=False)
        return
    name = _text("name", name, 200, "Name", required=True)
    parent = _parent_in_site(category.site_id, parent_id)
    if parent.id in _self_and_descendants(category):
        raise CatalogError("parent_id", "A category cannot be moved under itself or one of its subcategories.")
    if _sibling_clash(category.site_id, parent.id, name, category.id):
        raise CatalogError("name", f"{parent.name} already has a category named {name}.")
    category.name, category.description, category.parent_id = name, description, parent.id
    _commit("name", f"{parent.name} already has a category named {name}.")
    log.info("category updated site=%s category=%s", category.site_id, category.id)
    category_saved.send(category.id, created=False)


def _self_and_descendants(category: Category) -> set[int]:
    """Ids in the subtree of `category`, from one query of the site's (id, parent) pairs."""
    children: dict[int, list[int]] = {}
    for cid, pid in db.session.execute(
            select(Category.id, Category.parent_id).where(Category.site_id == category.site_id)):
        children.setdefault(pid, []).append(cid)
    found, stack = set(), [category.id]
    while stack:
        cid = stack.pop()
        if cid not in found:
            found.add(cid)
            stack.extend(children.get(cid, []))
    return found


# --- shipping methods ------------------------------------------------------------------------

def update_shipping_method(method: ShippingMethod, *, carrier: str, is_integrated: bool, integration_id: str,
                           active: bool) -> None:
    carrier = _text("carrier", carrier, 100, "Carrier")
    integration_id = _text("integration_id", integration_id, 100, "Integration ID")
    method.carrier, method.is_integrated = carrier, bool(is_integrated)
    method.integration_id, method.active = integration_id, bool(active)
    db.session.commit()
    log.info("shipping method updated site=%s method=%s", method.site_id, method.id)
