"""HP PrintOS Box client: signing, folder + files push with checkpoints, errors (with `responses`)."""
from __future__ import annotations

import json

import pytest
import responses

from tests.providers import contexts
from webapp.providers import errors as pe
from webapp.providers.auth import hmac_hex
from webapp.providers.printos_box import PrintOSBox

API = "https://printos.api.hp.com/box/api/partner"
CREDS = {"key": "key", "secret": "test-secret", "server": "production"}


def _ctx(**kw):
    saved = {}
    items = kw.pop("items", None) or [contexts.item(1), contexts.item(2, file_urls=["https://f.test/a.pdf",
                                                                                    "https://f.test/b.pdf"])]
    ctx = contexts.order(items=items, external_number="W-1001-ES4", **kw)
    ctx.save_checkpoint = saved.__setitem__
    return ctx, saved


@responses.activate
def test_signs_the_path_after_box_with_the_documented_vector():
    responses.post(f"{API}/folder", json={"_id": "f1"})
    responses.post(f"{API}/file", json={"_id": "x1"})
    client = PrintOSBox(CREDS, {})
    client.http.auth.clock = lambda: "2024-05-01T10:00:00.000Z"
    client.push_order(_ctx(items=[contexts.item(1)])[0])
    sent = responses.calls[0].request
    assert sent.headers["x-hp-hmac-authentication"] == \
        "key:009815c5efaa196e46bbb5dac866fdf742acee8e4ab9eef5d742fc1286780397"
    assert sent.headers["x-hp-hmac-date"] == "2024-05-01T10:00:00.000Z" and sent.headers["x-hp-hmac-algorithm"] == "SHA256"
    file_call = responses.calls[1].request
    assert file_call.headers["x-hp-hmac-authentication"] == "key:" + hmac_hex(
        "test-secret", "POST /api/partner/file2024-05-01T10:00:00.000Z")


@responses.activate
def test_one_folder_per_order_and_one_file_per_url_each_checkpointed():
    responses.post(f"{API}/folder", json={"_id": "f1", "status": "ready"})
    ids = iter(["x1", "x2", "x3"])
    responses.add_callback(responses.POST, f"{API}/file", callback=lambda r: (200, {}, json.dumps({"_id": next(ids)})))
    ctx, saved = _ctx()
    result = PrintOSBox(CREDS, {"reply_to": "pre@example.test"}).push_order(ctx)
    folder_body = json.loads(responses.calls[0].request.body)
    assert folder_body == {"name": "W-1001-ES4", "from": "pre@example.test"}
    files = [json.loads(c.request.body) for c in responses.calls[1:]]
    assert [(f["url"], f["folderId"], f["copies"]) for f in files] == [
        ("https://files.example.test/1.pdf", "f1", 250), ("https://f.test/a.pdf", "f1", 250),
        ("https://f.test/b.pdf", "f1", 250)]
    assert saved == {"folder_unanswered": True, "folder_id": "f1", "file:W-1001-1:1": "x1", "file:W-1001-2:1": "x2",
                     "file:W-1001-2:2": "x3"}
    assert result.external_id == "f1" and [i.external_id for i in result.items] == ["x1", "x2,x3"]


@responses.activate
def test_retry_after_a_failed_file_reuses_the_folder_and_adds_only_what_is_missing():
    responses.post(f"{API}/folder", json={"_id": "f1"})
    responses.post(f"{API}/file", json={"_id": "x1"})
    responses.post(f"{API}/file", status=503, json={"message": "busy"})
    ctx, _ = _ctx()
    with pytest.raises(pe.ProviderTransientError):
        PrintOSBox(CREDS, {}).push_order(ctx)
    responses.reset()
    responses.post(f"{API}/file", json={"_id": "x9"})
    retry = contexts.order(items=ctx.items, external_number="W-1001-ES4", checkpoint=dict(ctx.checkpoint))
    result = PrintOSBox(CREDS, {}).push_order(retry)
    assert [json.loads(c.request.body)["url"] for c in responses.calls] == ["https://f.test/a.pdf", "https://f.test/b.pdf"]
    assert result.external_id == "f1"


@responses.activate
def test_an_unanswered_folder_create_is_not_repeated_blindly():
    import requests

    responses.post(f"{API}/folder", body=requests.exceptions.ReadTimeout("no answer"))
    ctx, saved = _ctx()
    with pytest.raises(pe.ProviderTimeout):
        PrintOSBox(CREDS, {}).push_order(ctx)
    retry = contexts.order(items=ctx.items, external_number="W-1001-ES4", checkpoint=dict(ctx.checkpoint))
    with pytest.raises(pe.ProviderRejected, match="may exist. Check Box"):
        PrintOSBox(CREDS, {}).push_order(retry)
    assert len(responses.calls) == 1  # the retry sent nothing
    responses.replace(responses.POST, f"{API}/folder", json={"_id": "f2"})
    responses.post(f"{API}/file", json={"_id": "x1"})
    manual = contexts.order(items=ctx.items, external_number="W-1001-ES4", checkpoint=dict(retry.checkpoint))
    assert PrintOSBox(CREDS, {}).push_order(manual).external_id == "f2"  # the admin's Push Order creates it


@responses.activate
def test_a_refused_folder_create_clears_the_marker():
    responses.post(f"{API}/folder", status=400, json={"message": "name is required."})
    ctx, saved = _ctx()
    with pytest.raises(pe.ProviderRejected, match="name is required"):
        PrintOSBox(CREDS, {}).push_order(ctx)
    assert ctx.checkpoint["folder_unanswered"] is None


def test_an_order_without_any_file_is_refused_before_any_request():
    with pytest.raises(pe.ProviderConfigError, match="files only"):
        PrintOSBox(CREDS, {}).push_order(_ctx(items=[contexts.item(1, file_urls=[])])[0])


@responses.activate
@pytest.mark.parametrize("status,message,error", [
    (400, "Not Authorized", pe.ProviderAuthError), (401, "Invalid signature.", pe.ProviderAuthError),
    (400, "copies must be a positive integer.", pe.ProviderRejected), (404, "Folder f1 not found.", pe.ProviderRejected),
])
def test_errors_keep_box_words(status, message, error):
    responses.post(f"{API}/folder", status=status, json={"error": "x", "message": message})
    with pytest.raises(error) as info:
        PrintOSBox(CREDS, {}).push_order(_ctx()[0])
    assert info.value.message == message and type(info.value) is error


@responses.activate
def test_status_is_folder_state_only_and_never_an_item_status():
    from tests.fuzz.corpus import push_refs

    responses.get(f"{API}/folder/1000001", json={"_id": "1000001", "status": "ready", "preflightStatus": "ok"})
    [update] = PrintOSBox(CREDS, {}).fetch_status_updates(push_refs())
    assert update.external_status == "folder ready, preflight ok"
    assert PrintOSBox.map_status(update.external_status) is None
    assert PrintOSBox.status_note == "Box does not report production status"


def test_staging_and_custom_servers():
    assert PrintOSBox({**CREDS, "server": "staging"}, {}).base_url == "https://stage.printos.api.hp.com/box"
    with pytest.raises(pe.ProviderConfigError):
        PrintOSBox({**CREDS, "server": "custom"}, {}).test_connection()
