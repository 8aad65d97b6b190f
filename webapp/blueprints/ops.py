"""Preferences › Operations (company-wide admins): the machinery live over HTMX, and the
failed-job actions. Reads and actions live in webapp.ops.machinery."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..ops import machinery
from .preferences import register_section

bp = Blueprint("ops", __name__, url_prefix="/preferences/operations")


def _company_wide() -> bool:
    return bool(current_user.is_authenticated and current_user.is_super)


register_section("Operations", "ops.index", visible=_company_wide, icon="cpu")


@bp.before_request
@login_required
def _only_company_wide_admins():
    if not _company_wide():
        abort(404)


@bp.get("/")
def index():
    return render_template("ops/index.html", shot=machinery.snapshot(current_user.company_id))


@bp.get("/panel")
def panel():
    return render_template("ops/_panel.html", shot=machinery.snapshot(current_user.company_id))


@bp.post("/failed/<job_id>/<action>")
def failed_job(job_id: str, action: str):
    handlers = {"requeue": (machinery.requeue_failed, "Requeued"), "delete": (machinery.delete_failed, "Deleted")}
    if action not in handlers:
        abort(404)
    handler, done = handlers[action]
    try:
        description = handler(job_id)
        flash(f"{done}: {description}.", "success")
    except machinery.UnknownJob:
        flash("That job is no longer in the failed registry.", "warning")
    if request.headers.get("HX-Request"):
        return render_template("ops/_panel.html", shot=machinery.snapshot(current_user.company_id))
    return redirect(url_for("ops.index"))
