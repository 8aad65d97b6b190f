"""SOAP plumbing shared by the SOAP simulators (VeraCore, Midnight, Presswise): envelope
reading on top of ``xml_bodies.read_xml`` (the sandbox's safe parser), local-name look-ups
(namespaces differ per tenant and per client library), answers and faults (SOAP 1.1 faults
are ``xml_bodies.soap_fault``; SOAP 1.2 for VeraCore's second binding), header-token auth and
the service loop (`SoapService`). Provider-neutral: each simulator keeps its own operations,
validation, answer format and state."""
from __future__ import annotations

from flask import Response, jsonify, request
from lxml import etree

from .control import ControlError, control_payload
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


# --------------------------------------------------------------------------- the service loop

def header_token(header, *path: str) -> str:
    """A credential carried in the SOAP Header (``ValidationSoapHeader/DevToken``), or ""."""
    return text(descend(header, *path)) if header is not None else ""


class SoapFailed(Exception):
    """An operation refused with the provider's in-body error (HTTP 200, like the real service)."""

    def __init__(self, *errors, code: int = 1):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors, self.code = errors, code


class SoapService:
    """One SOAP endpoint's request loop, the same for every SOAP simulator: read the envelope
    (a soap:Client fault when unreadable), answer the unauthenticated operations, find the
    operation, authenticate (refused in the body or as a fault, per ``auth_failure``), admit
    the tenant (its rate limit: HTTP 429 with Retry-After), run the handler under the lock.

    A simulator subclasses it with its operations, its `authenticate` and its answer formats;
    handlers take ``(tenant, argument)`` and raise `SoapFailed` for the provider's in-body errors.
    """

    operations: dict = {}
    public: dict = {}                  # op -> (op, namespace) -> Response; no credential needed
    auth_message = "Authentication failed."
    auth_fault_code = "Client"

    def __init__(self, state_getter):
        self.state = state_getter      # the simulator's state: .tenants and .auth_failure

    def unknown_operation(self, op: str) -> str:
        return f"Server did not recognize the value of HTTP Header SOAPAction: {op}."

    def authenticate(self, header, operation):
        raise NotImplementedError

    def argument(self, operation):
        return operation

    def answer(self, op: str, namespace: str | None, data: dict | None) -> Response:
        raise NotImplementedError

    def failed(self, op: str, namespace: str | None, exc: SoapFailed) -> Response:
        raise NotImplementedError

    def refused(self, op: str, namespace: str | None) -> Response:
        """The in-body answer to a bad credential (``auth_failure`` other than "fault")."""
        return self.failed(op, namespace, SoapFailed(self.auth_message))

    def install(self, bp, rule: str, auth_failures: tuple[str, str]) -> None:
        """The endpoint at `rule` and ``POST /_sim/config {"auth_failure": …}``, which switches a
        bad credential between the in-body refusal (the first choice) and a fault."""

        def sim_config():
            payload = control_payload()
            if payload.get("auth_failure") not in auth_failures:
                raise ControlError(400, f"auth_failure must be {' or '.join(auth_failures)}")
            self.state().auth_failure = payload["auth_failure"]
            return jsonify({"auth_failure": self.state().auth_failure})

        bp.add_url_rule(rule, "service", self, methods=["POST"])
        bp.add_url_rule("/_sim/config", "sim_config", sim_config, methods=["POST"])

    def __call__(self) -> Response:
        try:
            header, operation, _ = parse_envelope(request.get_data(cache=True))
        except SoapRequestError as exc:
            return fault("Client", str(exc))
        op, namespace = local(operation), etree.QName(operation).namespace
        if op in self.public:
            return self.public[op](op, namespace)
        handler = self.operations.get(op)
        if handler is None:
            return fault("Client", self.unknown_operation(op))
        st = self.state()
        tenant = self.authenticate(header, operation)
        if tenant is None:
            if st.auth_failure == "fault":
                return fault(self.auth_fault_code, self.auth_message)
            return self.refused(op, namespace)
        decision = st.tenants.admit(tenant)
        if not decision.allowed:
            return Response("Too Many Requests", status=429, headers={"Retry-After": str(decision.reset_seconds)})
        try:
            with st.tenants.lock:
                data = handler(tenant, self.argument(operation))
        except SoapFailed as exc:
            return self.failed(op, namespace, exc)
        return self.answer(op, namespace, data)
