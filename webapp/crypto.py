"""Encryption at rest for provider credentials (Fernet: AES-128-CBC + HMAC-SHA256)."""
from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy.types import Text, TypeDecorator


def _fernet() -> Fernet:
    key = current_app.config.get("CREDENTIALS_KEY")
    if not key:
        raise RuntimeError("CREDENTIALS_KEY is not configured")
    return Fernet(key.encode() if isinstance(key, str) else key)


def encrypt_json(value: dict) -> str:
    return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def encrypt_text(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str | bytes) -> str | None:
    """The clear text, or None when it was written under another key (the caller fetches anew)."""
    try:
        return _fernet().decrypt(token if isinstance(token, bytes) else token.encode()).decode()
    except InvalidToken:
        return None


def decrypt_json(token: str) -> dict:
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:  # wrong key or tampered row: never guess, never leak
        raise RuntimeError("stored credentials cannot be decrypted with the configured CREDENTIALS_KEY") from exc


class EncryptedJSON(TypeDecorator):
    """A JSON object stored as a Fernet token; the clear text never reaches the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt_json(value)

    def process_result_value(self, value, dialect):
        return None if value is None else decrypt_json(value)
