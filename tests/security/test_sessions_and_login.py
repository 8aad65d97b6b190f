"""Login, redirects and sessions (issue 11, items 6, 7 and 8): one safe-redirect check for every
``next``, a fresh session at login and a server-side end at logout, an atomic login throttle,
the same password work for unknown addresses, and ProxyFix only when configured."""
from __future__ import annotations

import threading
import time
from urllib.parse import quote, urlsplit

import pytest

from webapp.blueprints.redirects import is_safe_path
from webapp.queue import get_redis

from .conftest import PASSWORD, login_client

HOSTILE_NEXT = ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\\evil.example", "\\/evil.example",
                "//evil.example", "///evil.example", "https://evil.example/", "http:/evil.example", "/ /evil.example",
                "javascript:alert(1)", "/\x00", "evil.example", "/" + "a" * 3000]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_never_redirects_off_site(app, world, target):
    client = app.test_client()
    response = client.post(f"/login?next={quote(target, safe='')}", data={"email": world.boss, "password": PASSWORD})
    if "\x00" in target:  # refused at the edge for every route, before the login
        assert response.status_code == 400
        return
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.netloc in ("", "localhost") and parts.path == "/", location


def test_a_local_next_is_kept_and_the_helper_agrees():
    assert is_safe_path("/orders?status=shipped") and is_safe_path("/sites/a/orders")
    assert is_safe_path("/orders/%0a")  # percent-encoded: it stays inside the path
    for target in HOSTILE_NEXT:
        assert not is_safe_path(target), target


def test_order_action_next_is_checked_by_the_same_helper(app, world):
    client = login_client(app, world.boss)
    for target in ("/\t/evil.example", "/\\evil.example", "https://evil.example"):
        response = client.post(f"/orders/{world.values['order_number']}/pay", data={"next": target})
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"]


def test_logout_ends_the_session_server_side(app, world):
    client = login_client(app, world.boss)
    captured = client.get_cookie("session").value
    assert client.get("/").status_code == 200
    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie("session", captured)
    response = replay.get("/")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    assert login_client(app, world.boss).get("/").status_code == 200  # a new login works


def test_login_starts_a_fresh_session(app, world):
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by-someone-else"
        session["csrf_token"] = "planted-token"
    client.post("/login", data={"email": world.boss, "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("csrf_token") != "planted-token"
        assert session.get("_user_id")


def test_parallel_wrong_passwords_are_checked_at_most_limit_times(app, world, monkeypatch):
    from webapp.models import Admin

    limit = app.config["LOGIN_MAX_FAILURES"]
    checks, gate = [], threading.Barrier(20, timeout=30)

    def slow_wrong_password(self, password):
        checks.append(password)
        time.sleep(0.1)  # a password hash takes a while: the window other attempts race through
        return False

    monkeypatch.setattr(Admin, "check_password", slow_wrong_password)
    statuses = []

    def attempt():
        client = app.test_client()
        gate.wait()
        statuses.append(client.post("/login", data={"email": world.boss, "password": "wrong"}).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == 20
    assert len(checks) <= limit, f"{len(checks)} passwords checked with a limit of {limit}"
    assert statuses.count(429) >= 20 - limit


def test_unknown_emails_cost_the_same_password_work(app, world, monkeypatch):
    from webapp.models import Admin

    calls = []
    real = Admin.check_password

    def counting(self, password):
        calls.append(self.email)
        return real(self, password)

    monkeypatch.setattr(Admin, "check_password", counting)
    client = app.test_client()
    assert client.post("/login", data={"email": "nobody@example.test", "password": "x"}).status_code == 401
    assert client.post("/login", data={"email": world.boss, "password": "wrong"}).status_code == 401
    assert len(calls) == 2, calls  # one hash check each: an unknown address is not answered faster


def _failed_login_address(app, headers: dict) -> set[str]:
    with app.app_context():
        get_redis().flushdb()
    app.test_client().post("/login", data={"email": "someone@example.test", "password": "x"}, headers=headers,
                           environ_base={"REMOTE_ADDR": "10.0.0.5"})
    with app.app_context():
        return {key.decode().split(":", 2)[2] for key in get_redis().keys("login-fail:ip:*")}


def test_forwarded_addresses_are_trusted_only_when_configured(app, world):
    from webapp import config as config_module
    from webapp import create_app

    spoof = {"X-Forwarded-For": "203.0.113.9"}
    assert _failed_login_address(app, spoof) == {"10.0.0.5"}  # default: the header is ignored

    class BehindOneProxy(config_module.TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        REDIS_URL = app.config["REDIS_URL"]
        TRUSTED_PROXIES = 1

    proxied = create_app(BehindOneProxy)
    assert _failed_login_address(proxied, spoof) == {"203.0.113.9"}
    https = proxied.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in https.headers  # the proxy's scheme counts too
