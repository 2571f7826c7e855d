"""Feature package `deals`: views, forms, services and CLI side by side."""

from flask import Blueprint

bp = Blueprint("deals", __name__, url_prefix="/deals")
