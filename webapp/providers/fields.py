"""Declared fields: one declaration per provider setting drives validation, masking, forms
and the catalogue (the Apprise/Redash pattern)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

SECRET_PLACEHOLDER = "••••••••"

TYPES = ("string", "secret", "url", "int", "decimal", "bool", "choice", "text")


class FieldError(ValueError):
    pass


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str = "string"
    required: bool = False
    default: Any = None
    help: str = ""
    regex: str | None = None
    choices: tuple[tuple[str, str], ...] = ()
    min: float | None = None
    max: float | None = None
    max_length: int = 500
    # A picker: the name of a provider method returning [(value, label)] (tFLOW products,
    # VeraCore offers). The value stays typed-in text validated as usual: the list helps,
    # it never blocks (the provider may be down, or the list incomplete).
    picker: str = ""

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"field {self.name}: a choice field needs choices")

    @property
    def secret(self) -> bool:
        return self.type == "secret"

    def describe(self) -> dict:
        return {"name": self.name, "label": self.label, "type": self.type, "required": self.required,
                "secret": self.secret, "default": self.default, "help": self.help,
                "choices": [list(c) for c in self.choices] or None, "picker": bool(self.picker)}

    def clean(self, raw: Any, *, allow_loopback: bool = False) -> Any:
        """Return the typed value, None when empty, or raise FieldError with a user message."""
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            if self.type == "bool":
                return False
            if self.required and self.default in (None, ""):
                raise FieldError(f"{self.label} is required.")
            return self.default
        if self.type == "bool":
            if isinstance(raw, bool):
                return raw
            value = str(raw).strip().lower()
            if value in {"1", "true", "yes", "on", "y"}:
                return True
            if value in {"0", "false", "no", "off", "n"}:
                return False
            raise FieldError(f"{self.label} must be yes or no.")
        text = str(raw).strip()
        if len(text) > self.max_length:
            raise FieldError(f"{self.label} must be at most {self.max_length} characters.")
        if self.type == "int":
            try:
                value = int(text)
            except ValueError:
                raise FieldError(f"{self.label} must be a whole number.") from None
            return self._in_range(value)
        if self.type == "decimal":
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise FieldError(f"{self.label} must be a number.") from None
            if not value.is_finite():
                raise FieldError(f"{self.label} must be a number.")
            return str(self._in_range(value))
        if self.type == "choice":
            if text not in {c[0] for c in self.choices}:
                raise FieldError(f"{self.label}: choose one of {', '.join(c[1] for c in self.choices)}.")
            return text
        if self.type == "url":
            return check_provider_url(text, allow_loopback=allow_loopback, label=self.label)
        if self.regex and not re.fullmatch(self.regex, text):
            raise FieldError(f"{self.label} is not in the expected format. {self.help}".strip())
        return text

    def _in_range(self, value):
        if self.min is not None and value < self.min:
            raise FieldError(f"{self.label} must be at least {self.min:g}.")
        if self.max is not None and value > self.max:
            raise FieldError(f"{self.label} must be at most {self.max:g}.")
        return value


def check_provider_url(url: str, *, allow_loopback: bool, label: str = "URL") -> str:
    """https only; plain http solely for loopback hosts when the install allows it. The host
    must not be (or resolve to) this machine or the internal network (see urlguard, which
    checks again at connection time)."""
    from . import urlguard

    try:
        parts = urlguard.parse_sent_url(url)
    except ValueError as exc:
        if "credentials" in str(exc):
            raise FieldError(f"{label} must not contain a user name or password.") from None
        if "http(s)" in str(exc) or "valid" in str(exc):
            raise FieldError(f"{label} must be a full https:// address.") from None
        raise FieldError(f"{label} must not contain {str(exc).split(' are ')[0]}.") from None
    if parts.fragment is not None:
        raise FieldError(f"{label} must not contain a #fragment.")
    loopback = urlguard.is_loopback_name(parts.host)
    try:
        urlguard.check_host(parts.host, parts.port, allow_loopback=allow_loopback)
    except urlguard.BlockedAddress as exc:
        if loopback or "loopback" in str(exc):
            raise FieldError(f"{label} points at this machine; that is only allowed in a demo or test install.") \
                from None
        raise FieldError(f"{label} must be a public address ({exc}).") from None
    if parts.scheme == "http" and not loopback:
        raise FieldError(f"{label} must use https://.")
    return url.rstrip("/")


@dataclass
class Schema:
    """An ordered group of fields (credentials, account settings, per-entity settings)."""

    fields: tuple[Field, ...] = ()

    def __iter__(self):
        return iter(self.fields)

    def __bool__(self):
        return bool(self.fields)

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def secret_names(self) -> set[str]:
        return {f.name for f in self.fields if f.secret}

    def clean(self, data: dict, *, existing: dict | None = None, allow_loopback: bool = False,
              partial: bool = False) -> tuple[dict, dict[str, str]]:
        """Validate ``data``; an empty secret keeps the stored one. Returns (values, errors)."""
        existing = existing or {}
        values, errors = {}, {}
        for f in self.fields:
            raw = data.get(f.name)
            if partial and f.name not in data:
                if f.name in existing:
                    values[f.name] = existing[f.name]
                continue
            if f.secret and (raw is None or str(raw).strip() in ("", SECRET_PLACEHOLDER)) and existing.get(f.name):
                values[f.name] = existing[f.name]
                continue
            try:
                values[f.name] = f.clean(raw, allow_loopback=allow_loopback)
            except FieldError as exc:
                errors[f.name] = str(exc)
        unknown = set(data) - set(self.names())
        for name in sorted(unknown):
            errors[name] = f"Unknown setting {name!r}."
        return values, errors

    def masked(self, values: dict | None, everything: bool = False) -> dict:
        """Values safe to show or log: secrets replaced by a placeholder (with ``everything``,
        every value but URLs, choices and yes/no: API keys and user names too)."""
        values = values or {}

        def hidden(f: Field) -> bool:
            return f.secret or (everything and f.type not in ("url", "choice", "bool"))

        return {f.name: (SECRET_PLACEHOLDER if hidden(f) and values.get(f.name) else values.get(f.name))
                for f in self.fields}

    def describe(self) -> list[dict]:
        return [f.describe() for f in self.fields]


def schema(*fields: Field) -> Schema:
    names = [f.name for f in fields]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate field names in {names}")
    return Schema(tuple(fields))
