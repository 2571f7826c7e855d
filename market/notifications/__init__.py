"""The notification centre and email. Every step that waits on someone calls :func:`services.notify`."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def init_app(app) -> None:
    from .services import install_mail_hooks

    install_mail_hooks()
