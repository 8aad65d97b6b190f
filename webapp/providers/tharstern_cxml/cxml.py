"""cXML 1.2.063 for Tharstern's cXML route: pure document building, offline DTD validation and
reading the supplier's synchronous ``Response/Status`` (no HTTP here).

Every document is validated against the unmodified official DTD in ``dtd/`` before it may be
sent; an invalid document is our bug and is never sent.
"""
from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from lxml import etree

from ..context import Address, ItemContext, OrderContext
from ..errors import ProviderConfigError, ProviderResponseError
from ..xml import parse_xml

CXML_VERSION = "1.2.063"
DOCTYPE = f'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/{CXML_VERSION}/cXML.dtd">'
DTD_PATH = Path(__file__).parent / "dtd" / f"cXML-{CXML_VERSION}.dtd"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True)
class Party:
    identity: str
    domain: str


@dataclass(frozen=True)
class Envelope:
    """Header credentials and request options, from the account's credentials and settings."""

    sender: Party
    shared_secret: str
    from_: Party
    to: Party
    user_agent: str
    deployment_mode: str = "production"    # production | test
    lang: str = "en-US"


# ---------------------------------------------------------------------------- validation

@lru_cache(maxsize=1)
def _dtd() -> etree.DTD:
    with open(DTD_PATH, "rb") as handle:  # offline: the DTD is self-contained (no external entities)
        return etree.DTD(handle)


