"""Admin login/logout with throttling shared through Redis."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from redis.exceptions import RedisError
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from ..auth_throttle import LoginThrottle
from ..sessions import end_sessions, start_session, verify_login
from .redirects import safe_next

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


class LoginForm(FlaskForm):
    # Format only (name@host): a malformed address gets its own message instead of counting as
    # a failed login; whether the account exists is still never revealed.
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), Regexp(
        r"^[^@\s]+@[^@\s]+$", message="Enter an email address such as name@example.com.")])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("dashboard.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        try:
            throttle = LoginThrottle.for_request(email, request.remote_addr or "-")
            wait = throttle.acquire()  # checks and counts this attempt in one atomic step
        except RedisError:
            # Without the shared failure counters logins cannot be throttled: refuse them
            # (fail closed) with a clear message rather than a 500; open sessions keep working.
            log.exception("login refused: throttle store unavailable")
            form.password.errors.append("Signing in is temporarily unavailable. Try again in a minute.")
            return render_template("auth/login.html", form=form), 503
        if wait:
            log.warning("login throttled email=%s ip=%s", email, request.remote_addr)
            form.password.errors.append(
                f"Too many failed attempts. Try again in {max(1, wait // 60)} minute(s).")
            status = 429
        else:
            admin = verify_login(email, form.password.data)
            if admin is not None:
                throttle.succeeded()
                start_session(admin)
                log.info("login ok admin=%s", admin.id)
                return redirect(_safe_next(request.args.get("next")))
            log.info("login failed email=%s ip=%s", email, request.remote_addr)
            form.password.errors.append("Wrong email or password.")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    end_sessions(current_user._get_current_object())
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
