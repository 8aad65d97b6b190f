"""ShipStation V1 products, stores, tags and webhook subscription routes."""
from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify

from .http import (Query, account, contains, in_range, invalid, not_found,
                   read_json_body, sort_and_page, sort_key)
from .orders import Checker
from .state import Account, ShipStationState, state

PRODUCT_STRINGS = (
    "sku", "name", "internalNotes", "fulfillmentSku", "warehouseLocation",
    "defaultCarrierCode", "defaultServiceCode", "defaultPackageCode", "defaultIntlCarrierCode",
    "defaultIntlServiceCode", "defaultIntlPackageCode", "defaultConfirmation",
    "defaultIntlConfirmation", "customsDescription", "customsTariffNo", "customsCountryCode",
    "upc", "thumbnailUrl",
)
PRODUCT_NUMBERS = ("price", "defaultCost", "length", "width", "height", "weightOz",
                   "customsValue")
PRODUCT_FIELD_ORDER = (
    "productId", "sku", "name", "price", "defaultCost", "length", "width", "height",
    "weightOz", "internalNotes", "fulfillmentSku", "createDate", "modifyDate", "active",
    "aliases", "productCategory", "productType", "warehouseLocation", "defaultCarrierCode",
    "defaultServiceCode", "defaultPackageCode", "defaultIntlCarrierCode",
    "defaultIntlServiceCode", "defaultIntlPackageCode", "defaultConfirmation",
    "defaultIntlConfirmation", "customsDescription", "customsValue", "customsTariffNo",
    "customsCountryCode", "noCustoms", "tags", "upc", "thumbnailUrl",
)
WEBHOOK_EVENTS = ("ORDER_NOTIFY", "ITEM_ORDER_NOTIFY", "SHIP_NOTIFY", "ITEM_SHIP_NOTIFY",
                  "FULFILLMENT_SHIPPED", "FULFILLMENT_REJECTED")


# --------------------------------------------------------------------------- products

