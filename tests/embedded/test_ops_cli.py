"""§11 ops without the browser: connection test, entity settings and the CSV product map,
with the same validation as the forms."""
from __future__ import annotations

from webapp.embedded.activation import activation_for, entity_settings
from webapp.extensions import db


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["embedded", *map(str, args)])


def test_connection_test_prints_the_answer_and_exits_1_on_failure(app, factory, make_shipstation_account):
    site = factory.site()
    account, sim = make_shipstation_account(site)
    ok = _run(app, "test", "--account", account.id)
    assert ok.exit_code == 0 and "OK" in ok.output, ok.output + ok.stderr
    account.credentials = {**account.credentials, "api_secret": "wrong-secret-123"}
    db.session.commit()
    bad = _run(app, "test", "--account", account.id)
    assert bad.exit_code == 1 and "FAILED" in bad.stderr
    assert "wrong-secret-123" not in bad.stderr + bad.output
    assert _run(app, "test", "--account", 9999).exit_code == 2


def test_settings_per_entity_with_the_forms_validation(app, factory, make_shipstation_account):
    site, other = factory.site(), factory.site()
    account, _ = make_shipstation_account(site)
    make_shipstation_account(other)  # another account: its own settings
    activation_for(account, site)
    p1 = factory.product(site, sku="BC-1")
    factory.product(other, sku="BC-1")              # a site where this account is not enabled
    method = factory.shipping_method(site, name="Express")

    done = _run(app, "settings", "--account", account.id, "--product", "BC-1", "shipstation_sku=SS-BC1",
                "shipstation_product_id=42")
    assert done.exit_code == 0 and f"product BC-1 on {site.slug}: saved" in done.output, done.stderr
    assert entity_settings(account.id, "product", p1.id) == {"shipstation_sku": "SS-BC1", "shipstation_product_id": 42}
    # partial: the other value is kept
    assert _run(app, "settings", "--account", account.id, "--product", "BC-1", "shipstation_sku=SS-2").exit_code == 0
    assert entity_settings(account.id, "product", p1.id)["shipstation_product_id"] == 42

    bad = _run(app, "settings", "--account", account.id, "--product", "BC-1", "shipstation_product_id=abc", "x=1")
    assert bad.exit_code == 2
    assert "shipstation_product_id: ShipStation product ID must be a whole number." in bad.stderr
    assert "x: Unknown setting 'x'." in bad.stderr
    assert entity_settings(account.id, "product", p1.id)["shipstation_sku"] == "SS-2"   # nothing lost

    assert _run(app, "settings", "--account", account.id, "--shipping-method", "Express",
                "service=ups:ups_ground").exit_code == 0
    assert entity_settings(account.id, "shipping_method", method.id) == {"service": "ups:ups_ground"}
    site_done = _run(app, "settings", "--account", account.id, "--site", site.slug, "store_id=7")
    assert site_done.exit_code == 0, site_done.stderr
    db.session.expire_all()
    assert activation_for(account, site).settings["store_id"] == 7
    assert "must be at least 1" in _run(app, "settings", "--account", account.id, "--site", site.slug,
                                        "store_id=0").stderr
    missing = _run(app, "settings", "--account", account.id, "--product", "NOPE", "shipstation_sku=x")
    assert missing.exit_code == 2 and "No product with SKU 'NOPE'" in missing.stderr
    assert "has no site user settings" in _run(app, "settings", "--account", account.id, "--user",
                                               "a@b.test", "k=v").stderr
    assert _run(app, "settings", "--account", account.id, "--site", site.slug, "--product", "BC-1",
                "k=v").exit_code == 2


def test_map_import_saves_good_rows_and_reports_each_bad_one(app, factory, make_shipstation_account, tmp_path):
    site = factory.site()
    account, _ = make_shipstation_account(site)
    products = {sku: factory.product(site, sku=sku) for sku in ("A-1", "A-2", "A-3")}
    csv_file = tmp_path / "map.csv"
    csv_file.write_text("\ufeffsku,shipstation_sku,shipstation_product_id\n"
                        "A-1,SS-A1,11\n"
                        "A-2,SS-A2,not-a-number\n"
                        "GONE,SS-X,1\n"
                        ",SS-Y,2\n"
                        "A-3,SS-A3,\n", encoding="utf-8")
    result = _run(app, "map-import", "--account", account.id, csv_file)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: line 3: SKU A-2: shipstation_product_id: ShipStation product ID must be a whole number.",
        f"Error: line 4: SKU GONE: No product with SKU 'GONE' on a site where {account.name} is enabled.",
        "Error: line 5: No SKU."]
    assert "5 row(s) read, 2 product setting(s) saved, 3 error(s)." in result.output
    assert entity_settings(account.id, "product", products["A-1"].id) == {"shipstation_sku": "SS-A1",
                                                                         "shipstation_product_id": 11}
    assert entity_settings(account.id, "product", products["A-2"].id) == {}
    assert entity_settings(account.id, "product", products["A-3"].id)["shipstation_sku"] == "SS-A3"
    csv_file.write_text("sku,colour\nA-1,red\n")
    header = _run(app, "map-import", "--account", account.id, csv_file)
    assert header.exit_code == 1 and "unknown column(s): colour" in header.stderr


def test_the_same_csv_import_on_the_account_page(app, client, login, factory, make_shipstation_account):
    import io

    site, hidden = factory.site(), factory.site()
    account, _ = make_shipstation_account(site)
    from webapp.embedded.activation import set_activation
    assert set_activation(account, hidden, enabled=True).ok
    mine, theirs = factory.product(site, sku="P-1"), factory.product(hidden, sku="P-1")
    login(factory.admin(sites=[site]))      # sees one of the two sites
    page = client.get(f"/preferences/embedded/accounts/{account.id}").get_data(as_text=True)
    assert "sku,shipstation_sku,shipstation_product_id" in page
    answer = client.post(f"/preferences/embedded/accounts/{account.id}/product-map", data={
        "csv_file": (io.BytesIO(b"sku,shipstation_sku,shipstation_product_id\nP-1,SS-P1,5\nP-1,SS-P1,x\n"), "map.csv")},
        content_type="multipart/form-data")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "2 row(s) read, 1 product setting(s) saved, 1 error(s)." in html
    assert "Line 3: SKU P-1: shipstation_product_id: ShipStation product ID must be a whole number." in html
    assert entity_settings(account.id, "product", mine.id)["shipstation_product_id"] == 5
    assert entity_settings(account.id, "product", theirs.id) == {}      # not a site this admin can see
