"""Access-log redaction: a webhook URL's last segment is the account's secret token, and access
logs (Werkzeug's, gunicorn's) print every request path. The token is replaced before any
handler sees the line."""
from __future__ import annotations

import logging
import re

WEBHOOK_TOKEN = re.compile(r"(/webhooks/[^/\s?\"']+/)[^/\s?\"']+")
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def redact(text: str) -> str:
    return WEBHOOK_TOKEN.sub(r"\1[token]", text)


class RedactWebhookTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is left to the handler's own error path
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install() -> None:
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactWebhookTokens) for f in logger.filters):
            logger.addFilter(RedactWebhookTokens())
