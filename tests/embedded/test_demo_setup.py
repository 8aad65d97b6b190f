"""`make run`'s demo wiring is provider-neutral: every provider that declares a demo account
gets it on its simulator, live on the declared sites, and a second run changes nothing."""
from sandbox import simulator_urls
from webapp.embedded.demo import setup_demo_accounts
from webapp.models import ProviderAccount, SiteActivation
from webapp.providers.registry import all_providers
from webapp.storefront.demo import seed_demo


def test_every_declared_demo_account_is_wired_and_works(app_ctx, sandbox):
    seed_demo()
    first = setup_demo_accounts(sandbox)
    urls = simulator_urls(sandbox)  # each simulator's own server, at its provider's real paths
    declared = {key: p.demo_account(urls[key]) for key, p in all_providers().items()}
    declared = {key: demo for key, demo in declared.items() if demo is not None}
    assert "shipstation" in declared and set(first["accounts"]) == set(declared)
    for key, demo in declared.items():
        assert demo.credentials["base_url"].startswith(urls[key]) and f"/{key}" not in demo.credentials["base_url"]
        account = ProviderAccount.query.filter_by(name=demo.name).one()
        assert account.provider_key == key
        live = {a.site.slug for a in SiteActivation.query.filter_by(account_id=account.id, is_live=True)}
        assert live == set(demo.live_on)
        # The declared credentials reach the simulator: the connection test passes.
        assert account.provider.for_account(account).test_connection()
    second = setup_demo_accounts(sandbox)
    assert {k: v["account_id"] for k, v in second["accounts"].items()} == \
        {k: v["account_id"] for k, v in first["accounts"].items()}
    assert ProviderAccount.query.count() == len(declared)
