"""tFLOW's token request through the shared HTTP layer, so it gets the same typed errors
(timeouts, 429 with Retry-After, HTML 5xx) and appears in the exchange log, with the secret
and the issued token redacted."""
from __future__ import annotations

from ..auth import OAuth2ClientCredentials
from ..errors import ProviderAuthError, ProviderRejected, ProviderResponseError
from ..http import ProviderHTTP


class TFlowToken(OAuth2ClientCredentials):
    def __init__(self, token_http: ProviderHTTP, path: str, client_id: str, client_secret: str, redis=None):
        super().__init__(token_http.url(path), client_id, client_secret, redis=redis)
        self.token_http, self.path = token_http, path

    def fetch_token(self) -> str:
        self.token_requests += 1
        try:
            body = self.token_http.request("POST", self.path, data={
                "grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret})
        except ProviderRejected as exc:  # OAuth answers invalid_client / invalid_grant with a 400
            if exc.status != 400:
                raise  # e.g. a redirect, refused and not followed
            raise ProviderAuthError(f"tFLOW refused the API key / secret key: {exc.message}", status=exc.status) from exc
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ProviderResponseError("tFLOW's token endpoint answered without an access_token.")
        for exchange in self.token_http.exchanges[-1:]:
            exchange.response_body = exchange.response_body.replace(token, "[redacted]")
        try:
            expires_in = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        self._store(token, expires_in if expires_in == expires_in and expires_in > 0 else 3600.0)
        return token
