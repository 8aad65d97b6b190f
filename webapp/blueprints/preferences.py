"""Preferences panel. Embedded Services adds its sections here (issue 3)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("preferences", __name__, url_prefix="/preferences")

# Sections later modules add: (label, endpoint, visible()) — e.g. Embedded Services.
SECTIONS: list[dict] = []


def register_section(label: str, endpoint: str, visible=lambda: True, icon: str = "gear") -> None:
    SECTIONS[:] = [s for s in SECTIONS if s["endpoint"] != endpoint]
    SECTIONS.append({"label": label, "endpoint": endpoint, "visible": visible, "icon": icon})


@bp.route("/")
@login_required
def index():
    sections = [s for s in SECTIONS if s["visible"]()]
    return render_template("preferences/index.html", sections=sections)
