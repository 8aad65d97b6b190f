"""ShipStation simulator control hooks for the catalogue: generate products (seeded,
for benchmarks and tests), edit one, rename a category (its products' ``modifyDate`` moves)."""
from __future__ import annotations

import copy
from typing import Any

from flask import jsonify

from ..base import ControlError, control_payload
from .catalog import build_product
from .http import ApiError
from .control import account_of, int_field
from .state import Account, ShipStationState, state

MAX_GENERATED_PRODUCTS = 200_000


def _generate(st: ShipStationState, acct: Account, p: dict[str, Any]) -> list[int]:
    count = int_field(p, "generate", 1, MAX_GENERATED_PRODUCTS)
    n_categories = int_field(p, "categories", 0, 10_000, default=10)
    inactive_every = int_field(p, "inactive_every", 0, 1_000_000, default=0)
    uncategorized_every = int_field(p, "uncategorized_every", 0, 1_000_000, default=0)
    prefix = str(p.get("sku_prefix") or "SIM-")
    stamp = st.now()
    categories = []
    for n in range(1, n_categories + 1):
        cat_id = st.next_id("category")
        acct.data.categories[cat_id] = f"Category {n:03d}"
        categories.append({"categoryId": cat_id, "name": f"Category {n:03d}"})
    ids = []
    for i in range(1, count + 1):
        product_id = st.next_id("product")
        category = None
        if categories and not (uncategorized_every and i % uncategorized_every == 0):
            category = dict(categories[(i - 1) % len(categories)])
        acct.data.products[product_id] = {
            "productId": product_id, "sku": f"{prefix}{i:06d}", "name": f"Sandbox product {i}",
            "price": round(5 + (i % 50) * 1.25, 2), "defaultCost": None, "length": None,
            "width": None, "height": None, "weightOz": float(i % 32 + 1),
            "internalNotes": None, "fulfillmentSku": None, "createDate": stamp,
            "modifyDate": stamp, "active": not (inactive_every and i % inactive_every == 0),
            "aliases": None, "productCategory": category, "productType": None,
            "warehouseLocation": None, "defaultCarrierCode": None, "defaultServiceCode": None,
            "defaultPackageCode": None, "defaultIntlCarrierCode": None,
            "defaultIntlServiceCode": None, "defaultIntlPackageCode": None,
            "defaultConfirmation": None, "defaultIntlConfirmation": None,
            "customsDescription": None, "customsValue": None, "customsTariffNo": None,
            "customsCountryCode": None, "noCustoms": None, "tags": [], "upc": None,
            "thumbnailUrl": None,
        }
        ids.append(product_id)
    return ids


def sim_products_create():
    """``{"api_key", "products": [...]}`` (categories may be given by name) or
    ``{"api_key", "generate": N, "categories": C, "inactive_every": k,
    "uncategorized_every": k, "sku_prefix": "SIM-"}`` for a large catalogue."""
    p = control_payload()
    st = state()
    acct = account_of(p)
    with st.lock:
        if p.get("generate") is not None:
            ids = _generate(st, acct, p)
        elif isinstance(p.get("products"), list):
            try:  # validate every product before storing any
                built = [build_product(st, acct, raw, path=f"products[{i}]", existing=None,
                                       create_categories=True, defaults={"active": True})
                         for i, raw in enumerate(p["products"])]
            except ApiError as exc:
                return jsonify({"error": "invalid product", "details": exc.body}), 400
            for product in built:
                acct.data.products[product["productId"]] = product
            ids = [product["productId"] for product in built]
        else:
            raise ControlError(400, "give products (a list) or generate (a count)")
        categories = [{"categoryId": k, "name": v} for k, v in acct.data.categories.items()]
    return jsonify({"created": len(ids), "productIds": ids, "categories": categories}), 201


def sim_product_patch(product_id: int):
    p = control_payload()
    st = state()
    acct = account_of(p)
    changes = {k: v for k, v in p.items() if k != "api_key"}
    with st.lock:
        existing = acct.data.products.get(product_id)
        if existing is None:
            raise ControlError(404, "product not found in this account")
        try:
            product = build_product(st, acct, {**existing, **changes}, path="product",
                                    existing=existing, create_categories=True)
        except ApiError as exc:
            return jsonify({"error": "invalid product", "details": exc.body}), 400
        acct.data.products[product_id] = product
        return jsonify(copy.deepcopy(product))


def sim_category_rename(category_id: int):
    """``{"api_key", "name"}`` — rename a category as a user would in ShipStation's UI; every
    product in it shows the new name."""
    p = control_payload()
    st, acct = state(), account_of(p)
    name = str(p.get("name") or "").strip()
    if not name:
        raise ControlError(400, "name is required")
    with st.lock:
        if category_id not in acct.data.categories:
            raise ControlError(404, f"no category {category_id}")
        acct.data.categories[category_id] = name
        for product in acct.data.products.values():
            category = product.get("productCategory")
            if isinstance(category, dict) and category.get("categoryId") == category_id:
                product["productCategory"] = {"categoryId": category_id, "name": name}
                product["modifyDate"] = st.now()
    return jsonify({"categoryId": category_id, "name": name})


RULES = [
    ("/_sim/products", sim_products_create, "POST"),
    ("/_sim/products/<int:product_id>", sim_product_patch, "PATCH"),
    ("/_sim/categories/<int:category_id>", sim_category_rename, "POST"),
]