def validate(document: bytes) -> None:
    """Raise ProviderConfigError with the first DTD error: an invalid document is a bug, never sent."""
    parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
    try:
        root = etree.fromstring(document, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ProviderConfigError(f"Bug: the cXML document we built is not well-formed ({exc}); not sent.") from None
    dtd = _dtd()
    if not dtd.validate(root):
        first = dtd.error_log.filter_from_errors()[0]
        raise ProviderConfigError(f"Bug: the cXML document we built is invalid against cXML {CXML_VERSION} "
                                  f"(line {first.line}: {first.message}); it was not sent.")


# ---------------------------------------------------------------------------- envelope values

def timestamp(value: datetime) -> str:
    """ISO-8601 with an explicit offset, as the DTD's datetime.tz requires."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat(timespec="seconds")


def new_payload_id(now: datetime, host: str | None = None) -> str:
    """``<datetime>.<process id>.<random>@<hostname>`` (the cXML convention), unique per document."""
    host = host or socket.gethostname() or "localhost"
    return f"{now.astimezone(timezone.utc):%Y%m%d%H%M%S}.{os.getpid()}.{secrets.randbelow(10**10):010d}@{host}"


def money_text(value) -> str:
    """A plain decimal (no exponent); at least two places, more when the price has them."""
    amount = Decimal(str(value if value is not None else 0))
    text = format(amount.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


# ---------------------------------------------------------------------------- building

def _el(parent, tag: str, text=None, **attrs):
    node = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v not in (None, "")})
    if text is not None:
        node.text = str(text)
    return node


def _lang(node, lang: str):
    node.set(XML_LANG, lang)
    return node


def _credential(parent, party: Party, shared_secret: str | None = None):
    credential = _el(parent, "Credential", domain=party.domain)
    _el(credential, "Identity", party.identity)
    if shared_secret is not None:
        _el(credential, "SharedSecret", shared_secret)
    return credential


def _money(parent, tag: str, amount, currency: str):
    wrapper = _el(parent, tag)
    _el(wrapper, "Money", money_text(amount), currency=currency)
    return wrapper


def check_address(address: Address, what: str) -> None:
    missing = [label for label, value in (("street", address.street1), ("city", address.city),
                                          ("country", address.country)) if not value.strip()]
    if missing:
        raise ProviderConfigError(f"{what} has no {', '.join(missing)}; a cXML address needs street, city and country.")


def _address(parent, tag: str, address: Address, lang: str, address_id: str | None = None):
    wrapper = _el(parent, tag)
    country = address.country.strip().upper()
    node = _el(wrapper, "Address", isoCountryCode=country, addressID=address_id)
    _lang(_el(node, "Name", address.company or address.name or "Customer"), lang)
    postal = _el(node, "PostalAddress")
    if address.name and address.company:
        _el(postal, "DeliverTo", address.name)
    for street in (address.street1, address.street2):
        if street.strip():
            _el(postal, "Street", street)
    _el(postal, "City", address.city)
    if address.state.strip():
        _el(postal, "State", address.state)
    if address.postal_code.strip():
        _el(postal, "PostalCode", address.postal_code)
    _el(postal, "Country", country, isoCountryCode=country)
    if address.email.strip():
        _el(node, "Email", address.email, name="default")
    return wrapper


def _header(root, envelope: Envelope) -> None:
    header = _el(root, "Header")
    _credential(_el(header, "From"), envelope.from_)
    _credential(_el(header, "To"), envelope.to)
    sender = _el(header, "Sender")
    _credential(sender, envelope.sender, envelope.shared_secret)
    _el(sender, "UserAgent", envelope.user_agent)


def _root(envelope: Envelope, payload_id: str, now: datetime):
    root = etree.Element("cXML", {"payloadID": payload_id, "timestamp": timestamp(now), "version": CXML_VERSION})
    _lang(root, envelope.lang)
    _header(root, envelope)
    return root


def _serialize(root) -> bytes:
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8", doctype=DOCTYPE)


def profile_request(envelope: Envelope, payload_id: str, now: datetime) -> bytes:
    """A ProfileRequest: the cheap authenticated read used to test a connection."""
    root = _root(envelope, payload_id, now)
    request = _el(root, "Request", deploymentMode=envelope.deployment_mode)
    _el(request, "ProfileRequest")
    return _serialize(root)


@dataclass(frozen=True)
class ItemOptions:
    unit_of_measure: str = "EA"
    classification_domain: str = "UNSPSC"
    classification_code: str = "82121500"   # UNSPSC "Printing"


def product_code(item: ItemContext) -> str:
    """The Tharstern product code: the product setting, else the product's Integration ID."""
    return str(item.product_settings.get("product_code") or item.product_integration_id or "").strip()


def order_total(ctx: OrderContext) -> Decimal:
    if ctx.total is not None:
        return Decimal(ctx.total)
    lines = sum((Decimal(i.unit_price) * i.quantity for i in ctx.items), Decimal("0"))
    return lines + Decimal(ctx.shipping_total or 0) + Decimal(ctx.tax_total or 0)


def _item(parent, item: ItemContext, ctx: OrderContext, options: ItemOptions, lang: str, header_ship_to: Address,
          code: str):
    out = _el(parent, "ItemOut", quantity=item.quantity, lineNumber=item.line_number,
              requestedDeliveryDate=item.requested_ship_date.isoformat()
              if isinstance(item.requested_ship_date, date) else None)
    item_id = _el(out, "ItemID")
    _el(item_id, "SupplierPartID", code)
    _el(item_id, "SupplierPartAuxiliaryID", item.external_number)   # our stable item reference
    detail = _el(out, "ItemDetail")
    _money(detail, "UnitPrice", item.unit_price, ctx.currency)
    _lang(_el(detail, "Description", item.name or item.product_name or item.sku), lang)
    _el(detail, "UnitOfMeasure", options.unit_of_measure)
    _el(detail, "Classification", options.classification_code, domain=options.classification_domain)
    for url in item.file_urls:
        _el(detail, "Extrinsic", url, name="ArtworkURL")
    if item.ship_to.key() != header_ship_to.key():
        check_address(item.ship_to, f"Item {item.number}: the ship-to address")
        _address(out, "ShipTo", item.ship_to, lang)
    return out


def order_request(ctx: OrderContext, envelope: Envelope, *, payload_id: str, now: datetime, customer_code: str,
                  options: ItemOptions = ItemOptions(), order_type: str = "new",
                  previous_payload_id: str | None = None, product_code=product_code) -> bytes:
    """The OrderRequest for ``ctx``. ``orderID`` is our stable reference (``ctx.external_number``);
    an update names the payloadID of the document it replaces in DocumentReference."""
    if not ctx.items:
        raise ProviderConfigError("The order has no item to send.")
    if order_type != "new" and not previous_payload_id:
        raise ProviderConfigError("Bug: an update needs the payloadID of the order it replaces.")
    lang = envelope.lang
    ship_to = ctx.items[0].ship_to
    check_address(ship_to, "The ship-to address")
    check_address(ctx.billing, "The billing address")
    root = _root(envelope, payload_id, now)
    request = _el(root, "Request", deploymentMode=envelope.deployment_mode)
    order = _el(request, "OrderRequest")
    header = _el(order, "OrderRequestHeader", orderID=ctx.external_number, orderDate=timestamp(ctx.placed_at),
                 type=order_type)
    _money(header, "Total", order_total(ctx), ctx.currency)
    _address(header, "ShipTo", ship_to, lang)
    _address(header, "BillTo", ctx.billing, lang, address_id=customer_code)
    if ctx.shipping_total is not None:
        shipping = _money(header, "Shipping", ctx.shipping_total, ctx.currency)
        methods = sorted({i.shipping_method.name for i in ctx.items if i.shipping_method}) or ["Shipping"]
        _lang(_el(shipping, "Description", ", ".join(methods)), lang)
    if ctx.tax_total is not None:
        tax = _money(header, "Tax", ctx.tax_total, ctx.currency)
        _lang(_el(tax, "Description", "Tax"), lang)
    if ctx.notes:
        _lang(_el(header, "Comments", ctx.notes), lang)
    if previous_payload_id and order_type != "new":
        _el(header, "DocumentReference", payloadID=previous_payload_id)
    _el(header, "Extrinsic", customer_code, name="CustomerCode")
    if ctx.po_number:
        _el(header, "Extrinsic", ctx.po_number, name="PONumber")
    _el(header, "Extrinsic", ctx.customer.email, name="CustomerEmail")
    _el(header, "Extrinsic", ctx.number, name="StorefrontOrderNumber")
    for item in ctx.items:
        _item(order, item, ctx, options, lang, ship_to, product_code(item))
    return _serialize(root)


# ---------------------------------------------------------------------------- replies

@dataclass(frozen=True)
class CxmlStatus:
    code: int
    text: str
    detail: str = ""

    def words(self) -> str:
        return f"{self.code} {self.text}" + (f": {self.detail}" if self.detail else "")


def parse_status(body: bytes, what: str = "Tharstern (cXML)") -> CxmlStatus:
    """The ``Response/Status`` of a synchronous reply; anything else is an unreadable answer."""
    root = parse_xml(body, what=what)
    if etree.QName(root).localname != "cXML":
        raise ProviderResponseError(f"{what} answered with XML that is not a cXML document.")
    status = root.find("Response/Status")
    if status is None:
        raise ProviderResponseError(f"{what} answered without a cXML Response/Status.")
    code = (status.get("code") or "").strip()
    if not code.isdigit():
        raise ProviderResponseError(f"{what} answered with a cXML Status without a numeric code ({code[:20]!r}).")
    detail = " ".join("".join(status.itertext()).split())[:1000]
    return CxmlStatus(int(code), (status.get("text") or "").strip()[:300], detail)
