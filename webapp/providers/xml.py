"""The one way a provider parses XML (SOAP, cXML, XML APIs): safe by construction.

* no network and no file access from the parser: entities are never resolved, DTDs never
  loaded (``<!DOCTYPE cXML SYSTEM "http://...">`` is accepted but not fetched);
* a document that declares entities is refused outright (XXE, billion laughs, quadratic
  blow-up), whatever its encoding: a fast byte check first, then the parsed DTD;
* libxml2's limits stay on (``huge_tree=False``) and the body size is capped;
* the declared encoding is honoured (``utf-16``, ``ISO-8859-1``…); a declaration that does
  not match the bytes — a string that was already decoded, or "utf-16" declared on 8-bit
  bytes (.NET services returning an XML string inside SOAP) — is dropped, not fatal;
* every failure is a ``ProviderResponseError`` with a message an admin can read on the order
  tab — never an lxml exception, never a crash.
"""
from __future__ import annotations

import re

from lxml import etree

from .errors import ProviderResponseError

MAX_XML_BYTES = 20 * 1024 * 1024
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.I)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*?\?>")
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def _without_false_declaration(data) -> bytes:
    """Bytes lxml can decode: a str is encoded as UTF-8 without its declaration (it is text
    already); bytes declaring a 16/32-bit encoding without a BOM or any NUL are really 8-bit."""
    if isinstance(data, str):
        return _DECLARATION.sub("", data, count=1).encode("utf-8")
    declared = _DECLARED_ENCODING.match(data)
    if declared and declared.group(1).lower().replace(b"-", b"").startswith((b"utf16", b"utf32", b"ucs")) \
            and b"\x00" not in data[:64]:
        text = data.decode("utf-8", "replace")
        return _DECLARATION.sub("", text, count=1).encode("utf-8")
    return data


def _parser() -> etree.XMLParser:
    # (collect_ids=False is left out on purpose: with libxml2 2.14 it makes the parser try to
    # load an external DTD, which no_network then turns into a parse error.)
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           dtd_validation=False, attribute_defaults=False)


def parse_xml(data: bytes, *, what: str = "The provider") -> etree._Element:
    """Parse a provider's XML answer; raise ProviderResponseError with the reason."""
    if data is None or not data.strip():
        raise ProviderResponseError(f"{what} answered with an empty body instead of XML.")
    if len(data) > MAX_XML_BYTES:
        raise ProviderResponseError(f"{what} answered with an XML document larger than "
                                    f"{MAX_XML_BYTES // (1024 * 1024)} MB; it was not read.")
    data = _without_false_declaration(data)
    if _declares_entities(data):
        raise ProviderResponseError(_refused(what))
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise ProviderResponseError(
            f"{what} answered with malformed or truncated XML ({_short(exc)}).") from None
    except (ValueError, etree.LxmlError) as exc:
        raise ProviderResponseError(f"{what} answered with XML that could not be read ({_short(exc)}).") from None
    if root is None:
        raise ProviderResponseError(f"{what} answered with an XML document without content.")
    docinfo = root.getroottree().docinfo
    for dtd in (docinfo.internalDTD, docinfo.externalDTD):
        if dtd is not None and any(True for _ in dtd.iterentities()):
            raise ProviderResponseError(_refused(what))  # e.g. declared in UTF-16, missed by the byte check
    return root


def _declares_entities(data: bytes) -> bool:
    if _ENTITY_DECLARATION.search(data):
        return True
    head = data[:4]
    if b"\x00" in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16/32: look at the text
        for encoding in ("utf-32", "utf-16", "utf-16-le", "utf-16-be"):
            try:
                if "<!ENTITY" in data.decode(encoding).upper():
                    return True
            except UnicodeDecodeError:
                continue
    return False


def _refused(what: str) -> str:
    return (f"{what} answered with XML that declares entities; it was refused unread "
            f"(entities can make a parser fetch files or URLs, or expand without end).")


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "msg", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
