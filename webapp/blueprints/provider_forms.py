"""WTForms built from a provider's declared ``Schema``.

The form only renders and collects raw values; validation stays in ``Schema.clean`` (the
same code the CLI and the use-cases run), and its messages are put back on the fields.
Secrets are never handed to a field: a stored secret shows as an empty password input
with a placeholder, and posting it empty keeps the stored value (``Schema.clean`` does that).
"""
from __future__ import annotations

from typing import Any, Mapping

from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.form import BaseForm

try:  # WTForms >= 3.3 deprecates plain (value, label) tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)

from ..providers.fields import Field, Schema

STORED_SECRET_PLACEHOLDER = "•••••••• (stored — leave empty to keep)"
_NONE_CHOICE = ("", "— none —")


def _unbound(f: Field, *, has_stored_secret: bool):
    kw: dict[str, Any] = {"label": f.label, "description": f.help}
    render_kw: dict[str, Any] = {}
    if f.type in ("string", "url", "int", "decimal", "secret"):
        render_kw["maxlength"] = f.max_length
    if f.picker:  # typed-in text with suggestions from the provider (a <datalist> loaded by HTMX)
        render_kw["list"] = f"picker-{f.name}"
    if f.type == "secret":
        # PasswordField never writes its value back into the HTML (hide_value).
        render_kw["autocomplete"] = "new-password"
        if has_stored_secret:
            render_kw["placeholder"] = STORED_SECRET_PLACEHOLDER
        return PasswordField(render_kw=render_kw, **kw)
    if f.type == "bool":
        return BooleanField(**kw)
    if f.type == "choice":
        choices = [SelectChoice(value, label) for value, label in f.choices]
        if f.default in (None, ""):
            choices.insert(0, SelectChoice(*_NONE_CHOICE))
        # validate_choice=False: an unknown value must reach Schema.clean and get its message.
        return SelectField(choices=choices, validate_choice=False, **kw)
    if f.type == "text":
        return TextAreaField(render_kw={"rows": 3}, **kw)
    if f.type == "int":
        render_kw["inputmode"] = "numeric"
    elif f.type == "decimal":
        render_kw["inputmode"] = "decimal"
    elif f.type == "url":
        render_kw.update(inputmode="url", spellcheck="false")
    # Plain text inputs even for numbers: the browser must not pre-empt Schema.clean's message.
    return StringField(render_kw=render_kw, **kw)


class SchemaForm(BaseForm):
    """A ``BaseForm`` (not a ``Form`` subclass) so a field called e.g. ``data`` or
    ``errors`` cannot collide with form attributes."""

    def __init__(self, schema: Schema, *, prefix: str = "", stored: Mapping | None = None):
        self.schema = schema
        self.stored = dict(stored or {})
        self.stored_secrets = {name for name in schema.secret_names if self.stored.get(name)}
        fields = [(f.name, _unbound(f, has_stored_secret=f.name in self.stored_secrets)) for f in schema]
        super().__init__(fields, prefix=prefix)  # BaseForm adds the "-" separator
        self.declared = {f.name: f for f in schema}
        self.form_errors: list[str] = []

    # ---- building ------------------------------------------------------------------
    def initial_data(self) -> dict:
        """Stored values (never secrets), else the declared defaults."""
        data = {}
        for f in self.schema:
            if f.secret:
                continue
            value = self.stored.get(f.name, f.default)
            if value is None:
                continue
            data[f.name] = bool(value) if f.type == "bool" else (value if f.type == "choice" else str(value))
        return data

    def load(self, formdata=None, *, keep_unposted_bools: bool = False) -> "SchemaForm":
        """Fill from stored/defaults, then from ``formdata`` when given.

        ``keep_unposted_bools``: for the provider-swap request, where a missing checkbox
        means "not on the page yet" rather than "unchecked"."""
        initial = self.initial_data()
        self.process(formdata, data=initial)
        if formdata is not None and keep_unposted_bools:
            for f in self.schema:
                if f.type == "bool" and self[f.name].name not in formdata:
                    self[f.name].data = bool(initial.get(f.name, False))
        return self

    # ---- collecting and validating --------------------------------------------------
    def raw_values(self) -> dict:
        """What the user sent, keyed by schema name, ready for ``Schema.clean``."""
        out = {}
        for f in self.schema:
            value = self[f.name].data
            if f.type == "bool":
                out[f.name] = bool(value)
            else:
                out[f.name] = "" if value is None else value
        return out

    def apply_errors(self, errors: Mapping[str, str]) -> None:
        """Put Schema.clean / use-case messages on their fields (others go to form_errors)."""
        for name, message in errors.items():
            if name in self.declared:
                self[name].errors = list(self[name].errors or []) + [message]
            else:
                self.form_errors.append(message)

    def clean(self, *, existing: Mapping | None = None, allow_loopback: bool = False) -> tuple[dict, dict]:
        """Validate with the schema itself and show its messages; returns (values, errors)."""
        for field in self:
            field.errors = []
        values, errors = self.schema.clean(self.raw_values(), existing=dict(existing or {}),
                                           allow_loopback=allow_loopback)
        self.apply_errors(errors)
        return values, errors

    @property
    def has_errors(self) -> bool:
        return bool(self.form_errors) or any(field.errors for field in self)

    def is_required(self, name: str) -> bool:
        f = self.declared[name]
        # A stored secret is not required again: leaving it empty keeps it.
        return f.required and f.default in (None, "") and name not in self.stored_secrets


def choices(pairs) -> list:
    """(value, label) pairs in the form WTForms wants."""
    return [SelectChoice(value, label) for value, label in pairs]


def schema_form(schema: Schema, *, prefix: str = "", stored: Mapping | None = None, formdata=None,
                keep_unposted_bools: bool = False) -> SchemaForm:
    return SchemaForm(schema, prefix=prefix, stored=stored).load(formdata, keep_unposted_bools=keep_unposted_bools)


def split_errors(errors: Mapping[str, str], prefix: str) -> dict[str, str]:
    """``{"credentials.api_key": msg}`` → ``{"api_key": msg}`` for ``prefix="credentials"``."""
    head = f"{prefix}."
    return {key[len(head):]: message for key, message in errors.items() if key.startswith(head)}
