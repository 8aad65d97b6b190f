"""HP PrintOS Box: one Box folder per order, each item's production files added by URL.

Facts: providers-part1.md §3. PrintOS HMAC (``x-hp-hmac-*``, SHA-256, "METHOD path" + date,
path after the ``/box`` service prefix, no query). Box is a file inbox, not an order API: no
shipping, no tracking, no idempotency key (folder names are not unique), so the folder id is
checkpointed the moment it exists and every added file too — a retry adds only what is
missing. A folder create that got no answer is not retried blindly (nothing could find the folder):
the push stops with the reason and the admin's next Push Order creates it. Box reports folder/file state (e.g. ``ready``, preflight) but no production status:
the order tab says so (``status_note``) and item statuses are never changed from Box.

Assumptions:
- [UNCERTAIN] error body shape: ``{message}`` or ``{error}`` text; a wrong signature may be 400 or
  401 — a 400 whose words say "authoriz…"/"signature" is treated as a credential error.
- [UNCERTAIN] full status vocabularies: raw folder ``status`` / ``preflightStatus`` are stored.
- Files go by URL (Box fetches them). The pre-signed upload route (``uploadurls``) is not used:
  the storefront's file URLs are public fetch URLs, which is what Box's ``url`` field takes.
"""
from __future__ import annotations

import re
from typing import Iterator
from urllib.parse import urlsplit

from ..auth import PrintOSHMAC
from ..base import Capabilities, DemoAccount, Provider
from ..context import ItemPushResult, OrderContext, PushResult, StatusUpdate
from ..errors import (ProviderAuthError, ProviderConfigError, ProviderError, ProviderRejected,
                      ProviderResponseError, ProviderTimeout)
from ..fields import Field, schema
from ..http import ProviderHTTP

SERVERS = {"production": "https://printos.api.hp.com/box", "staging": "https://stage.printos.api.hp.com/box"}
_AUTH_WORDS = re.compile(r"authori[sz]|signature|hmac", re.I)
_ID = re.compile(r"[A-Za-z0-9_\-]{1,100}")


def file_name(url: str, fallback: str) -> str:
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name[:200] or fallback


