"""Hostile XML from a provider: no network, no file access, no entity expansion, bounded time
and memory, and a clear ProviderResponseError every time (webapp.providers.xml.parse_xml is
the one XML entry point; SOAP/cXML providers use it through webapp.providers.soap)."""
from __future__ import annotations

import os
import time

import psutil
import pytest

from sandbox.testing import serve_wsgi
from webapp.providers.errors import ProviderError, ProviderResponseError
from webapp.providers.xml import parse_xml


@pytest.fixture
def listener():
    """A local HTTP server that records every request: it must receive nothing."""
    hits = []

    def app(environ, start_response):
        hits.append(environ.get("PATH_INFO"))
        start_response("200 OK", [("Content-Type", "application/xml")])
        return [b'<!ENTITY leak "LEAKED-BY-NETWORK">']

    base, stop = serve_wsgi(app)
    yield base, hits
    stop()


def _payloads(base: str) -> dict[str, bytes]:
    return {
        "external general entity (http)": (
            f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{base}/xxe">]><r>&x;</r>').encode(),
        "external general entity (file)": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM '
                                          b'"file:///etc/passwd">]><r>&x;</r>',
        "parameter entity (http)": (
            f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "{base}/dtd"> %p;]><r>x</r>').encode(),
        "external general entity, UTF-16": (
            f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x SYSTEM "{base}/utf16">]>'
            f'<r>&x;</r>').encode("utf-16"),
    }


def test_external_entities_are_refused_and_nothing_is_fetched(listener):
    base, hits = listener
    for name, payload in _payloads(base).items():
        with pytest.raises(ProviderResponseError, match="declares entities") as info:
            parse_xml(payload)
        assert "root:" not in info.value.message, name
    assert hits == [], f"the parser reached the network: {hits}"


def test_an_external_dtd_reference_is_accepted_but_never_loaded(listener):
    base, hits = listener
    root = parse_xml(f'<?xml version="1.0"?><!DOCTYPE cXML SYSTEM "{base}/cXML.dtd">'
                     f'<cXML payloadID="1"><Response><Status code="200" text="OK"/></Response></cXML>'.encode())
    assert root.tag == "cXML" and root.find("Response/Status").get("code") == "200"
    assert hits == []


def _laughs(levels: int = 10, encoding: str = "utf-8") -> bytes:
    lines = ['<?xml version="1.0" encoding="%s"?>' % encoding.upper(), "<!DOCTYPE lolz [", '<!ENTITY lol "lol">']
    for i in range(1, levels):
        lines.append(f'<!ENTITY lol{i} "' + f"&lol{i - 1 if i > 1 else ''};" * 10 + '">')
    lines.append("]>")
    lines.append(f"<lolz>&lol{levels - 1};</lolz>")
    return "\n".join(lines).replace("&lol0;", "&lol;").encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_billion_laughs_fails_fast_with_bounded_memory(encoding):
    process = psutil.Process(os.getpid())
    before = process.memory_info().rss
    started = time.monotonic()
    with pytest.raises(ProviderResponseError, match="declares entities"):
        parse_xml(_laughs(encoding=encoding))
    assert time.monotonic() - started < 1.0
    assert process.memory_info().rss - before < 50 * 1024 * 1024


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><Envelope><Body><Resp', b"<r><a></r>", b"", b"   ", b"not xml at all",
    b"<html><body>502 Bad Gateway</body>", b"\xff\xfe\x00garbage", b'{"json": true}',
    b"<r>" + b"<a>" * 300 + b"</r>",
])
def test_malformed_or_truncated_xml_is_a_clear_provider_error(body):
    with pytest.raises(ProviderResponseError) as info:
        parse_xml(body)
    assert info.value.message.startswith("The provider answered")
    assert isinstance(info.value, ProviderError)


def test_deep_nesting_stays_within_libxml2_limits():
    deep = b"<r>" + b"<a>" * 20000 + b"x" + b"</a>" * 20000 + b"</r>"
    with pytest.raises(ProviderResponseError):
        parse_xml(deep)  # huge_tree=False: libxml2 refuses excessive depth instead of recursing
