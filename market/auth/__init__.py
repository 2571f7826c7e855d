"""Accounts: log in and out, passwords, sessions. (Organisation registration lives in ``orgs``.)"""

from flask import Blueprint

from market.extensions import db, login_manager
from models.users import User

bp = Blueprint("auth", __name__, url_prefix="/auth")

from . import views  # noqa: E402,F401


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
