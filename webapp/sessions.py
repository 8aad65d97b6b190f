"""Admin sessions: a fresh session at login, server-side revocation at logout.

The session cookie is signed but lives in the browser; a copy taken before logout would keep
working on its own. So the user id it carries includes the admin's ``session_version``, and
logout increments that version: every cookie issued before is refused from then on (all of
that admin's sessions end — "log out everywhere")."""
from __future__ import annotations

from flask import current_app, g, session
from flask_login import login_user, logout_user
from sqlalchemy import update

from .extensions import db
from .models import Admin

MAX_ID = 2**31 - 1


def admin_for_session(session_id: str) -> Admin | None:
    admin_id, _, version = str(session_id).partition(":")
    if not (admin_id.isdigit() and version.isdigit()) or int(admin_id) > MAX_ID:
        return None  # also cookies from before versions existed: a new login is needed
    admin = db.session.get(Admin, int(admin_id))
    if admin is None or (admin.session_version or 0) != int(version):
        return None
    return admin


def start_session(admin: Admin) -> None:
    """Nothing from the anonymous session (or a planted one) is carried into the login; the
    CSRF token is new too (Flask-WTF also caches it in ``g`` for the request)."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    login_user(admin)


def end_sessions(admin: Admin) -> None:
    db.session.execute(update(Admin).where(Admin.id == admin.id)
                       .values(session_version=Admin.session_version + 1))
    db.session.commit()
    logout_user()
    session.clear()


_DUMMY_HASH: list[str] = []


def verify_login(email: str, password: str) -> Admin | None:
    """The admin for these credentials, or None. An unknown or inactive address costs the
    same password-hash work as a known one, so timing does not tell which addresses exist."""
    admin = Admin.query.filter_by(email=email).first()
    if admin is None:
        if not _DUMMY_HASH:  # same method and cost as real hashes (made once per process)
            from werkzeug.security import generate_password_hash
            _DUMMY_HASH.append(generate_password_hash("not-a-password"))
        Admin(password_hash=_DUMMY_HASH[0]).check_password(password)
        return None
    ok = admin.check_password(password)
    return admin if ok and admin.active else None
