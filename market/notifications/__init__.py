"""The notification centre and email. Every step that waits on someone calls :func:`services.notify`."""

import logging

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from . import views  # noqa: E402,F401


def init_app(app) -> None:
    from .services import unread_count_for_current_user
    app.jinja_env.globals["unread_notifications"] = unread_count_for_current_user
    if app.config.get("MAIL_BACKEND") == "console":
        show_console_mail()


def show_console_mail() -> None:
    """The console backend's mail is read in the server's output (README: confirmation and reset links). It is logged
    at INFO, which the root logger's default level (WARNING) dropped: the mail logger gets its own handler."""
    mail_log = logging.getLogger("market.mail")
    mail_log.setLevel(logging.INFO)
    if not mail_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        mail_log.addHandler(handler)
        mail_log.propagate = False
