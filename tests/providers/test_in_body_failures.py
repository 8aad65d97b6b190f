"""§4: failures inside HTTP 200 (and SOAP faults inside a 500) become typed errors through a
declared per-provider hook; XML in utf-16 / ISO-8859-1 is read by the safe parser."""
from __future__ import annotations

import pytest
import responses

from webapp.providers import errors as pe
from webapp.providers import soap
from webapp.providers.base import Provider
from webapp.providers.fields import Field, schema
from webapp.providers.xml import parse_xml

BASE = "https://fake.test/api"


class InBodyProvider(Provider):
    """Answers {"result": {"code": N, "text": "..."}} with HTTP 200 whatever happened."""

    key, name = "inbody-fake", "In-body fake"
    credentials = schema(Field("password", "Password", type="secret", required=True))

    def check_response(self, response):
        result = (response.json() or {}).get("result") or {}
        code = int(result.get("code", 0))
        if code:
            raise pe.in_body({1: "auth", 2: "rejected"}.get(code, "transient"), result.get("text", ""))


def _client():
    return InBodyProvider({"password": "hunter2-pw", "base_url": BASE})


@pytest.mark.parametrize("code,error,transient", [(1, pe.ProviderAuthError, False),
                                                  (2, pe.ProviderRejected, False),
                                                  (9, pe.ProviderTransientError, True)])
@responses.activate
def test_the_hook_turns_a_200_body_into_the_typed_error_with_the_providers_words(code, error, transient):
    text = "Customer ACME is on stop (password hunter2-pw was fine)"
    responses.post(f"{BASE}/orders", json={"result": {"code": code, "text": text}})
    client = _client()
    with pytest.raises(error) as caught:
        client.http.request("POST", "/orders", json={"n": 1})
    assert caught.value.transient is transient
    assert caught.value.message == "Customer ACME is on stop (password [redacted] was fine)"
    assert caught.value.status == 200
    assert client.exchanges[-1].status == 200  # the exchange is still logged


@responses.activate
def test_a_200_without_an_error_code_is_returned():
    responses.post(f"{BASE}/orders", json={"result": {"code": 0}, "id": "R-1"})
    assert _client().http.request("POST", "/orders", json={})["id"] == "R-1"


def _fault(code: str, text: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{soap.SOAP_ENV}"><soap:Body>'
            f"<soap:Fault><faultcode>{code}</faultcode><faultstring>{text}</faultstring></soap:Fault>"
            f"</soap:Body></soap:Envelope>")


class SoapFake(Provider):
    key, name = "soap-fake", "SOAP fake"

    def check_response(self, response):
        soap.check_fault(response)


@pytest.mark.parametrize("status,code,text,error", [
    (500, "soap:Server", "Invalid username or password.", pe.ProviderAuthError),   # not retried
    (500, "soap:Client", "Authentication failed for user x", pe.ProviderAuthError),
    (500, "soap:Server", "Database is being restarted", pe.ProviderTransientError),
    (500, "soap:Client", "Order 123 already exists", pe.ProviderRejected),
    (200, "soap:Client", "Quantity must be positive", pe.ProviderRejected),
])
@responses.activate
def test_a_soap_fault_is_read_before_a_500_is_taken_as_transient(status, code, text, error):
    responses.post(f"{BASE}/svc.asmx", body=_fault(code, text), status=status, content_type="text/xml")
    client = SoapFake({"base_url": BASE})
    with pytest.raises(pe.ProviderError) as caught:
        soap.post(client.http, "/svc.asmx", soap.envelope(soap.element("AddOrder")), action="urn:AddOrder")
    assert type(caught.value) is error and caught.value.message == text
    assert responses.calls[0].request.headers["SOAPAction"] == '"urn:AddOrder"'


@responses.activate
def test_a_500_that_is_not_a_fault_stays_transient_and_a_utf16_fault_is_read():
    responses.post(f"{BASE}/a.asmx", body="<html>Service Unavailable</html>", status=500)
    responses.post(f"{BASE}/b.asmx", body=_fault("soap:Server", "Bad login").replace("utf-8", "utf-16")
                   .encode("utf-16"), status=500, content_type="text/xml; charset=utf-16")
    client = SoapFake({"base_url": BASE})
    with pytest.raises(pe.ProviderTransientError):
        client.http.request("POST", "/a.asmx", data=b"<x/>")
    with pytest.raises(pe.ProviderAuthError):
        client.http.request("POST", "/b.asmx", data=b"<x/>")


def test_cxml_style_codes_map_to_kinds():
    assert [pe.kind_for_code(c) for c in (402, 401, 403, 400, 406, 409, 429, 500, 503)] == \
        ["rejected", "auth", "auth", "rejected", "rejected", "rejected", "transient", "transient", "transient"]


@pytest.mark.parametrize("data", [
    '<?xml version="1.0" encoding="utf-16"?><r><n>Müller</n></r>'.encode("utf-16"),
    '<?xml version="1.0" encoding="ISO-8859-1"?><r><n>Müller</n></r>'.encode("iso-8859-1"),
    '<?xml version="1.0" encoding="utf-16"?><r><n>Müller</n></r>',                  # already-decoded text
    '<?xml version="1.0" encoding="utf-16"?><r><n>Müller</n></r>'.encode("utf-8"),  # .NET: declared, not true
])
def test_declared_encodings_are_accepted(data):
    assert soap.text_of(parse_xml(data), "n") == "Müller"


def test_entities_stay_refused_in_every_encoding():
    evil = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    for data in (evil, evil.encode("utf-16"), evil.replace("utf-16", "ISO-8859-1").encode("iso-8859-1")):
        with pytest.raises(pe.ProviderResponseError, match="declares entities"):
            parse_xml(data)
