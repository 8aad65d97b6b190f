"""SOAP plumbing shared by the SOAP simulators (VeraCore, Midnight, Presswise): envelope
reading on top of ``xml_bodies.read_xml`` (the sandbox's safe parser), local-name look-ups
(namespaces differ per tenant and per client library), answers and faults (SOAP 1.1 faults
are ``xml_bodies.soap_fault``; SOAP 1.2 for VeraCore's second binding). Provider-neutral:
each simulator keeps its own operations, validation and state."""
from __future__ import annotations

from flask import Response
from lxml import etree

from .xml_bodies import BadXML, read_xml, soap_fault

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


class SoapRequestError(Exception):
    """The request is not a SOAP envelope we can read (answered as a soap:Client fault)."""


def parse_envelope(raw: bytes) -> tuple[etree._Element | None, etree._Element, str]:
    """(Header or None, the Body's first element, envelope namespace)."""
    if not raw or not raw.strip():
        raise SoapRequestError("Request body is empty.")
    if b"<!DOCTYPE" in raw:
        raise SoapRequestError("DTDs are not allowed in SOAP messages.")
    try:
        root = read_xml(raw)
    except BadXML as exc:
        raise SoapRequestError(f"The request is not accepted: {exc}") from None
    if local(root) != "Envelope":
        raise SoapRequestError("The root element is not a SOAP Envelope.")
    namespace = etree.QName(root).namespace or SOAP11
    header = child(root, "Header")
    body = child(root, "Body")
    if body is None or not len(elements(body)):
        raise SoapRequestError("The SOAP Body is missing or empty.")
    return header, elements(body)[0], namespace


def local(node) -> str:
    return etree.QName(node).localname


def elements(node) -> list:
    return [c for c in node if isinstance(c.tag, str)]


def child(node, name: str):
    """First direct child element with this local name."""
    if node is None:
        return None
    return next((c for c in elements(node) if local(c) == name), None)


def children(node, name: str) -> list:
    return [c for c in elements(node) if local(c) == name] if node is not None else []


def descend(node, *path: str):
    for name in path:
        node = child(node, name)
        if node is None:
            return None
    return node


def text(node, *path: str) -> str:
    found = descend(node, *path) if path else node
    return (found.text or "").strip() if found is not None and found.text else ""


def envelope(body: etree._Element, soap_ns: str = SOAP11) -> bytes:
    env = etree.Element(f"{{{soap_ns}}}Envelope", nsmap={"soap": soap_ns,
                                                          "xsi": "http://www.w3.org/2001/XMLSchema-instance",
                                                          "xsd": "http://www.w3.org/2001/XMLSchema"})
    etree.SubElement(env, f"{{{soap_ns}}}Body").append(body)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def respond(body: etree._Element, soap_ns: str = SOAP11, status: int = 200) -> Response:
    mimetype = "application/soap+xml" if soap_ns == SOAP12 else "text/xml"
    return Response(envelope(body, soap_ns), status=status, mimetype=mimetype, content_type=f"{mimetype}; charset=utf-8")


def fault(code: str, message: str, soap_ns: str = SOAP11, status: int = 500) -> Response:
    """A fault (``soap:Client`` / ``soap:Server``) as ASMX sends it: HTTP 500."""
    if soap_ns == SOAP11:
        return soap_fault(message, code=f"soap:{code}", status=status, detail="")
    node = etree.Element(f"{{{soap_ns}}}Fault")
    etree.SubElement(node, "faultcode").text = f"soap:{code}"
    etree.SubElement(node, "faultstring").text = message
    etree.SubElement(node, "detail")
    return respond(node, soap_ns, status)


def build(tag: str, namespace: str | None, value=None) -> etree._Element:
    """Nested dict/list → elements in one namespace (lists repeat the tag, None is omitted)."""
    node = etree.Element(f"{{{namespace}}}{tag}" if namespace else tag, nsmap={None: namespace} if namespace else None)
    _fill(node, namespace, value)
    return node


def _fill(node, namespace, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            for entry in item if isinstance(item, list) else [item]:
                if entry is None:
                    continue
                sub = etree.SubElement(node, f"{{{namespace}}}{key}" if namespace else key)
                _fill(sub, namespace, entry)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)
