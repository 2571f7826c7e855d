"""Feature package `orgs`: views, forms, services and CLI side by side."""

from flask import Blueprint

bp = Blueprint("orgs", __name__, url_prefix="/orgs")
