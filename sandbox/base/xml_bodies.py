"""Error and status bodies the XML simulators answer with (sandbox base, shared): a SOAP 1.1
fault (VeraCore, Midnight, Presswise — HTTP 500 per SOAP 1.1, or 200 where a service does
so), a cXML Response with its Status code (Tharstern cXML), and a request-body reader that
refuses entities like the hub's parser. Built with lxml so text is always escaped."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from flask import Response
from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def soap_envelope(body: etree._Element, *, status: int = 200, encoding: str = "utf-8") -> Response:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(body)
    data = etree.tostring(env, xml_declaration=True, encoding=encoding)
    return Response(data, status=status, content_type=f"text/xml; charset={encoding}")


def soap_fault(text: str, *, code: str = "soap:Client", status: int = 500, detail: str | None = None,
               encoding: str = "utf-8") -> Response:
    """``code``: soap:Client (our request was wrong) or soap:Server (the service failed)."""
    fault = etree.Element(f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = text
    if detail is not None:
        etree.SubElement(fault, "detail").text = detail
    return soap_envelope(fault, status=status, encoding=encoding)


def cxml_response(code: int, text: str, *, payload_id: str = "", message: str = "",
                  http_status: int = 200, extra: etree._Element | None = None,
                  dtd_version: str = "1.2.014") -> Response:
    """A cXML Response carrying ``Status code`` / ``text`` (HTTP-like codes: 200, 201, 4xx, 5xx),
    the human detail as the Status text and an optional answer element after it."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    root = etree.Element("cXML", payloadID=payload_id or f"{now}.{secrets.token_hex(6)}@sandbox.sim",
                         timestamp=now)
    root.set(XML_LANG, "en-US")
    response = etree.SubElement(root, "Response")
    status = etree.SubElement(response, "Status", code=str(code), text=text)
    status.set(XML_LANG, "en-US")
    status.text = message or None
    if extra is not None:
        response.append(extra)
    data = etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8",
                          doctype=f'<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/{dtd_version}/cXML.dtd">')
    return Response(data, status=http_status, content_type="text/xml; charset=utf-8")


class BadXML(ValueError):
    pass


def read_xml(data: bytes) -> etree._Element:
    """Parse a request body strictly and safely; BadXML says why (the simulator answers its
    provider's error for it)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if b"<!ENTITY" in data.upper():
        raise BadXML("entity declarations are not accepted")
    try:
        return etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True,
                                                             load_dtd=False, huge_tree=False))
    except etree.XMLSyntaxError as exc:
        raise BadXML(f"malformed XML: {exc.msg}") from None
