"""The test-side handle's shared half (``sandbox/<key>/testing.py``): control calls that name the
handle's tenant, and the provider-neutral ``stats()`` the resilience and use-case suites read
(``{"orders", "duplicates", "rate_limited", "requests"}``)."""
from __future__ import annotations

from typing import ClassVar

import requests

TIMEOUT = 10


class ControlHandle:
    """Mixin for a dataclass with ``api_base`` and the attribute named by `credential_field`."""

    api_base: str
    credential_field: ClassVar[str]          # the control routes' name for the tenant ("token", "user"…)
    duplicates_stat: ClassVar[str] = "duplicates"

    def _control(self, method: str, path: str, **payload) -> dict:
        name = self.credential_field
        tenant = {name: getattr(self, name)}
        response = requests.request(method, f"{self.api_base}/_sim/{path}", params=tenant,
                                    json={**tenant, **payload} if method != "GET" else None, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        raw = self._control("GET", "stats")
        return {"orders": raw["orders"], "duplicates": raw[self.duplicates_stat],
                "rate_limited": raw["rate_limited"], "requests": raw["requests"]}
