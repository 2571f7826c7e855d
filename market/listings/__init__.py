"""Feature package `listings`: views, forms, services and CLI side by side."""

from flask import Blueprint

bp = Blueprint("listings", __name__, url_prefix="/listings")
