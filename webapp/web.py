"""Cross-cutting web behaviour: login loading, security headers, error pages, static assets
from registry packages, template helpers."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Blueprint, Flask, has_request_context, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import db, login_manager

log = logging.getLogger(__name__)

# htmx ships as plain static files inside the django-js-lib-htmx wheel (no Django needed).
import js_lib_htmx  # noqa: E402

HTMX_STATIC = Path(js_lib_htmx.__file__).resolve().parent / "static" / "htmx"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)


class _SecureWhenHttps(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS (directly or through
    a trusted proxy), not only when HUB_ENV=production says so."""

    def get_cookie_secure(self, app) -> bool:
        return bool(super().get_cookie_secure(app) or (has_request_context() and request.is_secure))

    def open_session(self, app, request):
        # A provider's webhook never carries our cookie and its route never reads a session:
        # no signing serializer, cookie parse or Set-Cookie work on the busiest route. An empty
        # session, not Flask's null one: an error page there (a 404 for a bad URL) may still
        # write to it (its CSRF token) and must not fail.
        if request.path.startswith(WEBHOOK_PATH):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if has_request_context() and request.path.startswith(WEBHOOK_PATH):
            return  # never a cookie for a provider
        super().save_session(app, session, response)


WEBHOOK_PATH = "/webhooks/"  # blueprints.webhooks' url_prefix
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(values) -> bool:
    return any("\x00" in value for _, items in values.lists() for value in items)


def init_web(app: Flask) -> None:
    from .blueprints.params import DbIntConverter
    app.url_map.converters["int"] = DbIntConverter  # before any route is added
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)
    app.session_interface = _SecureWhenHttps()
    vendor = Blueprint("vendor", __name__, static_folder=str(HTMX_STATIC), static_url_path="/vendor/htmx")
    app.register_blueprint(vendor)

    @login_manager.user_loader
    def load_admin(session_id: str):
        from .sessions import admin_for_session
        return admin_for_session(session_id)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.headers.get("HX-Request"):
            response.headers.add("Vary", "HX-Request")
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        log.warning("csrf rejected path=%s reason=%s", request.path, err.description)
        if request.headers.get("HX-Request"):
            # htmx does not swap a 400; reload the page so the admin gets a fresh token.
            return "", 400, {"HX-Refresh": "true"}
        return render_template("errors/error.html", code=400, title="Form expired",
                               message="Your form expired or was sent without its security token. "
                                       "Reload the page and try again."), 400

    @app.before_request
    def refuse_nul_characters():
        # A NUL is never meaningful in a query string or a form, and PostgreSQL text refuses it
        # (a search for it was a 500). Webhook bodies are read raw by their own route.
        if _has_nul(request.args) or (request.blueprint != "webhooks" and request.mimetype in FORM_TYPES
                                      and _has_nul(request.form)):
            log.warning("request refused path=%s reason=NUL character", request.path)
            return render_template("errors/error.html", code=400, title="Bad request",
                                   message="The request contained a NUL character."), 400

    @app.errorhandler(404)
    def not_found(err):
        return render_template("errors/error.html", code=404, title="Not found",
                               message="That page does not exist or you do not have access to it."), 404

    @app.errorhandler(500)
    def server_error(err):
        db.session.rollback()
        log.exception("unhandled error on %s", request.path)
        return render_template("errors/error.html", code=500, title="Something went wrong",
                               message="The error was logged. Nothing you saved was lost."), 500

    @app.context_processor
    def layout_context():
        from .blueprints.nav import nav_items
        return {"nav_items": nav_items() if current_user.is_authenticated else []}

    from . import filters
    filters.register(app)
