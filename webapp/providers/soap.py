"""SOAP 1.1 envelopes for the SOAP providers (VeraCore AddOrder, Presswise RPC/encoded,
Midnight string-in/string-out), built with lxml and parsed with the hardened parser.

Header tokens are elements, not HTTP headers: VeraCore's AuthenticationHeader
(Username/Password) and Midnight's ValidationSoapHeader (DevToken) are passed as
``header`` elements here. Responses are matched by local name (namespaces differ per
tenant); a soap:Fault becomes ProviderAuthError (credentials refused, whatever the fault
code), ProviderRejected (client fault) or ProviderTransientError (server fault) carrying the
faultstring. ``check_fault`` is the ProviderHTTP response_check that reads a fault inside a
500 before the status code is taken as "server down"; ``post`` sends one envelope.
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


AUTH_FAULT_WORDS = ("auth", "credential", "password", "login", "log in", "not authorized", "unauthorized",
                    "access denied", "token", "devtoken", "permission")


def fault_error(fault, auth_words=AUTH_FAULT_WORDS) -> e.ProviderError:
    """The typed error for a soap:Fault. Credentials are checked first, whatever the fault
    code: services answer a bad password as a Server fault in a 500, and it must never be
    retried as if the server were down."""
    code, message = text_of(fault, "faultcode"), text_of(fault, "faultstring") or "SOAP fault"
    detail = text_of(fault, "detail")
    said = f"{message} {detail}".lower()
    if any(word in said for word in auth_words):
        return e.in_body("auth", message)
    if code.split(":")[-1].lower().startswith("server"):
        return e.in_body("transient", message)
    return e.in_body("rejected", message)


def check_fault(response) -> None:
    """A ProviderHTTP ``response_check`` for SOAP services: a fault (in a 200 or a 500) is
    raised as its typed error before the status code is looked at. Anything that is not a
    SOAP fault is left to the status handling."""
    content = response.content or b""
    if b"Fault" not in content[:65536] and b"F\x00a\x00u\x00l\x00t" not in content[:131072]:
        return
    try:
        root = _parse(content)
    except e.ProviderResponseError:
        return  # not readable XML: the status code (or the caller's parse) decides
    body = find(root, "Body") if local(root) == "Envelope" else None
    if body is not None and len(body) and local(body[0]) == "Fault":
        raise fault_error(body[0])


def post(http, path: str, envelope_bytes: bytes, *, action: str = "", headers: dict | None = None):
    """POST a SOAP 1.1 envelope through the provider's ProviderHTTP (declare ``check_fault``
    or a hook calling it as its response_check) and return the Body's first child."""
    response = http.request("POST", path, data=envelope_bytes, expect="raw", headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"', **(headers or {})})
    return parse_response(response.content)


def _parse(data):
    from .xml import parse_xml
    return parse_xml(data)


def parse_response(data: bytes) -> etree._Element:
    """The Body's first child, or raise for a fault / a document that is not SOAP."""
    root = _parse(data)
    if local(root) != "Envelope":
        raise e.ProviderResponseError("The provider answered XML that is not a SOAP envelope.")
    body = find(root, "Body")
    if body is None or not len(body):
        raise e.ProviderResponseError("The SOAP envelope has no body.")
    first = body[0]
    if local(first) == "Fault":
        raise fault_error(first)
    return first
