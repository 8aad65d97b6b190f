"""Provider webhooks: the only CSRF-exempt routes. Thin: size check, hand over, answer."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..embedded import webhooks as intake
from ..extensions import csrf

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)


@bp.post("/<provider_key>/<token>")
def receive(provider_key: str, token: str):
    if request.content_length is not None and request.content_length > intake.MAX_BODY:
        return jsonify(error="payload too large"), 413
    body = request.stream.read(intake.MAX_BODY + 1)
    if len(body) > intake.MAX_BODY:
        return jsonify(error="payload too large"), 413
    result = intake.receive(provider_key, token, dict(request.headers), body)  # counts the outcome too
    reply, content_type = intake.reply(provider_key, result)
    return reply, result.status, {"Content-Type": content_type}
