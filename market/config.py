"""Settings from the environment, one class per MARKET_ENV. `.env.example` documents each variable."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path


def _instance_path() -> Path:
    return Path(os.environ.get("MARKET_INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))


class Config:
    MARKET_ENV = "development"
    # No default: production refuses to start without one; development makes a random key per instance
    # (instance/secret_key, mode 0600) so that no published key ever signs a session (market/auth/security.py).
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{_instance_path() / 'market.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR") or str(_instance_path() / "search-index")
    # a web process loads the index's caches at start and again after a reindex (market/search)
    SEARCH_WARM = os.environ.get("SEARCH_WARM", "1") == "1"
    EVIDENCE_DIR = os.environ.get("EVIDENCE_DIR") or str(_instance_path() / "evidence")
    # Every link in mail is built from SITE_URL, never from the request's Host. Production requires it.
    SITE_URL = os.environ.get("SITE_URL", "http://localhost:5000")
    # Host names this site answers to (comma-separated); other Host headers get 400. Production derives it
    # from SITE_URL when unset; development accepts any host.
    TRUSTED_HOSTS = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()] or None
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")  # console | file | smtp
    MAIL_FILE_DIR = os.environ.get("MAIL_FILE_DIR") or str(_instance_path() / "mail")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "noreply@ccxq-market.local")
    SMTP_HOST = os.environ.get("SMTP_HOST", "localhost")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    # Mail, index updates and alerts wait in the outbox table until a drain delivers them (market/outbox.py).
    # The scheduler drains every minute; with this on, a request that queued rows also drains them after
    # its response (development and tests; production leaves it to the scheduler).
    OUTBOX_DRAIN_AFTER_REQUEST = os.environ.get("OUTBOX_DRAIN_AFTER_REQUEST", "1") == "1"

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"  # Babel spells zh_CN this way (STACK.md)
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_Hans_CN": "中文", "en": "English"}
    BOOTSTRAP_SERVE_LOCAL = True  # closed networks: no CDN

    WTF_CSRF_TIME_LIMIT = None  # tied to the session; avoids spurious expiry on long forms
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = dt.timedelta(days=int(os.environ.get("REMEMBER_COOKIE_DAYS", "14")))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000"))  # Strict-Transport-Security, production only
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_MB", "20")) * 1024 * 1024

    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", "15"))
    # Rate limits (Flask-Limiter syntax, "N per minute;M per hour"), per client IP and per account.
    # memory:// counts per process: with several gunicorn workers point RATELIMIT_STORAGE_URI at Redis
    # (redis://host:6379) or Memcached so that the workers share one count.
    RATE_LIMITS_ENABLED = os.environ.get("RATE_LIMITS_ENABLED", "1") == "1"
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_LOGIN_PER_IP = os.environ.get("RATELIMIT_LOGIN_PER_IP", "30 per minute;300 per hour")
    RATELIMIT_LOGIN_PER_ACCOUNT = os.environ.get("RATELIMIT_LOGIN_PER_ACCOUNT", "10 per minute;50 per hour")
    RATELIMIT_REGISTER_PER_IP = os.environ.get("RATELIMIT_REGISTER_PER_IP", "10 per hour")
    RATELIMIT_REGISTER_PER_ACCOUNT = os.environ.get("RATELIMIT_REGISTER_PER_ACCOUNT", "5 per hour")
    RATELIMIT_RESET_PER_IP = os.environ.get("RATELIMIT_RESET_PER_IP", "10 per hour")
    RATELIMIT_RESET_PER_ACCOUNT = os.environ.get("RATELIMIT_RESET_PER_ACCOUNT", "5 per hour")
    RATELIMIT_SEARCH_API_PER_IP = os.environ.get("RATELIMIT_SEARCH_API_PER_IP", "120 per minute")
    RATELIMIT_SEARCH_API_PER_ACCOUNT = os.environ.get("RATELIMIT_SEARCH_API_PER_ACCOUNT", "120 per minute")
    # Number of reverse proxies in front of the app whose X-Forwarded-For is trusted (per-IP limits, logs).
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", "3600"))  # seconds
    INVITE_MAX_AGE = int(os.environ.get("INVITE_MAX_AGE", str(7 * 24 * 3600)))  # new members' set-password link
    SCHEDULER_LOCK_FILE = os.environ.get("SCHEDULER_LOCK_FILE")  # default: instance/scheduler.lock
    SCHEDULER_JOBSTORE_URL = os.environ.get("SCHEDULER_JOBSTORE_URL")  # unset: the app database; "memory": none
    LEDGER_SANITY_LIMIT_CNY = Decimal(os.environ.get("LEDGER_SANITY_LIMIT_CNY", "1000000000.00"))
    LEDGER_CHECKPOINT_FILE = os.environ.get("LEDGER_CHECKPOINT_FILE")  # default: instance/ledger-checkpoints.jsonl

    API_TITLE = "长春新区开放场景平台 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"


class DevelopmentConfig(Config):
    pass


class TestingConfig(Config):
    MARKET_ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False  # tests that check CSRF turn it back on
    MAIL_BACKEND = "memory"
    PASSWORD_HASH_FAST = True  # argon2 with low cost, only in tests
    RATE_LIMITS_ENABLED = False  # tests log in many times; tests of the limits turn them on
    HOME_CACHE_TTL = 0  # the home page's aggregates: every test sees its own data; the cache test sets a TTL
    SEARCH_WARM = False  # tests call search.services.warm themselves


class ProductionConfig(Config):
    MARKET_ENV = "production"
    SECRET_KEY = os.environ.get("SECRET_KEY")  # type: ignore[assignment]
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SITE_URL = os.environ.get("SITE_URL")  # type: ignore[assignment]  # required: links in mail
    OUTBOX_DRAIN_AFTER_REQUEST = os.environ.get("OUTBOX_DRAIN_AFTER_REQUEST", "0") == "1"  # the scheduler drains


CONFIGS = {"development": DevelopmentConfig, "testing": TestingConfig, "production": ProductionConfig}


def config_for_env() -> type[Config]:
    env = os.environ.get("MARKET_ENV", "development")
    if env not in CONFIGS:
        raise RuntimeError(f"MARKET_ENV must be one of {', '.join(CONFIGS)}, not {env!r}")
    return CONFIGS[env]
