"""Validating one imported order record before anything is written: the shapes a record
must have, every field's rules and limits, and the per-site lookups (products, shipping
methods, users) its references resolve against. The importer (importer.py) writes what
passes here."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from ..extensions import db
from ..models import Product, ShippingMethod, Site, SiteUser
from ..models import orders as o

# ISO 3166-1 alpha-2, officially assigned codes (same 249 as tzdata's iso3166.tab).
COUNTRY_CODES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())
COUNTRY_HINTS = {"UK": "GB", "EL": "GR"}  # reserved codes people commonly send

ORDER_NUMBER = re.compile(r"[^/\\\x00-\x1f\x7f]+")
RECORD_KEYS = {"number", "site", "customer_email", "placed_at", "paid", "po_number", "notes",
               "billing_address", "totals", "items"}
ITEM_KEYS = {"sku", "name", "quantity", "unit_price", "approval", "status", "ship_to",
             "shipping_method", "requested_ship_date", "files"}
FILE_KEYS = {"kind", "state", "url"}
ADDRESS_FIELDS = ("name", "company", "street1", "street2", "city", "state", "postal_code", "country",
                  "phone", "email")
ADDRESS_REQUIRED = ("name", "street1", "city", "country")
TOTAL_COLUMNS = {"subtotal": "subtotal", "shipping": "shipping_total", "tax": "tax_total", "total": "total"}

# Column limits, checked up front so a long value is a clear rejection, not a database error.
MAX_QUANTITY = 2**31 - 1
MAX_UNIT_PRICE = Decimal("1e8")   # Numeric(12, 4)
MAX_TOTAL = Decimal("1e10")       # Numeric(12, 2)
CENT, TEN_THOUSANDTH = Decimal("0.01"), Decimal("0.0001")
_STATUS_BY_KEY = {s.casefold(): s for s in o.ITEM_STATUSES}


# --------------------------------------------------------------------------- site lookups

@dataclass
class SiteCatalog:
    """Plain values only: they must survive the per-record commits (which expire ORM objects)."""

    id: int
    slug: str
    currency: str
    tz: Any
    products: dict[str, int] | None = None            # SKU → product id
    methods: dict[str, tuple[int, str]] | None = None  # casefolded name → (id, canonical name)
    users: dict[str, int] | None = None                # casefolded email → site user id

    def load(self) -> "SiteCatalog":
        """Fetch the lookup maps once per site, so 10,000 orders cost three queries, not 10,000."""
        if self.products is None:
            rows = db.session.execute(select(Product.sku, Product.id).where(Product.site_id == self.id))
            self.products = {sku: pid for sku, pid in rows}
            rows = db.session.execute(
                select(ShippingMethod.name, ShippingMethod.id).where(ShippingMethod.site_id == self.id))
            self.methods = {name.casefold(): (mid, name) for name, mid in rows}
            rows = db.session.execute(select(SiteUser.email, SiteUser.id).where(SiteUser.site_id == self.id))
            self.users = {email.casefold(): uid for email, uid in rows}
        return self


def load_sites() -> dict[str, SiteCatalog]:
    sites = {}
    for site in db.session.execute(select(Site)).scalars():
        sites[site.slug] = SiteCatalog(site.id, site.slug, site.currency, _zone(site.time_zone))
    return sites


def _zone(name: str):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


# --------------------------------------------------------------------------- validated shapes

@dataclass
class File:
    kind: str
    state: str
    url: str


@dataclass
class Item:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    approval: str
    status: str
    ship_to: dict
    shipping_method: str
    requested_ship_date: date | None
    files: list[File]
    product_id: int | None = None
    shipping_method_id: int | None = None


@dataclass
class Record:
    number: str
    site: SiteCatalog | None
    customer_email: str
    placed_at: datetime | None
    paid: bool
    po_number: str
    notes: str
    billing_address: dict
    totals: dict[str, Decimal | None]
    items: list[Item]
    customer_id: int | None = None


class Checker:
    """Collects every problem of one record (rejection reasons) and its warnings."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)

    def unknown_keys(self, obj: dict, known: set[str], label: str) -> None:
        for key in sorted(set(obj) - known):
            self.warnings.append(f"{label} field {key!r} is not part of the format; ignored")

    # Field readers: each returns a clean value (or a harmless default after recording an error).

    def text(self, obj: dict, key: str, label: str, max_len: int = 1000, required: bool = False) -> str:
        value = obj.get(key)
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.error(f"{label} must be a string (got {_show(value)})")
            return ""
        value = value.strip()
        if required and not value:
            self.error(f"{label} is missing" if obj.get(key) is None else f"{label} is blank")
        elif len(value) > max_len:
            self.error(f"{label} is longer than {max_len} characters")
        return value

    def email(self, obj: dict, key: str, label: str, required: bool = False) -> str:
        value = self.text(obj, key, label, max_len=254, required=required)
        if value:
            try:
                validate_email(value, check_deliverability=False, test_environment=True)
            except EmailNotValidError as exc:
                self.error(f"{label} {value!r} is malformed: {exc}")
        return value

    def boolean(self, obj: dict, key: str, label: str) -> bool:
        value = obj.get(key)
        if not isinstance(value, bool):
            self.error(f"{label} must be true or false (got {_show(value)})")
            return False
        return value

    def choice(self, obj: dict, key: str, label: str, choices: dict[str, str], default: str) -> str:
        """Case-insensitive match against {casefolded: canonical}."""
        value = obj.get(key)
        if value is None:
            return default
        canonical = choices.get(value.strip().casefold()) if isinstance(value, str) else None
        if canonical is None:
            self.error(f"{label} {_show(value)} is not one of {', '.join(choices.values())}")
            return default
        return canonical

    def decimal(self, value: Any, label: str, limit: Decimal, quantum: Decimal) -> Decimal:
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and not math.isfinite(value))):
            self.error(f"{label} must be a number (got {_show(value)})")
            return Decimal(0)
        number = Decimal(str(value))
        if number < 0 or number >= limit:
            self.error(f"{label} must be between 0 and {limit:,.0f} (got {_show(value)})")
            return Decimal(0)
        # Rounded like the column will store it, so a re-import compares equal.
        return number.quantize(quantum, rounding=ROUND_HALF_UP)

    def iso_date(self, obj: dict, key: str, label: str) -> date | None:
        value = obj.get(key)
        if value is None or value == "":
            return None
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            self.error(f"{label} {_show(value)} is not a date (YYYY-MM-DD)")
            return None


