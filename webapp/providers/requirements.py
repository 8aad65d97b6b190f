"""Requirements on core fields (the storefront's own values, not provider settings): e.g.
Presswise needs the site's MIS ID in digits, Tharstern cXML a product Integration ID, a
provider a shipping method's Integration ID. Declared on the provider as
``core_requirements``; checked before a push with the same "push refused" reasons as missing
settings, and listed in the catalogue."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# entity -> core attributes a provider may require, with the words an admin sees
CORE_ATTRIBUTES = {
    "site": {"mis_id": "MIS ID", "integration_id": "Integration ID"},
    "product": {"integration_id": "Integration ID"},
    "shipping_method": {"integration_id": "Integration ID"},
}
WHERE = {"site": "the site's settings", "product": "the product's settings",
         "shipping_method": "the shipping method's settings"}


@dataclass(frozen=True)
class CoreRequirement:
    entity: str                  # site / product / shipping_method
    attribute: str               # mis_id / integration_id
    regex: str | None = None     # the value must match in full, e.g. r"\d+"
    rule: str = ""               # the regex in words, e.g. "digits only"

    def __post_init__(self):
        if self.attribute not in CORE_ATTRIBUTES.get(self.entity, {}):
            raise ValueError(f"no core field {self.entity}.{self.attribute}")

    @property
    def label(self) -> str:
        return CORE_ATTRIBUTES[self.entity][self.attribute]

    def problem(self, value: str | None, subject: str, provider_name: str) -> str | None:
        value = (value or "").strip()
        if not value:
            return f"{subject}: {self.label} is missing; {provider_name} needs it ({WHERE[self.entity]})."
        if self.regex and not re.fullmatch(self.regex, value):
            return f"{subject}: {self.label} {value!r} is not valid for {provider_name}" \
                   + (f" ({self.rule})." if self.rule else ".")
        return None

    def describe(self) -> dict:
        return {**asdict(self), "label": self.label}


def core_problems(provider, ctx) -> list[str]:
    """Reasons a push is refused for this order's core values, one per entity."""
    problems = []
    for req in provider.core_requirements:
        if req.entity == "site":
            value = ctx.site_mis_id if req.attribute == "mis_id" else ctx.site_integration_id
            problems.append(req.problem(value, f"Site {ctx.site_name}", provider.name))
        elif req.entity == "product":
            problems += [req.problem(item.product_integration_id, f"Item {item.number} ({item.sku})", provider.name)
                         for item in ctx.items]
        else:
            seen = set()
            for item in ctx.items:
                method = item.shipping_method
                if method is None or method.name in seen:
                    continue
                seen.add(method.name)
                problems.append(req.problem(method.integration_id, f"Shipping method {method.name!r}", provider.name))
    return [p for p in problems if p]
