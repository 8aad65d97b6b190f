"""Entity settings without the browser: set one entity's settings by its natural key (CLI),
and import a product mapping from CSV (CLI and the account page). Same validation as the
forms (the provider's declared schema, through activation.save_entity_settings /
set_activation); a bad row is reported with its reason and never stops the good ones.

Settings exist only where the account is enabled: a SKU, category name, e-mail or method
name is looked up on every site of the account's company where the account is enabled.
Values not given keep what is stored (a partial update).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from ..models import Category, Product, ProviderAccount, ShippingMethod, Site, SiteActivation, SiteUser
from .activation import entity_settings, save_entity_settings, set_activation

NATURAL_KEYS = {"product": (Product, "sku", "product with SKU"), "category": (Category, "name", "category named"),
                "site_user": (SiteUser, "email", "user with e-mail"),
                "shipping_method": (ShippingMethod, "name", "shipping method named")}
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@dataclass
class Outcome:
    where: str                        # e.g. "product BC-1 on northwind-b2b"
    errors: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _enabled_site_ids(account: ProviderAccount, within: list[int] | None = None) -> list[int]:
    query = SiteActivation.query.join(Site, Site.id == SiteActivation.site_id).filter(
        SiteActivation.account_id == account.id, SiteActivation.enabled.is_(True),
        Site.company_id == account.company_id)
    if within is not None:  # an admin's visible sites
        query = query.filter(SiteActivation.site_id.in_(within))
    return [a.site_id for a in query.order_by(SiteActivation.site_id)]


def set_settings(account: ProviderAccount, entity_type: str, natural: str, values: dict,
                 site_ids: list[int] | None = None) -> list[Outcome]:
    """Set ``values`` on the site (slug) or on every matching entity; one Outcome each.
    ``site_ids`` limits the sites looked at (the admin's visible sites; None = all)."""
    if entity_type == "site":
        site = Site.query.filter_by(slug=natural, company_id=account.company_id).first()
        if site is not None and site_ids is not None and site.id not in site_ids:
            site = None
        activation = site and SiteActivation.query.filter_by(account_id=account.id, site_id=site.id).first()
        if not activation or not activation.enabled:
            return [Outcome(f"site {natural}", {"site": f"{account.name} is not enabled on a site {natural!r}."})]
        if not account.provider.site_settings:
            return [Outcome(f"site {natural}", {"site": f"{account.provider.name} has no site settings."})]
        result = set_activation(account, site, settings={**(activation.settings or {}), **values})
        return [Outcome(f"site {natural}", {k.removeprefix("settings."): v for k, v in result.errors.items()})]
    model, column, words = NATURAL_KEYS[entity_type]
    if not account.provider.schema_for(entity_type):
        return [Outcome(f"{entity_type} {natural}", {entity_type: f"{account.provider.name} has no "
                                                                   f"{entity_type.replace('_', ' ')} settings."})]
    rows = model.query.filter(model.site_id.in_(_enabled_site_ids(account, site_ids)),
                              getattr(model, column) == natural).order_by(model.site_id).all()
    if not rows:
        return [Outcome(f"{entity_type} {natural}",
                        {entity_type: f"No {words} {natural!r} on a site where {account.name} is enabled."})]
    outcomes = []
    for row in rows:
        stored = entity_settings(account.id, entity_type, row.id)
        errors = save_entity_settings(account, entity_type, row.id, {**stored, **values})
        outcomes.append(Outcome(f"{entity_type.replace('_', ' ')} {natural} on {row.site.slug}", errors))
    return outcomes


@dataclass
class MapImport:
    saved: int = 0                                     # products updated
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)   # (CSV line, reason)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_product_map(account: ProviderAccount, data: bytes | str, site_ids: list[int] | None = None) -> MapImport:
    """CSV with a ``sku`` column and one column per product setting of the provider (empty
    cell = keep the stored value). Each good row is saved; each bad one is reported."""
    report = MapImport()
    if isinstance(data, bytes):
        if len(data) > MAX_IMPORT_BYTES:
            report.errors.append((0, f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB."))
            return report
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            report.errors.append((0, "The file is not UTF-8 text (save the sheet as \"CSV UTF-8\")."))
            return report
    schema = account.provider.product_settings
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff")))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    unknown = [c for c in columns if c not in ("sku", *schema.names())]
    if "sku" not in columns or unknown or not schema:
        report.errors.append((1, "The first line must name a \"sku\" column and product settings of "
                                 f"{account.provider.name} ({', '.join(schema.names()) or 'none'})"
                                 + (f"; unknown column(s): {', '.join(unknown)}." if unknown else ".")))
        return report
    for row in reader:
        line = reader.line_num
        report.rows += 1
        cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            report.errors.append((line, "More cells than columns."))
            continue
        sku = cells.pop("sku", "")
        if not sku:
            report.errors.append((line, "No SKU."))
            continue
        outcomes = set_settings(account, "product", sku, {k: v for k, v in cells.items() if v != ""}, site_ids)
        bad = [o for o in outcomes if not o.ok]
        report.saved += len(outcomes) - len(bad)
        for outcome in bad:
            reasons = "; ".join(f"{name}: {message}" if name not in ("product",) else message
                                for name, message in outcome.errors.items())
            report.errors.append((line, f"SKU {sku}: {reasons}"))
    return report
