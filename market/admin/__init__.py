"""District staff's back office: the audit log (other features add their admin pages in their own folders)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import views  # noqa: E402,F401
