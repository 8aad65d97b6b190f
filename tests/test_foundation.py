"""App factory, worker round trip, login and throttling."""
from __future__ import annotations

from rq.job import Job

from webapp.queue import PUSH, get_queue, get_redis


def test_job_round_trip_through_real_worker(app_ctx, run_worker):
    job = get_queue(PUSH).enqueue("webapp.queue.ping_job", "hello")
    run_worker()
    fetched = Job.fetch(job.id, connection=get_redis())
    assert fetched.get_status() == "finished"
    assert fetched.return_value() == "pong:hello"


def test_login_logout(client, factory, login):
    admin = factory.admin(email="ops@example.test")
    assert client.get("/").status_code == 302  # anonymous → login
    login(admin)
    page = client.get("/")
    assert page.status_code == 200
    assert admin.name in page.get_data(as_text=True)
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_has_clear_message(client, factory):
    admin = factory.admin()
    response = client.post("/login", data={"email": admin.email, "password": "nope"})
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_repeated_failures_are_throttled_even_with_right_password(client, factory, app):
    admin = factory.admin()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert client.post("/login", data={"email": admin.email, "password": "bad"}).status_code == 401
    response = client.post("/login", data={"email": admin.email, "password": "secret-pass"})
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_csrf_is_enforced(app, factory, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    admin = factory.admin()
    client = app.test_client()
    response = client.post("/login", data={"email": admin.email, "password": "secret-pass"})
    assert response.status_code == 400  # no token → refused, never logged in
    assert client.get("/").status_code == 302


def test_security_headers(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_static_assets_are_served_locally(client):
    for path in ("/vendor/htmx/htmx.min.js", "/bootstrap/static/css/bootstrap.min.css", "/static/css/app.css"):
        assert client.get(path).status_code == 200, path
