"""Feature package `admin`: views, forms, services and CLI side by side."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
