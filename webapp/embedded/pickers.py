"""Options for picker fields (Field.picker), fetched from the provider and cached in Redis
for every worker and web process; a provider failure gives an empty list and its reason —
the field stays a typed-in value."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from ..models import ProviderAccount
from ..providers import errors as pe
from .clients import client_for

log = logging.getLogger(__name__)

CACHE_SECONDS = 600
MAX_OPTIONS = 5000


@dataclass
class PickerOptions:
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""


def picker_options(account: ProviderAccount, entity_type: str, field_name: str, *, refresh: bool = False) -> PickerOptions:
    from ..queue import get_redis

    schema = account.provider.account_settings if entity_type == "account" else account.provider.schema_for(entity_type)
    spec = next((f for f in schema if f.name == field_name and f.picker), None)
    if spec is None:
        raise KeyError(f"{entity_type}.{field_name} is not a picker field")
    redis, key = get_redis(), f"embedded:picker:{account.id}:{entity_type}:{field_name}"
    cached = None if refresh else redis.get(key)
    if cached:
        return PickerOptions([tuple(o) for o in json.loads(cached)])
    client = client_for(account)
    try:
        options = [(str(value), str(label)) for value, label in getattr(client, spec.picker)()][:MAX_OPTIONS]
    except pe.ProviderError as exc:
        return PickerOptions(error=f"{account.provider.name}: {' '.join(exc.messages())} — type the value instead.")
    except Exception:  # a provider bug: the field still works typed in
        log.exception("picker %s.%s failed account=%s", entity_type, field_name, account.id)
        return PickerOptions(error="The list could not be loaded — type the value instead.")
    redis.set(key, json.dumps(options), ex=CACHE_SECONDS)
    return PickerOptions(options)
