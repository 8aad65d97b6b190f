"""§5 files against a real local server: artwork described as URL + name + type + role,
size-capped streaming download, multipart and pre-signed PUT uploads, and no credentials
of ours to any host but the account's own."""
from __future__ import annotations

import pytest
import responses

from tests.providers.fake_remote import CLIENT_ID, CLIENT_SECRET
from webapp.providers import errors as pe
from webapp.providers import files
from webapp.providers.auth import HeaderKey, OAuth2ClientCredentials
from webapp.providers.http import ProviderHTTP


def _http(remote, **kw):
    auth = OAuth2ClientCredentials(f"{remote.base}/api/oauth/token", CLIENT_ID, CLIENT_SECRET)
    return ProviderHTTP(f"{remote.base}/api", auth=auth, **kw)


def test_file_refs_carry_name_type_and_role():
    refs = [files.file_ref(f"https://cdn.example.test/o/{name}?sig=1", n) for n, name in
            enumerate(["Front%20Side.pdf", "back.png", "insert.tif", "noext"], 1)]
    assert [(r.name, r.content_type, r.role) for r in refs] == [
        ("Front Side.pdf", "application/pdf", "front"), ("back.png", "image/png", "back"),
        ("insert.tif", "image/tiff", "page-3"), ("noext", "application/octet-stream", "page-4")]


def test_presigned_put_to_another_host_carries_no_auth_header(fake_remote):
    http = _http(fake_remote, headers={"x-api-key": "static-key-123"})
    slot = http.request("POST", "uploads", json={"name": "a.pdf"})
    assert slot["put_url"].startswith("http://localhost:")          # the "S3" host
    files.upload_presigned(http, slot["put_url"], b"%PDF-1.7 artwork", "application/pdf")
    assert fake_remote.uploads[slot["key"]] == b"%PDF-1.7 artwork"
    (put,) = [h for m, p, h in fake_remote.calls if m == "PUT"]
    assert "Authorization" not in put and "X-Api-Key" not in put and "x-api-key" not in put
    (post,) = [h for m, p, h in fake_remote.calls if p == "/api/uploads"]
    assert post["Authorization"].startswith("Bearer ") and post["X-Api-Key"] == "static-key-123"


def test_even_an_explicit_auth_is_never_sent_to_another_host(fake_remote):
    http = _http(fake_remote)
    url = f"{fake_remote.other_host}/s3/K-1?X-Amz-Signature=x"
    http.request("PUT", url, data=b"x", auth=HeaderKey("Authorization", "Bearer ours"), expect="raw")
    (put,) = [h for m, p, h in fake_remote.calls if m == "PUT"]
    assert "Authorization" not in put


def test_multipart_upload_to_the_providers_own_host(fake_remote):
    http = _http(fake_remote)
    ref = files.file_ref("https://files.example.test/1/cover.pdf", 1)
    answer = files.upload_multipart(http, "files", ref, b"%PDF cover", form={"role": ref.role})
    assert answer == {"name": "cover.pdf", "role": "front"}
    assert fake_remote.uploads["cover.pdf"] == b"%PDF cover"
    assert "[multipart] file: cover.pdf (application/pdf)" in http.exchanges[-1].request_body


def test_download_is_streamed_under_a_size_cap_without_our_credentials(fake_remote):
    http = _http(fake_remote)
    url = f"{fake_remote.other_host}/art/a.pdf?size=5000"
    assert files.download(http, url, max_bytes=5000).startswith(b"%PDF")
    with pytest.raises(pe.ProviderRejected, match="over the"):
        files.download(http, f"{fake_remote.other_host}/art/big.pdf?size=5001", max_bytes=5000)
    gets = [h for m, p, h in fake_remote.calls if p.startswith("/art/")]
    assert gets and all("Authorization" not in h for h in gets)
    assert "[streamed application/pdf" in http.exchanges[-1].response_body  # the bytes are not logged


@responses.activate
def test_a_download_without_content_length_stops_at_the_cap():
    def chunks():
        for _ in range(1000):
            yield b"x" * 1024

    responses.get("https://files.example.test/huge.pdf", body=b"".join(chunks()),
                  auto_calculate_content_length=False)
    with pytest.raises(pe.ProviderRejected, match="download was stopped"):
        files.download(ProviderHTTP("https://api.example.test"), "https://files.example.test/huge.pdf",
                       max_bytes=64 * 1024)
