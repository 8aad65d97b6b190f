"""An account's one status, told the same way everywhere (account page, accounts list, site
cards, the connection-test panel, the go-live guard):

- ``ok``        verified: the last connection test or real call with these credentials worked;
- ``failing``   the last test failed, or a real call (push, synchronization, subscription) was
                refused the credentials — with the provider's reason (``auth_code``, ``auth_message``);
- ``untested``  never verified;
- ``changed``   not verified since its credentials or address changed.

Every connection test sets it; real calls move it only when it changes (a success on a verified
account writes nothing), so the push path pays no extra write per call.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from ..extensions import db
from ..models import ProviderAccount, utcnow
from ..providers import errors as pe
from ..providers.errors import ERROR_KINDS

OK, FAILING, UNTESTED, CHANGED = "ok", "failing", "untested", "changed"


@dataclass(frozen=True)
class Status:
    state: str
    label: str
    css: str
    icon: str
    reason: str
    at: datetime | None

    @property
    def verified(self) -> bool:
        return self.state == OK


def describe(account: ProviderAccount) -> Status:
    state, at = account.auth_state, account.auth_at
    if state == OK:
        return Status(OK, "Verified", "status-ok", "bi-check-circle", account.auth_message or "", at)
    if state == FAILING:
        label = ERROR_KINDS.get(account.auth_code or "unknown", ERROR_KINDS["unknown"])
        return Status(FAILING, f"Failing: {label}", "status-bad", "bi-x-circle",
                      account.auth_message or "", at)
    if state == CHANGED:
        return Status(CHANGED, "Not verified since the credentials changed", "status-awaiting", "bi-question-circle",
                      "Test the connection to verify the new credentials.", at)
    return Status(UNTESTED, "Not verified", "status-neutral", "bi-question-circle",
                  "The connection has not been tested yet.", at)


def _set(account: ProviderAccount, state: str, code: str | None, message: str | None) -> None:
    account.auth_state, account.auth_code = state, code
    account.auth_message = (message or "")[:1000] or None
    account.auth_at = utcnow()


def credentials_changed(account: ProviderAccount) -> None:
    """New credentials or address: nothing said about the old ones holds (the last test's
    result included), until the next test or real call."""
    _set(account, CHANGED, None, None)
    account.test_state = account.test_code = account.test_message = None
    account.test_started_at = account.test_finished_at = None


def test_finished(account: ProviderAccount, ok: bool, code: str | None, message: str) -> None:
    """A connection test's outcome is the status, whatever it was before (not committed)."""
    if ok:
        _set(account, OK, None, message)
    else:
        _set(account, FAILING, code or "unknown", message)


def call_succeeded(client) -> bool:
    """A real call through ``client`` (from clients.client_for) worked with the current
    credentials. Nothing is read or written when the account was verified when the client was
    built (the common case); otherwise one conditional UPDATE, committed (returns True)."""
    if getattr(client, "account_status", OK) == OK or client.account_id is None:
        return False
    db.session.execute(update(ProviderAccount)
                       .where(ProviderAccount.id == client.account_id, ProviderAccount.auth_state != OK)
                       .values(auth_state=OK, auth_code=None, auth_at=utcnow(),
                               auth_message="A call to the provider worked with these credentials."))
    db.session.commit()
    client.account_status = OK
    return True


def calls_accepted(client) -> bool:
    """The client got at least one answer from the account's own host that was not an error."""
    http = getattr(client, "_http", None)
    return bool(getattr(http, "accepted", 0))


def call_failed(account: ProviderAccount, exc: Exception, what: str) -> bool:
    """A real call was refused the credentials: the account is failing, with the provider's
    words. Other failures (timeouts, rejected orders) say nothing about the credentials.
    Not committed (the caller commits with its own state); True when it changed something."""
    if not isinstance(exc, pe.ProviderAuthError):
        return False
    message = f"{what}: {' '.join(exc.messages())}"
    if account.auth_state == FAILING and account.auth_code == exc.kind and account.auth_message == message[:1000]:
        return False
    _set(account, FAILING, exc.kind, message)
    return True


def credentials_refused(account: ProviderAccount) -> bool:
    """The provider refused these credentials (automatic work that needs them is skipped)."""
    return account.auth_state == FAILING and account.auth_code == "invalid_credentials"
