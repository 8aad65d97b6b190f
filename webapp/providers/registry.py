"""Provider discovery. Every module or package in ``webapp.providers`` that defines a
``PROVIDER`` class is registered under ``PROVIDER.key`` — adding a provider means adding
one module; nothing else is edited. ``EMBEDDED_PROVIDER_MODULES`` (comma-separated dotted
module names) registers providers that live elsewhere — a private plugin, or the tests'
fake provider, which must also be known to a real worker process."""
from __future__ import annotations

import importlib
import os
import pkgutil
from functools import lru_cache

from .base import Provider

_FRAMEWORK_MODULES = {"base", "errors", "fields", "http", "ratelimit", "registry", "auth", "soap", "xml", "context",
                      "files", "requirements"}


@lru_cache(maxsize=1)
def _discover() -> dict[str, type[Provider]]:
    found: dict[str, type[Provider]] = {}
    package = importlib.import_module(__package__)
    names = [f"{__package__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
             if info.name not in _FRAMEWORK_MODULES and not info.name.startswith("_")]
    names += [name.strip() for name in os.environ.get("EMBEDDED_PROVIDER_MODULES", "").split(",") if name.strip()]
    for name in names:
        module = importlib.import_module(name)
        cls = getattr(module, "PROVIDER", None)
        if cls is None:
            continue
        if not (isinstance(cls, type) and issubclass(cls, Provider)):
            raise TypeError(f"{module.__name__}.PROVIDER is not a Provider subclass")
        if cls.key in found:
            raise ValueError(f"duplicate provider key {cls.key!r}")
        found[cls.key] = cls
    return dict(sorted(found.items(), key=lambda kv: kv[1].name.lower()))


def all_providers() -> dict[str, type[Provider]]:
    return _discover()


def get_provider_class(key: str) -> type[Provider]:
    try:
        return _discover()[key]
    except KeyError:
        raise KeyError(f"unknown provider {key!r}") from None
