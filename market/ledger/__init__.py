"""Feature package `ledger`: views, forms, services and CLI side by side."""

from flask import Blueprint

bp = Blueprint("ledger", __name__, url_prefix="/ledger")
