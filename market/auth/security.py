"""Start-up checks and per-response defences: the secret key, trusted hosts, security headers, rate limits.

``check_config(app)`` runs right after the configuration is loaded; ``init_security(app)`` after every
blueprint is registered (the rate limits wrap their view functions).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import SecurityError

log = logging.getLogger("market.auth")

SECRET_KEY_FILE = "secret_key"

# Content-Security-Policy: no inline script and no inline style anywhere (templates use static files
# under market/static/ only); nothing may frame the site.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# ---------------------------------------------------------------- configuration


def check_config(app: Flask) -> None:
    """Refuse to start when production lacks what it needs; give development its own secret key."""
    config = app.config
    env = config["MARKET_ENV"]
    if env == "production":
        if not config.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set when MARKET_ENV=production")
        if not config.get("SITE_URL"):
            raise RuntimeError("SITE_URL must be set when MARKET_ENV=production (links in mail are built from it)")
        if not config.get("TRUSTED_HOSTS"):
            config["TRUSTED_HOSTS"] = [urlsplit(config["SITE_URL"]).hostname]
    elif not config.get("SECRET_KEY"):
        if not os.environ.get("MARKET_ENV") and not config.get("MARKET_ENV_EXPLICIT"):
            # Nothing configured at all: this is not the demo (``make demo`` and ``make run`` say
            # MARKET_ENV=development), so it may be a server someone forgot to configure. Refuse.
            raise RuntimeError(
                "SECRET_KEY is not set. Set SECRET_KEY and MARKET_ENV=production (see .env.example), "
                "or run the local demo with `make demo` (MARKET_ENV=development)."
            )
        config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))
    site = urlsplit(config.get("SITE_URL") or "")
    if site.scheme not in ("http", "https") or not site.hostname:
        raise RuntimeError(f"SITE_URL must be an http(s) address such as https://market.example.cn, not {config.get('SITE_URL')!r}")


def _instance_secret_key(instance: Path) -> str:
    """A random key kept in instance/secret_key (mode 0600), made on first start.

    Development and the demo (``make demo``) run without configuration; their sessions are signed with
    a key of this instance, never with one published in the source.
    """
    path = instance / SECRET_KEY_FILE
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if len(key) >= 32:
        return key
    key = secrets.token_urlsafe(48)
    instance.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    os.chmod(path, 0o600)
    log.warning("SECRET_KEY is not set: generated a random key for this instance in %s", path)
    return key


# ---------------------------------------------------------------- headers


def _security_headers(response):
    headers = response.headers
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Content-Security-Policy", CSP)
    seconds = current_app.config.get("HSTS_SECONDS")
    if current_app.config["MARKET_ENV"] == "production" and seconds:
        headers.setdefault("Strict-Transport-Security", f"max-age={int(seconds)}; includeSubDomains")
    return response


def _untrusted_host(err: SecurityError) -> Response:
    """A Host header outside TRUSTED_HOSTS: 400, plain (no page: no URL can be built for that host)."""
    return Response("400 Bad Request: untrusted Host header\n", 400, mimetype="text/plain")


# ---------------------------------------------------------------- rate limits


def _limits_off() -> bool:
    return not current_app.config.get("RATE_LIMITS_ENABLED", True)


def _form_account(field: str):
    def key() -> str:
        return "account:" + (request.form.get(field) or "").strip().lower()

    return key


def _api_account() -> str:
    from market.api.auth import current_api_user

    user = current_api_user()
    return f"user:{user.id}" if user is not None else "anonymous:" + get_remote_address()


# endpoint -> (config prefix, methods limited, key of the account)
LIMITED = {
    "auth.login": ("RATELIMIT_LOGIN", ["POST"], _form_account("email")),
    "orgs.register": ("RATELIMIT_REGISTER", ["POST"], _form_account("admin_email")),
    "auth.request_reset": ("RATELIMIT_RESET", ["POST"], _form_account("email")),
    "search_api.search_listings": ("RATELIMIT_SEARCH_API", None, _api_account),
}


def _limit_value(name: str):
    return lambda: current_app.config[name]


def init_rate_limits(app: Flask) -> Limiter:
    """One limiter per app; each endpoint in LIMITED gets a per-IP and a per-account limit from the config."""
    limiter = Limiter(get_remote_address, app=app)
    app.extensions["market.limiter"] = limiter
    for endpoint, (prefix, methods, account_key) in LIMITED.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        common = dict(methods=methods, exempt_when=_limits_off, scope=endpoint)
        view = limiter.limit(_limit_value(prefix + "_PER_ACCOUNT"), key_func=account_key, **common)(view)
        view = limiter.limit(_limit_value(prefix + "_PER_IP"), **common)(view)
        app.view_functions[endpoint] = view
    return limiter


def init_security(app: Flask) -> None:
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=0)  # type: ignore[method-assign]
    if app.config["MARKET_ENV"] == "production" and app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        log.warning("RATELIMIT_STORAGE_URI is memory://: each gunicorn worker counts on its own; use Redis")
    app.after_request(_security_headers)
    app.register_error_handler(SecurityError, _untrusted_host)
    init_rate_limits(app)
