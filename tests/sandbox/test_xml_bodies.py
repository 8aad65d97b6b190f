"""The sandbox base's XML bodies are read back by the hub's own SOAP / cXML handling."""
from __future__ import annotations

import pytest
import responses
from flask import Flask

from sandbox.base.xml_bodies import BadXML, cxml_response, read_xml, soap_fault
from webapp.providers import errors as pe
from webapp.providers import soap
from webapp.providers.http import ProviderHTTP
from webapp.providers.xml import parse_xml


@pytest.fixture
def flask_ctx():
    with Flask("t").app_context():
        yield


@pytest.mark.parametrize("fault,error", [
    (dict(text="Invalid login: bad password <x>", code="soap:Server"), pe.ProviderAuthError),
    (dict(text="Order 5 & 6 already exist", code="soap:Client"), pe.ProviderRejected),
    (dict(text="Database offline", code="soap:Server", encoding="utf-16"), pe.ProviderTransientError),
])
@responses.activate
def test_a_simulated_fault_is_classified_by_the_hub(flask_ctx, fault, error):
    answer = soap_fault(**fault)
    responses.post("https://sim.test/svc", body=answer.get_data(), status=answer.status_code,
                   content_type=answer.content_type)
    http = ProviderHTTP("https://sim.test", response_check=soap.check_fault)
    with pytest.raises(error) as caught:
        http.request("POST", "/svc", data=b"<x/>")
    assert caught.value.message == fault["text"]


def test_cxml_status_is_readable_with_its_doctype(flask_ctx):
    root = parse_xml(cxml_response(401, "Unauthorized", message="Bad SharedSecret").get_data())
    status = root.find("Response/Status")
    assert status.get("code") == "401" and status.get("text") == "Unauthorized"
    assert pe.kind_for_code(int(status.get("code"))) == "auth"


def test_read_xml_refuses_entities_and_reports_syntax():
    with pytest.raises(BadXML, match="entity"):
        read_xml(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    with pytest.raises(BadXML, match="malformed"):
        read_xml(b"<a>")
    assert read_xml(b"<a><b>1</b></a>").findtext("b") == "1"


def test_the_recorder_keeps_a_credentials_secrets_out_of_recorded_bodies():
    from flask import Blueprint
    from urllib.parse import quote_plus

    from sandbox.base import SimulatorSpec, get_runtime, init_runtime, install_common, set_credential

    def blueprint():
        bp = Blueprint("mini", __name__, url_prefix="/mini")
        install_common(bp, "mini")

        @bp.post("/svc")
        def svc():
            set_credential("acct-1", secrets=("p&ss<1>",))
            return "ok"
        return bp

    spec = SimulatorSpec("mini", "Mini", "/mini", blueprint, lambda runtime, config: {})
    app = Flask("mini")
    init_runtime(app, spec)
    app.register_blueprint(spec.create_blueprint())
    client = app.test_client()
    for body in ("<Password>p&amp;ss&lt;1&gt;</Password>", f"password={quote_plus('p&ss<1>')}",
                 '{"password": "p&ss<1>"}'):
        client.post("/mini/svc", data=body)
    with app.app_context():
        recorded = [e["body"] for e in get_runtime("mini").recorder.entries("acct-1")]
    assert recorded == ["<Password>[redacted]</Password>", "password=[redacted]", '{"password": "[redacted]"}']