# --------------------------------------------------------------------------- validation

def check_record(raw: dict, sites: dict[str, SiteCatalog]) -> tuple[Record, Checker]:
    check = Checker()
    check.unknown_keys(raw, RECORD_KEYS, "order")
    number = check.text(raw, "number", "number", max_len=50, required=True)
    if number and not ORDER_NUMBER.fullmatch(number):  # it becomes a URL segment: /orders/<number>
        check.error(f"number {_show(number)} may not contain '/', '\\' or control characters")
    site = _check_site(raw, sites, check)
    record = Record(
        number=number,
        site=site,
        customer_email=check.email(raw, "customer_email", "customer_email", required=True),
        placed_at=_check_placed_at(raw, site, check),
        paid=check.boolean(raw, "paid", "paid"),
        po_number=check.text(raw, "po_number", "po_number", max_len=100),
        notes=check.text(raw, "notes", "notes", max_len=20000),
        billing_address=_check_address(raw.get("billing_address"), "billing_address", check),
        totals=_check_totals(raw.get("totals"), check),
        items=_check_items(raw.get("items"), check),
    )
    if site is not None:
        resolve_references(record, site.load(), check)
    return record, check


def _check_site(raw: dict, sites: dict[str, SiteCatalog], check: Checker) -> SiteCatalog | None:
    slug = check.text(raw, "site", "site", max_len=80, required=True)
    if slug and slug not in sites:
        check.error(f"unknown site {slug!r}")
    return sites.get(slug)


def _check_placed_at(raw: dict, site: SiteCatalog | None, check: Checker) -> datetime | None:
    value = raw.get("placed_at")
    if value is None:
        check.error("placed_at is missing")
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:  # a storefront's local time: the site's own time zone
            moment = moment.replace(tzinfo=site.tz if site else timezone.utc)
        moment = moment.astimezone(timezone.utc)
    except ValueError:
        check.error(f"placed_at {_show(value)} is not an ISO-8601 date-time")
        return None
    except OverflowError:  # e.g. 9999-12-31T23:59:59-05:00 is past the last representable instant
        check.error(f"placed_at {_show(value)} is out of range")
        return None
    if not 1900 <= moment.year <= 9998:
        check.error(f"placed_at {_show(value)} is out of range (years 1900 to 9998)")
        return None
    return moment


def _check_address(raw: Any, label: str, check: Checker) -> dict:
    if raw is None:
        check.error(f"{label} is missing")
        return {}
    if not isinstance(raw, dict):
        check.error(f"{label} must be an object (got {type_name(raw)})")
        return {}
    check.unknown_keys(raw, set(ADDRESS_FIELDS), label)
    address = {key: check.text(raw, key, f"{label} {key}", max_len=300) for key in ADDRESS_FIELDS
               if key != "email"}
    address["email"] = check.email(raw, "email", f"{label} email")
    for key in ADDRESS_REQUIRED:
        if raw.get(key) is None or (isinstance(raw[key], str) and not raw[key].strip()):
            check.error(f"{label} is missing required field {key!r}")
    address["country"] = _check_country(address["country"], label, check)
    return {key: address[key] for key in ADDRESS_FIELDS}