def category_for(st: ShipStationState, acct: Account, raw: Any, path: str, c: Checker,
                 create_missing: bool) -> dict[str, Any] | None:
    """Resolve ``productCategory``; control routes may create categories by name, the
    public PUT only accepts ids that already exist (there is no category API in V1)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        c.error(path, "productCategory must be an object {categoryId, name} or null.")
        return None
    categories = acct.data.categories
    cat_id = c.integer(raw, "categoryId", f"{path}.categoryId")
    name = c.string(raw, "name", f"{path}.name")
    if cat_id is not None and cat_id in categories:
        return {"categoryId": cat_id, "name": categories[cat_id]}
    if not create_missing:
        if cat_id is None:
            c.error(f"{path}.categoryId", "The CategoryId field is required.")
        else:
            c.error(f"{path}.categoryId", f"Product category {cat_id} does not exist.")
        return None
    if not name:
        c.error(f"{path}.name", "A new category needs a name.")
        return None
    for existing_id, existing_name in categories.items():
        if cat_id is None and existing_name == name:
            return {"categoryId": existing_id, "name": name}
    cat_id = cat_id if cat_id is not None else st.next_id("category")
    categories[cat_id] = name
    return {"categoryId": cat_id, "name": name}


def build_product(st: ShipStationState, acct: Account, raw: Any, *, path: str,
                  existing: dict[str, Any] | None, create_categories: bool,
                  defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """A full product from `raw` (fields not given are cleared, or taken from
    `defaults`); raises ApiError(400) with a ModelState on bad input."""
    if not isinstance(raw, dict):
        raise invalid({path: ["A JSON object is required."]})
    source = {**(defaults or {}), **raw}
    c = Checker()
    product: dict[str, Any] = dict.fromkeys(PRODUCT_FIELD_ORDER)
    c.required(source, "sku", f"{path}.sku")
    for name in PRODUCT_STRINGS:
        product[name] = c.string(source, name, f"{path}.{name}")
    for name in PRODUCT_NUMBERS:
        product[name] = c.number(source, name, f"{path}.{name}")
    product["active"] = c.boolean(source, "active", f"{path}.active")
    product["noCustoms"] = c.boolean(source, "noCustoms", f"{path}.noCustoms")
    product["productCategory"] = category_for(st, acct, source.get("productCategory"),
                                              f"{path}.productCategory", c, create_categories)
    product["productType"] = c.obj(source, "productType", f"{path}.productType")
    for name in ("tags", "aliases"):
        value = source.get(name)
        if value is not None and not isinstance(value, list):
            c.error(f"{path}.{name}", f"{name} must be a JSON array.")
        product[name] = copy.deepcopy(value) if isinstance(value, list) else None
    if c.errors:
        raise invalid(c.errors)
    stamp = st.now()
    product["productId"] = existing["productId"] if existing else st.next_id("product")
    product["createDate"] = existing["createDate"] if existing else stamp
    product["modifyDate"] = stamp
    return product


PRODUCT_SORT = {"SKU": "sku", "ModifyDate": "modifyDate", "CreateDate": "createDate",
                "Name": "name"}


def list_products():
    q = Query()
    sku = q.text("sku")
    name = q.text("name")
    category_id = q.integer("productCategoryId")
    type_id = q.integer("productTypeId")
    tag_id = q.integer("tagId")
    upc = q.text("upc")
    created = (q.datetime("startDate"), q.datetime("endDate"))
    show_inactive = q.flag("showInactive")
    sort_by = q.choice("sortBy", PRODUCT_SORT)
    descending = q.choice("sortDir", ("ASC", "DESC")) == "DESC"
    page, size = q.paging()
    q.done()

    def keep(p: dict[str, Any]) -> bool:
        if not show_inactive and not p.get("active"):
            return False
        if sku and not (p.get("sku") or "").lower().startswith(sku.lower()):
            return False
        if name and not contains(p.get("name"), name):
            return False
        if category_id is not None and (p.get("productCategory") or {}).get(
                "categoryId") != category_id:
            return False
        if type_id is not None and (p.get("productType") or {}).get("productTypeId") != type_id:
            return False
        if tag_id is not None and not any(isinstance(t, dict) and t.get("tagId") == tag_id
                                          for t in p.get("tags") or []):
            return False
        if upc and p.get("upc") != upc:
            return False
        return in_range(p.get("createDate"), created)

    st = state()
    with st.lock:
        matches = [p for p in account().data.products.values() if keep(p)]
        body = sort_and_page(matches, sort_key(PRODUCT_SORT.get(sort_by or ""), "productId"),
                             descending, page, size, "products")
    return jsonify(body)


def get_product(product_id: int):
    st = state()
    with st.lock:
        product = account().data.products.get(product_id)
        if product is None:
            raise not_found(f"Product {product_id}")
        return jsonify(copy.deepcopy(product))


def update_product(product_id: int):
    """Full-resource update: whatever the body omits is cleared."""
    raw = read_json_body("product")
    st = state()
    with st.lock:
        acct = account()
        existing = acct.data.products.get(product_id)
        if existing is None:
            raise not_found(f"Product {product_id}")
        if isinstance(raw, dict) and raw.get("productId") not in (None, product_id):
            raise invalid({"product.productId": [
                f"productId {raw.get('productId')} does not match the URL ({product_id})."]})
        acct.data.products[product_id] = build_product(
            st, acct, raw, path="product", existing=existing, create_categories=False)
    return jsonify({"success": True, "message": "The requested product has been updated"})


# --------------------------------------------------------------------------- stores, tags

def list_stores():
    q = Query()
    show_inactive = q.flag("showInactive")
    marketplace = q.integer("marketplaceId")
    q.done()
    st = state()
    with st.lock:
        stores = [copy.deepcopy(s) for s in account().data.stores
                  if (show_inactive or s["active"])
                  and (marketplace is None or s["marketplaceId"] == marketplace)]
    return jsonify(stores)


def list_tags():
    st = state()
    with st.lock:
        return jsonify(copy.deepcopy(account().data.tags))


# --------------------------------------------------------------------------- webhooks

def subscribe_webhook():
    raw = read_json_body("model")
    if not isinstance(raw, dict):
        raise invalid({"model": ["A JSON object is required."]})
    c = Checker()
    target = c.string(raw, "target_url", "target_url") if c.required(
        raw, "target_url", "target_url") else None
    if target and urlsplit(target).scheme not in ("http", "https"):
        c.error("target_url", "target_url must be an absolute http(s) URL.")
    event = c.enum(raw, "event", "event", WEBHOOK_EVENTS) if c.required(
        raw, "event", "event") else None
    store_id = c.integer(raw, "store_id", "store_id")
    friendly = c.string(raw, "friendly_name", "friendly_name")
    st = state()
    with st.lock:
        acct = account()
        if store_id is not None and acct.store(store_id) is None:
            c.error("store_id", f"Store {store_id} does not exist in this account.")
        if c.errors:
            raise invalid(c.errors)
        hook_id = st.next_id("webhook")
        acct.data.webhooks[hook_id] = {
            "IsLabelAPIHook": False, "WebHookID": hook_id, "SellerID": acct.seller_id,
            "StoreID": store_id, "HookType": event, "MessageFormat": "Json", "Url": target,
            "Name": friendly, "BulkCopyBatchID": None, "BulkCopyRecordID": None,
            "Active": True, "WebhookLogs": [], "Seller": None, "Store": None,
        }
    return jsonify({"id": hook_id}), 201


def list_webhooks():
    st = state()
    with st.lock:
        hooks = [copy.deepcopy(h) for h in account().data.webhooks.values()]
    return jsonify({"webhooks": hooks})


def delete_webhook(webhook_id: int):
    st = state()
    with st.lock:
        if account().data.webhooks.pop(webhook_id, None) is None:
            raise not_found(f"Webhook {webhook_id}")
    return Response(b"", status=200)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/products", view_func=list_products, methods=["GET"])
    bp.add_url_rule("/products/<int:product_id>", view_func=get_product, methods=["GET"])
    bp.add_url_rule("/products/<int:product_id>", view_func=update_product, methods=["PUT"])
    bp.add_url_rule("/stores", view_func=list_stores, methods=["GET"])
    bp.add_url_rule("/accounts/listtags", view_func=list_tags, methods=["GET"])
    bp.add_url_rule("/webhooks/subscribe", view_func=subscribe_webhook, methods=["POST"])
    bp.add_url_rule("/webhooks", view_func=list_webhooks, methods=["GET"])
    bp.add_url_rule("/webhooks/<int:webhook_id>", view_func=delete_webhook,
                    methods=["DELETE"])

