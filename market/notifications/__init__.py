"""The notification centre and email. Every step that waits on someone calls :func:`services.notify`."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from . import views  # noqa: E402,F401


def init_app(app) -> None:
    from .services import unread_count_for_current_user
    app.jinja_env.globals["unread_notifications"] = unread_count_for_current_user
