"""Order validation, normalisation and the orderKey upsert of ``createorder``.

Validation mimics ASP.NET Web API model binding: every problem is collected under a
JSON path such as ``order.shipTo.country`` or ``order.items[0].name`` and answered as one
400 ``{"Message": "The request is invalid.", "ModelState": {...}}``.
Scalar coercions follow what a JSON.NET binder accepts (numbers for strings, numeric
strings for numbers); objects and arrays in scalar slots are refused.
"""
from __future__ import annotations

import math
import uuid
from typing import Any

from .state import Account, ShipStationState, format_ts, parse_date, parse_datetime

ORDER_STATUSES = ("awaiting_payment", "awaiting_shipment", "pending_fulfillment", "shipped",
                  "on_hold", "cancelled")
OPEN_STATUSES = frozenset({"awaiting_payment", "awaiting_shipment", "on_hold"})
FILTER_STATUSES = ORDER_STATUSES + ("rejected_fulfillment",)
CONFIRMATIONS = ("none", "delivery", "signature", "adult_signature", "direct_signature")
WEIGHT_UNITS = ("pounds", "ounces", "grams")
DIMENSION_UNITS = ("inches", "centimeters")
MAX_ORDER_NUMBER = 50
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1   # .NET Int32, as the real binder uses
MAX_DECIMAL = 7.9e28                          # about .NET decimal's range
INVALID = "The request is invalid."

ADDRESS_FIELDS = ("name", "company", "street1", "street2", "street3", "city", "state",
                  "postalCode", "country", "phone")
ADVANCED_STRINGS = ("customField1", "customField2", "customField3", "source", "billToParty",
                    "billToAccount", "billToPostalCode", "billToCountryCode",
                    "billToMyOtherAccount")
ADVANCED_BOOLS = ("nonMachinable", "saturdayDelivery", "containsAlcohol")
ORDER_STRINGS = ("customerUsername", "customerEmail", "customerNotes", "internalNotes",
                 "giftMessage", "paymentMethod", "requestedShippingService", "carrierCode",
                 "serviceCode", "packageCode", "externallyFulfilledBy")
ORDER_NUMBERS = ("amountPaid", "taxAmount", "shippingAmount")


class OrderError(Exception):
    """A refused order: either field errors (ModelState) or one message."""

    def __init__(self, model_state: dict[str, list[str]] | None = None,
                 message: str | None = None):
        self.model_state = model_state or {}
        self.message = message or INVALID
        super().__init__(self.text())

    def body(self) -> dict[str, Any]:
        if self.model_state:
            return {"Message": self.message, "ModelState": self.model_state}
        return {"Message": self.message}

    def text(self) -> str:
        if not self.model_state:
            return self.message
        return "; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in self.model_state.items())


