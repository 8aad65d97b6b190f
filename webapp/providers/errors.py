"""Typed provider errors. Use-cases decide retry/stop from these, never from HTTP codes."""
from __future__ import annotations


class ProviderError(Exception):
    """Base class. ``kind`` is one of the fixed codes shown to users."""

    kind = "unknown"
    transient = False       # worth retrying later
    ambiguous = False       # the provider may have acted on the request (look up before re-creating)

    def __init__(self, message: str, *, status: int | None = None, field_errors: dict | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field_errors = field_errors or {}
        self.retry_after = retry_after

    def messages(self) -> list[str]:
        """The provider's own words, field by field when it gave them."""
        if not self.field_errors:
            return [self.message]
        lines = [self.message] if self.message else []
        for field, errors in self.field_errors.items():
            for error in errors if isinstance(errors, (list, tuple)) else [errors]:
                lines.append(f"{field}: {error}" if field else str(error))
        return lines


class ProviderAuthError(ProviderError):
    kind = "invalid_credentials"


class ProviderConnectError(ProviderError):
    """Could not reach the provider; the request never left, so it is safe to resend."""

    kind = "cannot_connect"
    transient = True


class ProviderTimeout(ProviderError):
    """Sent, but no answer in time: the provider may have processed it."""

    kind = "cannot_connect"
    transient = True
    ambiguous = True


class ProviderRateLimited(ProviderError):
    kind = "rate_limited"
    transient = True


class ProviderTransientError(ProviderError):
    """5xx / 408: the provider failed; it may or may not have acted."""

    kind = "unknown"
    transient = True
    ambiguous = True


class ProviderRejected(ProviderError):
    """The provider refused the request (validation, business rule). Retrying will not help."""

    kind = "rejected"


class ProviderResponseError(ProviderError):
    """The answer could not be understood (HTML instead of JSON, truncated, hostile XML)."""

    kind = "unknown"
    transient = True
    ambiguous = True


class ProviderConfigError(ProviderError):
    """Our side is not set up for this (missing mapping, required setting)."""

    kind = "configuration"


def in_body(kind: str, message: str, *, field_errors: dict | None = None,
            retry_after: float | None = None) -> ProviderError:
    """The typed error for a failure a provider reports inside a successful HTTP answer
    (SOAP fault, cXML Status, an error code or result flag in the body). ``kind``:
    "auth" (credentials refused: stop, the account needs attention), "rejected" (the
    provider's own words, retrying will not help) or "transient" (try again later)."""
    cls = {"auth": ProviderAuthError, "rejected": ProviderRejected, "transient": ProviderTransientError}[kind]
    return cls(message, field_errors=field_errors, retry_after=retry_after)


def kind_for_code(code: int) -> str:
    """HTTP-like status codes carried in a body (cXML ``Status code``): the in_body kind."""
    if code in (401, 403):
        return "auth"
    if code in (408, 429) or code >= 500:
        return "transient"
    return "rejected"


class ProviderCrash(ProviderError):
    """Provider code raised something that is not a ProviderError: a bug, or an answer it did
    not foresee. It counts as an attempt and is retried up to the cap (it may have happened
    after the provider acted, hence ambiguous: a retry looks up or re-sends idempotently)."""

    kind = "unknown"
    transient = True
    ambiguous = True

    @classmethod
    def wrapping(cls, exc: BaseException) -> "ProviderCrash":
        return cls(f"Unexpected error: {type(exc).__name__}: {exc}"[:1000])


class ProviderNotSupported(ProviderError):
    """The provider does not offer this operation (its capabilities do not declare it).
    A use-case checks capabilities first, so meeting this means a wiring bug, said plainly."""

    kind = "unsupported"

    def __init__(self, provider_name: str, operation: str):
        super().__init__(f"{operation} is not supported by {provider_name}.")
        self.operation = operation


ERROR_KINDS = {
    "invalid_credentials": "Invalid credentials",
    "cannot_connect": "Cannot connect",
    "rate_limited": "Rate limited",
    "unknown": "Unknown error",
    "rejected": "Rejected by the provider",
    "configuration": "Configuration needed",
    "unsupported": "Not supported by the provider",
}
