"""The Flask application: ``create_app(config=None)`` wires config, extensions, blueprints, CLI, errors."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .config import config_for_env
from .errors import DomainError
from .extensions import babel, bootstrap, csrf, db, login_manager, migrate

# One package per feature; each may expose ``bp`` (a Blueprint), ``register_cli(app)`` and
# ``init_app(app)``. Order matters only for the navigation.
FEATURES = (
    "auth",
    "orgs",
    "listings",
    "search",
    "deals",
    "ledger",
    "events",
    "notifications",
    "admin",
    "api",
    "public",
    "subsidies",
    "dashboard",
)

log = logging.getLogger(__name__)


def _postgresql_without_generic_plans(app: Flask) -> None:
    """On PostgreSQL, no server-side prepared statements (psycopg prepares a query from its fifth run on a
    connection). After five runs of a prepared statement PostgreSQL may switch to a generic plan, made
    without the values: for one organisation's year (a date range and its id) that plan scanned the year —
    77 ms per sheet, estimate or entry page at 1M entries instead of 19 ms (BENCHMARKS.md). Planning each
    query anew costs well under a millisecond here, and it keeps working behind a transaction pooler."""
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = {**options.get("connect_args", {}), "prepare_threshold": None}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def create_app(config: Any = None) -> Flask:
    from .config import _instance_path

    app = Flask(
        __name__, instance_relative_config=True, instance_path=str(_instance_path().resolve()), template_folder="../templates"
    )
    from .web import BoundedIntConverter, discard_uncommitted, query_args, refuse_nul_bytes

    app.url_map.converters["int"] = BoundedIntConverter  # ids beyond a primary key: 404, not 500 (issue 8)
    app.jinja_env.globals["query_args"] = query_args
    app.before_request(refuse_nul_bytes)
    app.teardown_request(discard_uncommitted)  # a view commits (market.web.commit) or its work is dropped
    app.config.from_object(config_for_env())
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)  # the default SQLite file lives here
    if isinstance(config, dict):
        app.config.from_mapping(config)
    elif config is not None:
        app.config.from_object(config)
    from .auth.security import check_config, init_security

    check_config(app)  # production needs SECRET_KEY and SITE_URL; development gets a per-instance key

    import models  # noqa: F401  (registers every model on the metadata)

    _postgresql_without_generic_plans(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_repo_path("migrations")), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    bootstrap.init_app(app)
    from .i18n import select_locale

    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(_repo_path("market/translations")))

    _register_template_helpers(app)
    app.before_request(_reset_request_caches)
    for name in FEATURES:
        module = importlib.import_module(f"market.{name}")
        if hasattr(module, "init_app"):
            module.init_app(app)
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)
        if hasattr(module, "register_cli"):
            module.register_cli(app)
    from . import cli, outbox

    outbox.init_app(app)  # the drain: scheduler job, after-response fallback, `flask outbox`
    outbox.register_cli(app)
    cli.register(app)
    init_security(app)  # security headers, rate limits (after the blueprints: limits wrap their views)
    _register_error_handlers(app)
    return app


def _reset_request_caches() -> None:
    """Forget per-request state kept on ``g``: an app context can outlive one request (tests, CLI).

    Flask-Login caches the user and Flask-Babel the locale and catalogue on the app context.
    """
    from flask import g
    from flask_babel import refresh

    g.pop("_login_user", None)
    refresh()


def _repo_path(relative: str) -> Path:
    return Path(__file__).resolve().parent.parent / relative


def _register_template_helpers(app: Flask) -> None:
    from flask_login import current_user

    from .i18n import format_cny, format_hours, format_local
    from .permissions import can

    app.jinja_env.filters["cny"] = format_cny
    app.jinja_env.filters["hours"] = format_hours
    app.jinja_env.filters["local"] = format_local

    @app.context_processor
    def inject() -> dict[str, Any]:
        from .i18n import select_locale

        return {
            "can": lambda action, obj=None: can(current_user, action, obj),
            "current_locale": select_locale(),
            "languages": app.config["LANGUAGES"],
        }


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _http_message(err: HTTPException) -> str:
    """A user-facing message for an HTTP error, in the user's language."""
    messages = {
        400: _("请求无效。"),
        401: _("请先登录。"),
        403: _("您没有访问此页面的权限。"),
        404: _("您访问的页面不存在。"),
        405: _("不支持此请求方法。"),
        409: _("操作与当前状态冲突。"),
        413: _("上传的文件太大。"),
        422: _("提交的数据无效。"),
        429: _("请求过于频繁，请稍后再试。"),
    }
    return messages.get(err.code or 500, _("请求无效。"))


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        db.session.rollback()  # nothing a service flushed before it refused survives the error
        if _wants_json():
            return jsonify(error={"code": err.code, "message": err.message}), err.http_status
        return render_template("errors/error.html", status=err.http_status, message=err.message), err.http_status

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):
        message = _("表单已过期或缺少安全令牌，请刷新页面后重试。")
        if _wants_json():
            return jsonify(error={"code": "csrf", "message": message}), 400
        return render_template("errors/error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        status = err.code or 500
        data = getattr(err, "data", None) or {}
        message = data.get("message") or _http_message(err)
        if _wants_json():
            body = {"code": err.name.lower().replace(" ", "_"), "message": message}
            if data.get("messages"):  # webargs: per-field messages of a 422
                body["fields"] = data["messages"]
            return jsonify(error=body), status
        return render_template("errors/error.html", status=status, message=message), status

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        if app.config.get("TESTING") and not app.config.get("TEST_ERROR_PAGES"):
            raise err  # let tests see the real traceback
        log.exception("unhandled error on %s", request.path)
        db.session.rollback()
        message = _("服务器出错了，我们已记录此问题，请稍后再试。")
        if _wants_json():
            return jsonify(error={"code": "internal_error", "message": message}), 500
        return render_template("errors/error.html", status=500, message=message), 500
