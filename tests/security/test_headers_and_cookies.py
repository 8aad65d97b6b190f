"""Browser-side hardening: a CSP without inline script (and templates that need none),
frame denial and no-sniff on every kind of response, secure session cookies in the
production configuration, and login throttling."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from webapp import config as config_module
from webapp import create_app

from .conftest import PASSWORD, csrf_token_from, login_client

TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "templates"
JINJA = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
SCRIPT_BODY = re.compile(r"<script\b[^>]*>(.*?)</script>", re.I | re.S)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\s(on[a-z]+)\s*=", re.I | re.S)
HX_ON = re.compile(r"\shx-on[:\-a-z]*\s*=", re.I)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def _check_headers(response, where):
    csp = response.headers.get("Content-Security-Policy", "")
    directives = _directives(csp)
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src, (where, csp)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, (where, csp)
    assert not any(s in ("*", "data:", "http:", "https:") for s in script_src), (where, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (where, csp)
    assert directives.get("object-src", directives.get("default-src")) in (["'none'"], ["'self'"]), (where, csp)
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where


def _html_problems(text: str) -> list[str]:
    problems = []
    for match in SCRIPT_BODY.finditer(text):
        if match.group(1).strip():
            problems.append(f"inline <script> body: {match.group(1).strip()[:60]!r}")
    problems += [f"inline script tag: {m.group(0)[:60]}" for m in INLINE_SCRIPT.finditer(text)]
    problems += [f"event handler attribute {m.group(1)}" for m in EVENT_HANDLER.finditer(text)]
    problems += [f"hx-on attribute: {m.group(0).strip()}" for m in HX_ON.finditer(text)]
    problems += [f"javascript: URL: {m.group(0)}" for m in JS_URL.finditer(text)]
    return problems


def test_templates_contain_no_inline_script_or_handlers():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) >= 20
    problems = {}
    for path in templates:
        found = _html_problems(JINJA.sub(" ", path.read_text()))
        if found:
            problems[str(path.relative_to(TEMPLATES))] = found
    assert not problems, problems


def test_every_kind_of_response_carries_the_security_headers(app, world):
    client = login_client(app, world.boss)
    pages = {
        "dashboard": client.get("/"),
        "orders": client.get("/orders"),
        "order": client.get("/orders/T-0001"),
        "order push tab": client.get("/orders/T-0001/embedded"),
        "site settings": client.get("/sites/theirs/settings"),
        "preferences": client.get("/preferences/embedded/"),
        "htmx partial": client.get("/orders/T-0001/embedded/panel", headers={"HX-Request": "true"}),
        "404": client.get("/no/such/page"),
        "static": client.get("/static/css/app.css"),
        "vendor js": client.get("/vendor/htmx/htmx.min.js"),
        "webhook json": app.test_client().post("/webhooks/shipstation/not-a-token", json={}),
        "login page": app.test_client().get("/login"),
    }
    for name, response in pages.items():
        assert response.status_code in (200, 404), (name, response.status_code)
        _check_headers(response, name)
        if response.mimetype == "text/html":
            assert not _html_problems(response.get_data(as_text=True)), (name, _html_problems(
                response.get_data(as_text=True)))


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("HUB_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "prod-secret-key-for-tests-0123456789")
    monkeypatch.setenv("CREDENTIALS_KEY", "q3ZtM2Gd2c2vH1m8b0m1k2z9y8x7w6v5u4t3s2r1q0A=")


def test_production_config_secures_cookies_and_demands_secrets(production_env, monkeypatch):
    assert config_module.resolve() is config_module.ProductionConfig
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert not app.testing and not app.debug
    for name in ("SECRET_KEY", "CREDENTIALS_KEY"):
        monkeypatch.delenv(name)
        with pytest.raises(RuntimeError, match=name):
            create_app()
        monkeypatch.setenv(name, "x" * 44 if name == "SECRET_KEY" else "q3ZtM2Gd2c2vH1m8b0m1k2z9y8x7w6v5u4t3s2r1q0A=")


def test_production_session_cookie_is_secure_httponly_samesite(app, world, production_env):
    class Production(config_module.ProductionConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        REDIS_URL = app.config["REDIS_URL"]

    prod = create_app(Production)
    client = prod.test_client()
    page = client.get("/login", base_url="https://hub.example.test")
    response = client.post("/login", base_url="https://hub.example.test",
                           headers={"Referer": "https://hub.example.test/login"},
                           data={"email": world.boss, "password": PASSWORD,
                                 "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    attributes = {part.strip().split("=")[0].lower() for part in cookies[-1].split(";")}
    assert {"secure", "httponly", "samesite"} <= attributes, cookies[-1]
    assert "samesite=lax" in cookies[-1].lower()


def test_login_is_throttled_per_email_and_per_address(app, world):
    limit = app.config["LOGIN_MAX_FAILURES"]
    client = app.test_client()
    for _ in range(limit):
        assert client.post("/login", data={"email": world.boss, "password": "wrong"}).status_code == 401
    locked = client.post("/login", data={"email": world.boss, "password": PASSWORD})
    assert locked.status_code == 429 and "Too many failed attempts" in locked.get_data(as_text=True)
    # Another account from the same address is still allowed (below the address limit) ...
    assert client.post("/login", data={"email": world.restricted, "password": PASSWORD}).status_code == 302
    # ... until the address itself has failed too often, whatever the email.
    other = app.test_client()
    for n in range(limit * 4):
        other.post("/login", data={"email": f"nobody{n}@example.test", "password": "wrong"})
    blocked = other.post("/login", data={"email": world.restricted, "password": PASSWORD})
    assert blocked.status_code == 429