def _check_country(value: str, label: str, check: Checker) -> str:
    code = value.upper()
    if code and code not in COUNTRY_CODES:
        hint = f"; did you mean {COUNTRY_HINTS[code]!r}?" if code in COUNTRY_HINTS else ""
        check.error(f"{label} country {value!r} is not an ISO 3166-1 alpha-2 code{hint}")
    return code


def _check_totals(raw: Any, check: Checker) -> dict[str, Decimal | None]:
    totals: dict[str, Decimal | None] = dict.fromkeys(TOTAL_COLUMNS.values())
    if raw is None:
        return totals
    if not isinstance(raw, dict):
        check.error(f"totals must be an object (got {type_name(raw)})")
        return totals
    check.unknown_keys(raw, set(TOTAL_COLUMNS), "totals")
    for key, column in TOTAL_COLUMNS.items():
        if raw.get(key) is not None:
            totals[column] = check.decimal(raw[key], f"totals {key}", MAX_TOTAL, CENT)
    return totals


def _check_items(raw: Any, check: Checker) -> list[Item]:
    if raw is None or raw == []:
        check.error("no items")
        return []
    if not isinstance(raw, list):
        check.error(f"items must be a list (got {type_name(raw)})")
        return []
    return [item for line, entry in enumerate(raw, start=1)
            if (item := _check_item(entry, f"item {line}", check)) is not None]


def _check_item(raw: Any, label: str, check: Checker) -> Item | None:
    if not isinstance(raw, dict):
        check.error(f"{label} must be an object (got {type_name(raw)})")
        return None
    check.unknown_keys(raw, ITEM_KEYS, label)
    return Item(
        sku=check.text(raw, "sku", f"{label} sku", max_len=100),
        name=check.text(raw, "name", f"{label} name", max_len=300, required=True),
        quantity=_check_quantity(raw.get("quantity"), label, check),
        unit_price=check.decimal(raw.get("unit_price"), f"{label} unit_price", MAX_UNIT_PRICE, TEN_THOUSANDTH),
        approval=check.choice(raw, "approval", f"{label} approval", {a: a for a in o.APPROVALS},
                              o.APPROVAL_PENDING),
        status=check.choice(raw, "status", f"{label} status", _STATUS_BY_KEY, o.ORDER_RECEIVED),
        ship_to=_check_address(raw.get("ship_to"), f"{label} ship_to", check),
        shipping_method=check.text(raw, "shipping_method", f"{label} shipping_method", max_len=200),
        requested_ship_date=check.iso_date(raw, "requested_ship_date", f"{label} requested_ship_date"),
        files=_check_files(raw.get("files"), label, check),
    )


def _check_quantity(value: Any, label: str, check: Checker) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        check.error(f"{label} quantity must be an integer ≥ 1 (got {_show(value)})")
        return 1
    return value


def _check_files(raw: Any, label: str, check: Checker) -> list[File]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        check.error(f"{label} files must be a list (got {type_name(raw)})")
        return []
    files = []
    for position, entry in enumerate(raw, start=1):
        file_label = f"{label} file {position}"
        if not isinstance(entry, dict):
            check.error(f"{file_label} must be an object (got {type_name(entry)})")
            continue
        check.unknown_keys(entry, FILE_KEYS, file_label)
        files.append(File(
            kind=check.choice(entry, "kind", f"{file_label} kind", {k: k for k in o.FILE_KINDS}, o.FILE_UPLOAD),
            state=check.choice(entry, "state", f"{file_label} state", {s: s for s in o.FILE_STATES},
                               o.FILE_PENDING),
            url=check.text(entry, "url", f"{file_label} url", max_len=2000),
        ))
    return files


def resolve_references(record: Record, site: SiteCatalog, check: Checker) -> None:
    """Link customer, products and shipping methods; unknown ones are kept by name with a warning."""
    record.customer_id = site.users.get(record.customer_email.casefold())
    for line, item in enumerate(record.items, start=1):
        item.product_id = site.products.get(item.sku)
        if item.product_id is None:
            sku = f"SKU {item.sku!r}" if item.sku else "has no SKU and"
            check.warnings.append(f"item {line} {sku} matches no product of site {site.slug!r}; "
                                  f"kept as {item.name!r}")
        if item.shipping_method:
            method = site.methods.get(item.shipping_method.casefold())
            if method is None:
                check.warnings.append(f"item {line} shipping method {item.shipping_method!r} matches no "
                                      f"shipping method of site {site.slug!r}; kept by name")
            else:
                item.shipping_method_id, item.shipping_method = method


def type_name(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."

