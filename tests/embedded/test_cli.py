"""Ops CLI: providers, enable, account-add, activate, push, status."""
from __future__ import annotations

import json

from webapp.embedded import install


def test_providers_catalogue_json(app, app_ctx):
    install.enable_provider("shipstation")
    result = app.test_cli_runner().invoke(args=["embedded", "providers", "--json"])
    assert result.exit_code == 0, result.output
    [ss] = [p for p in json.loads(result.output) if p["key"] == "shipstation"]
    assert ss["enabled"] and ss["capabilities"]["push_orders"]


def test_account_add_and_activate(app, factory, sandbox):
    runner = app.test_cli_runner()
    site = factory.site(slug="cli-site")
    admin = factory.admin(email="cli@example.test", sites=[site])
    assert runner.invoke(args=["embedded", "enable", "shipstation"]).exit_code == 0
    bad = runner.invoke(args=["embedded", "account-add", "--name", "SS", "--provider", "shipstation",
                              "--admin", admin.email, "--credential", "api_key=k",
                              "--credential", "base_url=http://example.com"])
    assert bad.exit_code == 2
    assert "credentials.api_secret: API Secret is required." in bad.output
    assert "credentials.base_url: API URL must use https://." in bad.output
    ok = runner.invoke(args=["embedded", "account-add", "--name", "SS", "--provider", "shipstation",
                             "--admin", admin.email, "--credential", "api_key=k", "--credential", "api_secret=s",
                             "--credential", f"base_url={sandbox}/shipstation", "--setting", "store_id=5"])
    assert ok.exit_code == 0, ok.output
    account_id = int(ok.output.strip())
    live_first = runner.invoke(args=["embedded", "activate", "--account", str(account_id), "--site", "cli-site",
                                     "--live"])
    assert live_first.exit_code == 2 and "Enable the integration before making it live" in live_first.output
    guarded = runner.invoke(args=["embedded", "activate", "--account", str(account_id), "--site", "cli-site",
                                  "--enable", "--live"])
    assert guarded.exit_code == 3 and "never been tested" in guarded.output and "--confirm" in guarded.output
    done = runner.invoke(args=["embedded", "activate", "--account", str(account_id), "--site", "cli-site",
                               "--enable", "--live", "--confirm"])
    assert done.exit_code == 0 and "enabled=True live=True" in done.output
    other = factory.site(slug="no-access")
    refused = runner.invoke(args=["embedded", "activate", "--account", str(account_id), "--site", other.slug,
                                  "--enable"])
    assert refused.exit_code == 2 and "Invalid credentials" in refused.output


def test_push_and_status(app, factory, make_shipstation_account, run_worker):
    runner = app.test_cli_runner()
    site = factory.site()
    account, sim = make_shipstation_account(site)
    unpaid = factory.order(site, number="CLI-1", paid=False, items=[{"approval": "approved"}])
    refused = runner.invoke(args=["embedded", "push", "CLI-1"])
    assert refused.exit_code == 1 and "not marked as paid" in refused.output
    factory.order(site, number="CLI-2", paid=True, items=[{"approval": "approved"}])
    queued = runner.invoke(args=["embedded", "push", "CLI-2"])
    assert queued.exit_code == 0 and "queued" in queued.output
    run_worker()
    status = runner.invoke(args=["embedded", "status", "CLI-2", "--json"])
    report = json.loads(status.output)
    [entry] = report["accounts"]
    assert entry["state"] == "pushed" and entry["external_id"] and entry["pushed_at"]
    assert entry["items"][0]["number"] == "CLI-2-1" and entry["items"][0]["external_id"]
    assert unpaid.number == "CLI-1"
