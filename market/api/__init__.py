"""The JSON API: /api/v1/..., bearer tokens, OpenAPI 3 generated from the code at /api/openapi.json.

Each feature adds endpoints in ``market/<feature>/api.py`` as a flask-smorest ``Blueprint`` named
``blp`` with url_prefix ``/api/v1/...``; they are registered here. Errors are always
``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

import importlib

import marshmallow as ma
from flask import Flask, jsonify
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from market.extensions import csrf

API_FEATURES = ("auth", "orgs", "listings", "search", "deals", "ledger")


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "machine-readable error code, e.g. not_found"})
    message = ma.fields.String(required=True, metadata={"description": "human-readable message in the user's language"})
    fields = ma.fields.Dict(metadata={"description": "per-field messages for invalid input (422)"})


class ErrorSchema(ma.Schema):
    """Every API error: ``{"error": {"code": ..., "message": ...}}``."""

    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class MarketApi(Api):
    """flask-smorest's Api with the platform's error shape."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        from market.app import _http_message

        status = error.code or 500
        data = getattr(error, "data", None) or {}
        message = data.get("message") or _http_message(error)
        messages = data.get("messages")
        body = {"error": {"code": error.name.lower().replace(" ", "_"), "message": message}}
        if messages:
            body["error"]["fields"] = messages
        return jsonify(body), status


def init_app(app: Flask) -> None:
    app.config.setdefault("API_SPEC_OPTIONS", {
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    })
    # One Api per app: its spec is built from this app's blueprints only (tests create several apps).
    api = MarketApi()
    api.init_app(app)
    app.extensions["market_api"] = api
    for name in API_FEATURES:
        try:
            module = importlib.import_module(f"market.{name}.api")
        except ModuleNotFoundError as err:
            if err.name != f"market.{name}.api":
                raise
            continue
        csrf.exempt(module.blp)  # token-authenticated, no cookies: CSRF does not apply
        api.register_blueprint(module.blp)