class Checker:
    """Collects errors per JSON path while converting values."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    @staticmethod
    def _label(path: str) -> str:
        name = path.rsplit(".", 1)[-1]
        return name[:1].upper() + name[1:]

    def required(self, obj: dict, name: str, path: str) -> bool:
        if obj.get(name) is None or (isinstance(obj.get(name), str) and not obj[name].strip()):
            self.error(path, f"The {self._label(path)} field is required.")
            return False
        return True

    def string(self, obj: dict, name: str, path: str, max_len: int | None = None) -> str | None:
        value = obj.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            self.error(path, f"Error converting value {_show(value)} to type 'String'.")
            return None
        text = value if isinstance(value, str) else _num_text(value)
        if max_len is not None and len(text) > max_len:
            self.error(path, f"The field {self._label(path)} must be a string with a maximum "
                             f"length of {max_len}.")
        return text

    def number(self, obj: dict, name: str, path: str) -> float | None:
        value = obj.get(name)
        if value is None:
            return None
        number: float | None = None
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        if number is None or not math.isfinite(number) or abs(number) > MAX_DECIMAL:
            self.error(path, f"Could not convert {_show(value)} to decimal.")
            return None
        return number

    def integer(self, obj: dict, name: str, path: str, minimum: int | None = None) -> int | None:
        value = obj.get(name)
        if value is None:
            return None
        result: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            result = value
        elif isinstance(value, float) and value.is_integer():
            result = int(value)
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            result = int(value)
        if result is None or not INT32_MIN <= result <= INT32_MAX:
            self.error(path, f"Could not convert {_show(value)} to integer.")
            return None
        if minimum is not None and result < minimum:
            self.error(path, f"The field {self._label(path)} must be {minimum} or greater.")
            return None
        return result

    def boolean(self, obj: dict, name: str, path: str) -> bool | None:
        value = obj.get(name)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.error(path, f"Could not convert {_show(value)} to boolean.")
        return None

    def datetime(self, obj: dict, name: str, path: str) -> str | None:
        value = obj.get(name)
        if value is None or value == "":
            return None
        try:
            return format_ts(parse_datetime(value))
        except ValueError:
            self.error(path, f"The value {_show(value)} is not a valid date-time "
                             "(use yyyy-mm-dd hh:mm:ss or ISO-8601).")
            return None

    def date(self, obj: dict, name: str, path: str) -> str | None:
        value = obj.get(name)
        if value is None or value == "":
            return None
        try:
            return parse_date(value)
        except ValueError:
            self.error(path, f"The value {_show(value)} is not a valid date (yyyy-mm-dd).")
            return None

    def enum(self, obj: dict, name: str, path: str, allowed: tuple[str, ...]) -> str | None:
        value = self.string(obj, name, path)
        if not value:
            return None
        if value not in allowed:
            self.error(path, f"'{value}' is not a valid value. Valid values: "
                             f"{', '.join(allowed)}.")
            return None
        return value

    def obj(self, obj: dict, name: str, path: str) -> dict | None:
        value = obj.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(path, f"Error converting value {_show(value)} to an object.")
            return None
        return value


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


def _num_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------- normalisers

def _address(c: Checker, raw: dict, path: str, need_country: bool) -> dict[str, Any]:
    out: dict[str, Any] = {name: c.string(raw, name, f"{path}.{name}") for name in ADDRESS_FIELDS}
    out["residential"] = c.boolean(raw, "residential", f"{path}.residential")
    country = out["country"]
    if need_country and c.required(raw, "country", f"{path}.country") and country is not None:
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            c.error(f"{path}.country", "Country must be a two-letter ISO 3166-1 alpha-2 code.")
    if country and len(country) == 2:
        out["country"] = country.upper()
    out["addressVerified"] = "Address not yet validated" if need_country else None
    return out


def _weight(c: Checker, raw: dict, name: str, path: str) -> dict[str, Any] | None:
    value = c.obj(raw, name, path)
    if value is None:
        return None
    units = c.enum(value, "units", f"{path}.units", WEIGHT_UNITS)
    return {"value": c.number(value, "value", f"{path}.value"), "units": units,
            "WeightUnits": None}


def _dimensions(c: Checker, raw: dict, path: str) -> dict[str, Any] | None:
    value = c.obj(raw, "dimensions", path)
    if value is None:
        return None
    out = {k: c.number(value, k, f"{path}.{k}") for k in ("length", "width", "height")}
    out["units"] = c.enum(value, "units", f"{path}.units", DIMENSION_UNITS)
    return out


def _options(c: Checker, raw: dict, path: str) -> list[dict[str, Any]]:
    value = raw.get("options")
    if value is None:
        return []
    if not isinstance(value, list):
        c.error(path, "Options must be a list of {name, value}.")
        return []
    out = []
    for i, opt in enumerate(value):
        if not isinstance(opt, dict):
            c.error(f"{path}[{i}]", "Each option must be an object.")
            continue
        out.append({"name": c.string(opt, "name", f"{path}[{i}].name"),
                    "value": c.string(opt, "value", f"{path}[{i}].value")})
    return out


def _item(c: Checker, raw: Any, path: str) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        c.error(path, f"Error converting value {_show(raw)} to type 'OrderItem'.")
        return None
    item: dict[str, Any] = {"orderItemId": None}
    item["lineItemKey"] = c.string(raw, "lineItemKey", f"{path}.lineItemKey")
    item["sku"] = c.string(raw, "sku", f"{path}.sku")
    c.required(raw, "name", f"{path}.name")
    item["name"] = c.string(raw, "name", f"{path}.name")
    item["imageUrl"] = c.string(raw, "imageUrl", f"{path}.imageUrl")
    item["weight"] = _weight(c, raw, "weight", f"{path}.weight")
    item["quantity"] = c.integer(raw, "quantity", f"{path}.quantity", minimum=0)
    for k in ("unitPrice", "taxAmount", "shippingAmount"):
        item[k] = c.number(raw, k, f"{path}.{k}")
    item["warehouseLocation"] = c.string(raw, "warehouseLocation", f"{path}.warehouseLocation")
    item["options"] = _options(c, raw, f"{path}.options")
    item["productId"] = c.integer(raw, "productId", f"{path}.productId")
    item["fulfillmentSku"] = c.string(raw, "fulfillmentSku", f"{path}.fulfillmentSku")
    item["adjustment"] = bool(c.boolean(raw, "adjustment", f"{path}.adjustment"))
    item["upc"] = c.string(raw, "upc", f"{path}.upc")
    item["createDate"] = item["modifyDate"] = None
    return item


def _advanced(c: Checker, raw: dict, path: str) -> dict[str, Any]:
    value = c.obj(raw, "advancedOptions", path) or {}
    out: dict[str, Any] = {
        "warehouseId": c.integer(value, "warehouseId", f"{path}.warehouseId"),
        **{k: bool(c.boolean(value, k, f"{path}.{k}")) for k in ADVANCED_BOOLS},
        "mergedOrSplit": False, "mergedIds": [], "parentId": None,
        "storeId": c.integer(value, "storeId", f"{path}.storeId"),
    }
    out.update({k: c.string(value, k, f"{path}.{k}") for k in ADVANCED_STRINGS})
    return out


def validate_order(raw: Any, param: str = "order") -> dict[str, Any]:
    """Return the normalised writable fields of an order or raise OrderError."""
    c = Checker()
    if raw is None:
        raise OrderError({param: [f"The {param} field is required."]})
    if not isinstance(raw, dict):
        raise OrderError({param: [f"Cannot deserialize {_show(raw)} into type 'Order' "
                                  "(a JSON object is required)."]})
    p = param
    out: dict[str, Any] = {}
    out["orderId"] = c.integer(raw, "orderId", f"{p}.orderId")
    c.required(raw, "orderNumber", f"{p}.orderNumber")
    out["orderNumber"] = c.string(raw, "orderNumber", f"{p}.orderNumber", MAX_ORDER_NUMBER)
    key = c.string(raw, "orderKey", f"{p}.orderKey")
    out["orderKey"] = key.strip() if key and key.strip() else None
    c.required(raw, "orderDate", f"{p}.orderDate")
    out["orderDate"] = c.datetime(raw, "orderDate", f"{p}.orderDate")
    out["paymentDate"] = c.datetime(raw, "paymentDate", f"{p}.paymentDate")
    out["shipByDate"] = c.datetime(raw, "shipByDate", f"{p}.shipByDate")
    c.required(raw, "orderStatus", f"{p}.orderStatus")
    out["orderStatus"] = c.enum(raw, "orderStatus", f"{p}.orderStatus", ORDER_STATUSES)
    for k in ORDER_STRINGS:
        out[k] = c.string(raw, k, f"{p}.{k}")
    for name in ("billTo", "shipTo"):
        if c.required(raw, name, f"{p}.{name}"):
            addr = c.obj(raw, name, f"{p}.{name}")
            out[name] = _address(c, addr, f"{p}.{name}", name == "shipTo") if addr else None
    items_raw = raw.get("items")
    out["items"] = []
    if items_raw is not None and not isinstance(items_raw, list):
        c.error(f"{p}.items", "Items must be a JSON array.")
    for i, item_raw in enumerate(items_raw if isinstance(items_raw, list) else []):
        item = _item(c, item_raw, f"{p}.items[{i}]")
        if item is not None:
            out["items"].append(item)
    for k in ORDER_NUMBERS:
        out[k] = c.number(raw, k, f"{p}.{k}")
    out["gift"] = bool(c.boolean(raw, "gift", f"{p}.gift"))
    out["confirmation"] = c.enum(raw, "confirmation", f"{p}.confirmation", CONFIRMATIONS)
    out["shipDate"] = c.date(raw, "shipDate", f"{p}.shipDate")
    out["holdUntilDate"] = c.date(raw, "holdUntilDate", f"{p}.holdUntilDate")
    out["weight"] = _weight(c, raw, "weight", f"{p}.weight")
    out["dimensions"] = _dimensions(c, raw, f"{p}.dimensions")
    out["insuranceOptions"] = c.obj(raw, "insuranceOptions", f"{p}.insuranceOptions")
    out["internationalOptions"] = c.obj(raw, "internationalOptions", f"{p}.internationalOptions")
    out["advancedOptions"] = _advanced(c, raw, f"{p}.advancedOptions")
    out["externallyFulfilled"] = bool(c.boolean(raw, "externallyFulfilled",
                                                f"{p}.externallyFulfilled"))
    tag_ids = raw.get("tagIds")
    out["tagIds"] = None
    if tag_ids is not None:
        if not isinstance(tag_ids, list):
            c.error(f"{p}.tagIds", "TagIds must be a JSON array of integers.")
        else:
            out["tagIds"] = [c.integer({"t": t}, "t", f"{p}.tagIds[{i}]")
                             for i, t in enumerate(tag_ids)]
    if c.errors:
        raise OrderError(c.errors)
    return out


# --------------------------------------------------------------------------- upsert

ORDER_FIELD_ORDER = (
    "orderId", "orderNumber", "orderKey", "orderDate", "createDate", "modifyDate",
    "paymentDate", "shipByDate", "orderStatus", "customerId", "customerUsername",
    "customerEmail", "billTo", "shipTo", "items", "orderTotal", "amountPaid", "taxAmount",
    "shippingAmount", "customerNotes", "internalNotes", "gift", "giftMessage", "paymentMethod",
    "requestedShippingService", "carrierCode", "serviceCode", "packageCode", "confirmation",
    "shipDate", "holdUntilDate", "weight", "dimensions", "insuranceOptions",
    "internationalOptions", "advancedOptions", "tagIds", "userId", "externallyFulfilled",
    "externallyFulfilledBy", "labelMessages",
)


def order_total(order: dict[str, Any]) -> float:
    lines = sum((item.get("quantity") or 0) * (item.get("unitPrice") or 0)
                for item in order["items"])
    return round(lines + (order.get("taxAmount") or 0) + (order.get("shippingAmount") or 0), 2)


def upsert_order(st: ShipStationState, account: Account, raw: Any,
                 param: str = "order") -> dict[str, Any]:
    """createorder semantics (caller holds the lock); returns the stored order."""
    clean = validate_order(raw, param)
    data = account.data
    existing: dict[str, Any] | None = None
    if clean["orderId"] is not None:
        existing = data.orders.get(clean["orderId"])
        if existing is None:
            raise OrderError({f"{param}.orderId": [
                f"No order with orderId {clean['orderId']} exists in this account."]})
        if clean["orderKey"] and clean["orderKey"] != existing["orderKey"]:
            raise OrderError({f"{param}.orderKey": [
                "orderKey can only be set when the order is created."]})
    elif clean["orderKey"] is not None and clean["orderKey"] in data.order_keys:
        existing = data.orders[data.order_keys[clean["orderKey"]]]

    if existing is not None and existing["orderStatus"] not in OPEN_STATUSES:
        raise OrderError(message=(
            f"Order {existing['orderNumber']} (orderId {existing['orderId']}) has status "
            f"'{existing['orderStatus']}' and can no longer be updated; only orders awaiting "
            "payment, awaiting shipment or on hold can be changed."))

    advanced = clean["advancedOptions"]
    if existing is not None:  # storeId is create-only
        advanced["storeId"] = existing["advancedOptions"]["storeId"]
    elif advanced["storeId"] is None:
        advanced["storeId"] = account.default_store_id()
    elif account.store(advanced["storeId"]) is None:
        raise OrderError({f"{param}.advancedOptions.storeId": [
            f"Store {advanced['storeId']} does not exist in this account."]})

    stamp = st.now()
    order: dict[str, Any] = dict.fromkeys(ORDER_FIELD_ORDER)
    order.update(clean)
    if existing is not None:
        order["orderId"], order["orderKey"] = existing["orderId"], existing["orderKey"]
        order["createDate"] = existing["createDate"]
    else:
        order["orderId"] = st.next_id("order")
        order["orderKey"] = clean["orderKey"] or str(uuid.uuid4())
        order["createDate"] = stamp
    order["modifyDate"] = stamp
    order["customerId"] = _customer_id(st, account, clean)
    old_items = {i["lineItemKey"]: i for i in (existing or {}).get("items", [])
                 if i.get("lineItemKey")}
    for item in order["items"]:
        previous = old_items.pop(item["lineItemKey"], None) if item["lineItemKey"] else None
        item["orderItemId"] = previous["orderItemId"] if previous else st.next_id("orderItem")
        item["createDate"] = previous["createDate"] if previous else stamp
        item["modifyDate"] = stamp
    order["orderTotal"] = order_total(order)
    data.orders[order["orderId"]] = order
    data.order_keys[order["orderKey"]] = order["orderId"]
    return order


def _customer_id(st: ShipStationState, account: Account, clean: dict[str, Any]) -> int | None:
    who = clean.get("customerUsername") or clean.get("customerEmail")
    if not who:
        return None
    if who not in account.data.customers:
        account.data.customers[who] = st.next_id("customer")
    return account.data.customers[who]
