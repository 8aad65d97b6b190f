"""SOAP 1.1 envelopes for the SOAP providers (VeraCore AddOrder, Presswise RPC/encoded,
Midnight string-in/string-out), built with lxml and parsed with the hardened parser.

Header tokens are elements, not HTTP headers: VeraCore's AuthenticationHeader
(Username/Password) and Midnight's ValidationSoapHeader (DevToken) are passed as
``header`` elements here. Responses are matched by local name (namespaces differ per
tenant); a soap:Fault becomes ProviderRejected (client fault) or ProviderTransientError
(server fault) carrying the faultstring.
"""
from __future__ import annotations

from lxml import etree

from . import errors as e

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def element(tag: str, namespace: str | None = None, text=None, children=()) -> etree._Element:
    node = etree.Element(f"{{{namespace}}}{tag}" if namespace else tag, nsmap={None: namespace} if namespace else None)
    if text is not None:
        node.text = str(text)
    for child in children:
        node.append(child)
    return node


def from_dict(tag: str, value, namespace: str | None = None) -> etree._Element:
    """Nested dict/list data → elements (lists repeat the tag). None values are omitted."""
    node = element(tag, namespace)
    if isinstance(value, dict):
        for key, child in value.items():
            if child is None:
                continue
            if isinstance(child, list):
                for entry in child:
                    node.append(from_dict(key, entry, namespace))
            else:
                node.append(from_dict(key, child, namespace))
    elif value is not None:
        node.text = str(value)
    return node


def envelope(body: etree._Element, headers=()) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    if headers:
        head = etree.SubElement(env, f"{{{SOAP_ENV}}}Header")
        for header in headers:
            head.append(header)
    etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(body)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def local(node) -> str:
    return etree.QName(node).localname


def find(node, *path: str):
    """First descendant following local names, ignoring namespaces."""
    current = node
    for name in path:
        current = next((c for c in current.iter() if c is not current and isinstance(c.tag, str)
                        and local(c) == name), None)
        if current is None:
            return None
    return current


def text_of(node, *path: str, default: str = "") -> str:
    found = find(node, *path) if path else node
    return (found.text or "").strip() if found is not None and found.text else default


def parse_response(data: bytes) -> etree._Element:
    """The Body's first child, or raise for a fault / a document that is not SOAP."""
    from .xml import parse_xml

    root = parse_xml(data)
    if local(root) != "Envelope":
        raise e.ProviderResponseError("The provider answered XML that is not a SOAP envelope.")
    body = find(root, "Body")
    if body is None or not len(body):
        raise e.ProviderResponseError("The SOAP envelope has no body.")
    first = body[0]
    if local(first) == "Fault":
        code, message = text_of(first, "faultcode"), text_of(first, "faultstring") or "SOAP fault"
        if code.endswith("Server"):
            raise e.ProviderTransientError(message)
        if "auth" in message.lower() or "credential" in message.lower() or "password" in message.lower():
            raise e.ProviderAuthError(message)
        raise e.ProviderRejected(message)
    return first