class PrintOSBox(Provider):
    key = "printos_box"
    name = "HP PrintOS Box"
    description = ("Files: each order becomes a PrintOS Box folder holding its items' production files (added by "
                   "URL, with copies and notes). Box does not report production status: folder and preflight state "
                   "only. Assumption: Box's error shapes and status vocabularies are undocumented.")
    docs_url = "https://developers.hp.com/printos/doc/box-documentation"
    default_base_url = SERVERS["production"]
    capabilities = Capabilities(push_orders=True, order_lookup=True, status_polling=True)
    credentials = schema(
        Field("key", "Key", required=True, max_length=200, regex=r"[A-Za-z0-9_\-.]+",
              help="PrintOS → Marketplace → Application Connectors (a Box key with an order-creation role)."),
        Field("secret", "Secret", type="secret", required=True, max_length=300),
        Field("server", "Server", type="choice", default="production", choices=(
            ("production", "Production (printos.api.hp.com)"), ("staging", "Staging (stage.printos.api.hp.com)"),
            ("custom", "Custom URL"))),
        Field("base_url", "Custom server URL", type="url", help="Required with Server = Custom URL; when set it replaces the server's host (ends in /box)."),
    )
    account_settings = schema(
        Field("reply_to", "Reply-to e-mail", max_length=200, regex=r"[^@\s]+@[^@\s]+",
              help="Sent as the folder's 'from'; empty uses the order's customer e-mail."),
        Field("recipient", "Recipient", max_length=200, help="Sent as the folder's 'to' (optional)."),
    )
    product_settings = schema(
        Field("substrate", "Box substrate", max_length=200, help="Optional; must be one of Box's substrates."),
        Field("flow", "Box flow", max_length=200, help="Optional; the name of a Box flow."),
    )
    status_map: dict = {}  # Box has no production status to map
    status_note = "Box does not report production status"
    webhook_auth = "none"
    repush = "noop"
    repush_note = "A re-push reuses the order's folder and adds only files not added yet."

    @property
    def base_url(self) -> str:
        server = self.credentials_values.get("server") or "production"
        url = self.credentials_values.get("base_url")
        if server == "custom" and not url:
            raise ProviderConfigError("Server is Custom URL but no Custom server URL is set.")
        return url or SERVERS.get(server, SERVERS["production"])

    def build_http(self) -> ProviderHTTP:
        creds = self.credentials_values
        auth = PrintOSHMAC(creds.get("key", ""), creds.get("secret", ""), service_prefix=urlsplit(self.base_url).path)
        return super().build_http(auth=auth)

    def call(self, method: str, path: str, **kw):
        try:
            return self.http.request(method, path, **kw)
        except ProviderRejected as exc:
            if exc.status == 400 and _AUTH_WORDS.search(exc.message or ""):  # PrintOS: "400 Not Authorized"
                raise ProviderAuthError(exc.message, status=400) from exc
            raise

    @classmethod
    def demo_account(cls, simulator_url: str) -> DemoAccount:
        # "demo-key"/"demo-secret" is the simulator's built-in PrintOS key pair.
        return DemoAccount(name="HP PrintOS Box (sandbox)", live_on=("promo-shop",),
                           credentials={"key": "demo-key", "secret": "demo-secret", "server": "custom",
                                        "base_url": simulator_url.rstrip("/")},
                           settings={"reply_to": "prepress@northwind-print.test"})

    def test_connection(self) -> str:
        body = self.call("GET", "/api/partner/flow")
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise ProviderResponseError("Box answered /api/partner/flow without an items list.")
        return f"Connected to PrintOS Box ({len(body['items'])} flow{'s' if len(body['items']) != 1 else ''})."

    # ---- push ---------------------------------------------------------------------
    @staticmethod
    def file_key(item, index: int) -> str:
        return f"file:{item.external_number}:{index}"

    def push_order(self, ctx: OrderContext) -> PushResult:
        if not any(item.file_urls for item in ctx.items):
            raise ProviderConfigError("No item of this order has a production file: PrintOS Box receives files only.")
        folder_id = ctx.checkpoint.get("folder_id") or ctx.existing_external_id
        if not folder_id:
            folder_id = self._create_folder(ctx)
        results = []
        for item in ctx.items:
            file_ids = []
            for index, url in enumerate(item.file_urls, 1):
                key = self.file_key(item, index)
                if not ctx.checkpoint.get(key):
                    body = {"url": url, "name": file_name(url, f"{item.external_number}-{index}.pdf"),
                            "folderId": folder_id, "copies": max(1, int(item.quantity)),
                            "notes": f"{item.external_number}: {item.name}"[:500]}
                    for setting in ("substrate", "flow"):
                        if item.product_settings.get(setting):
                            body[setting] = item.product_settings[setting]
                    created = self.call("POST", "/api/partner/file", json=body)
                    file_id = created.get("_id") if isinstance(created, dict) else None
                    if not isinstance(file_id, str) or not file_id:
                        raise ProviderResponseError("Box added a file but did not return its _id.")
                    ctx.remember(key, file_id)
                file_ids.append(ctx.checkpoint[key])
            results.append(ItemPushResult(line_number=item.line_number, external_id=",".join(file_ids) or folder_id,
                                          external_number=item.external_number,
                                          external_status="files added" if file_ids else "no file",
                                          external_order_id=folder_id))
        return PushResult(external_id=folder_id, external_number=ctx.external_number, items=results,
                          external_status="files added")

    def find_order(self, ctx: OrderContext) -> PushResult | None:
        """Called after a failure that may have reached Box. With a known folder the push simply
        continues (None). Without one, the folder may exist and Box cannot look it up: stop once
        with the reason (the admin checks Box); the next Push Order creates it."""
        folder_id = ctx.checkpoint.get("folder_id") or ctx.existing_external_id
        if folder_id:
            if _ID.fullmatch(str(folder_id)):
                self.call("GET", f"/api/partner/folder/{folder_id}")  # it is there: the push goes on adding files
            return None
        if ctx.checkpoint.get("unknown_folder_reported"):
            return None
        ctx.remember("unknown_folder_reported", True)
        raise ProviderRejected(self._unanswered_message(ctx))

    @staticmethod
    def _unanswered_message(ctx: OrderContext) -> str:
        return (f"An earlier attempt to create the Box folder {ctx.external_number!r} got no answer, and Box offers "
                f"no way to look a folder up: it may exist. Check Box; if the folder is not there, click Push Order "
                f"to create it.")

    def _create_folder(self, ctx: OrderContext) -> str:
        """Box has no idempotency key and no folder look-up: when a create got no answer (timeout,
        unreadable answer, worker killed), the folder may exist and nothing can find it. Rather than
        risk a second folder, the next attempt stops with the reason; the Push Order after that
        (the admin checked Box) creates it."""
        if ctx.checkpoint.get("folder_unanswered"):
            ctx.remember("folder_unanswered", None)
            raise ProviderRejected(self._unanswered_message(ctx))
        ctx.remember("folder_unanswered", True)
        try:
            folder = self.call("POST", "/api/partner/folder", json={k: v for k, v in {
                "name": ctx.external_number, "from": self.settings.get("reply_to") or ctx.customer.email or None,
                "to": self.settings.get("recipient") or None}.items() if v})
        except (ProviderTimeout, ProviderResponseError):
            raise  # sent, no usable answer: the marker stays
        except ProviderError:
            ctx.remember("folder_unanswered", None)  # Box answered (refused) or the request never left
            raise
        folder_id = folder.get("_id") if isinstance(folder, dict) else None
        if not isinstance(folder_id, str) or not _ID.fullmatch(folder_id):
            raise ProviderResponseError("Box created the folder but did not return its _id.")
        ctx.remember("folder_id", folder_id)  # before any file: a retry reuses this folder
        return folder_id

    # ---- status -------------------------------------------------------------------
    def fetch_status_updates(self, refs) -> Iterator[StatusUpdate]:
        """Folder state as Box reports it (status, preflight); never a production status."""
        for ref in refs:
            if not ref.external_id or not _ID.fullmatch(ref.external_id):
                continue
            try:
                folder = self.call("GET", f"/api/partner/folder/{ref.external_id}")
            except ProviderRejected as exc:
                if exc.status == 404:
                    yield StatusUpdate(push_key=ref.idempotency_key, external_status="folder not found")
                    continue
                raise
            if not isinstance(folder, dict):
                raise ProviderResponseError("Box answered a folder read without a folder.")
            parts = [f"folder {folder.get('status')}" if folder.get("status") else "",
                     f"preflight {folder.get('preflightStatus')}" if folder.get("preflightStatus") else ""]
            yield StatusUpdate(push_key=ref.idempotency_key, external_status=", ".join(p for p in parts if p),
                               external_order_id=ref.external_id)


PROVIDER = PrintOSBox
