"""Artwork for providers: described as URLs (name, type, role), downloaded with a size cap
where a provider needs the bytes, uploaded as multipart or to a pre-signed URL.

Our credentials only ever go to the account's own host: ProviderHTTP sends a request to any
other host (an S3 pre-signed URL, the storefront's file server) with no auth and none of the
client's sensitive headers, and outside the provider's rate limit.

[PROPOSED] Roles: the storefront stores no role per file, so files get roles by position —
the first "front", the second "back", any further "page-3", "page-4"… A provider whose
vocabulary differs (cover, insert…) maps these names in its own payload mapping.
"""
from __future__ import annotations

import mimetypes
import posixpath
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from . import errors as e

DOWNLOAD_LIMIT = 200 * 1024 * 1024   # default cap on one artwork file
CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileRef:
    url: str
    name: str
    content_type: str
    role: str
    kind: str = "upload"      # storefront file kind: upload (customer artwork) or edoc (generated)


def role_for(position: int) -> str:
    return {1: "front", 2: "back"}.get(position, f"page-{position}")


def file_ref(url: str, position: int, kind: str = "upload") -> FileRef:
    name = posixpath.basename(unquote(urlsplit(url).path)) or f"file-{position}"
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileRef(url=url, name=name, content_type=content_type, role=role_for(position), kind=kind)


def download(http, url: str, *, max_bytes: int = DOWNLOAD_LIMIT) -> bytes:
    """Fetch a file through ``http`` (logged, typed errors, no redirects), streaming and
    stopping at ``max_bytes``: a file announced or found larger is refused, never read whole."""
    response = http.request("GET", url, expect="stream")
    try:
        announced = response.headers.get("Content-Length")
        if announced and announced.isdigit() and int(announced) > max_bytes:
            raise e.ProviderRejected(f"{_name(url)} is {int(announced) // (1024 * 1024)} MB, over the "
                                     f"{max_bytes // (1024 * 1024)} MB limit for artwork; it was not downloaded.")
        data = bytearray()
        for chunk in response.iter_content(CHUNK):
            data += chunk
            if len(data) > max_bytes:
                raise e.ProviderRejected(f"{_name(url)} is over the {max_bytes // (1024 * 1024)} MB limit for "
                                         f"artwork; the download was stopped.")
        return bytes(data)
    finally:
        response.close()


def upload_presigned(http, put_url: str, data: bytes, content_type: str, *, headers: dict | None = None) -> None:
    """PUT the bytes to a pre-signed URL the provider handed us (S3 and the like): the URL
    itself is the authorization, so no auth header goes with it."""
    http.request("PUT", put_url, data=data, auth=None, expect="raw",
                 headers={"Content-Type": content_type, **(headers or {})})


def upload_multipart(http, path: str, ref: FileRef, data: bytes, *, field: str = "file", form: dict | None = None):
    """POST one file as multipart/form-data to the provider's own API (its auth applies)."""
    return http.request("POST", path, data=form or {}, files={field: (ref.name, data, ref.content_type)})


def _name(url: str) -> str:
    return posixpath.basename(urlsplit(url).path) or "The file"
