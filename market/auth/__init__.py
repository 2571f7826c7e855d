"""Accounts: log in and out, passwords, account settings, organisation members, API tokens.

(Organisation self-registration lives in ``orgs``.)
"""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from market.extensions import db, login_manager
from models.users import Role, User

bp = Blueprint("auth", __name__, url_prefix="/auth")

ROLE_LABELS = {
    Role.SME_MEMBER: _l("中小企业成员"),
    Role.PROVIDER_MEMBER: _l("资源方成员"),
    Role.ORG_ADMIN: _l("机构管理员"),
    Role.DISTRICT_REVIEWER: _l("区级审核员"),
    Role.DISTRICT_ADMIN: _l("区级管理员"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


from . import views  # noqa: E402,F401


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of a session or remember-me cookie, which carries "id:session_version" (User.get_id).

    A cookie issued before the user's last logout, password change or reset (an older version), one of
    the old "id"-only form, or one of a deactivated account logs nobody in.
    """
    uid, sep, version = (user_id or "").partition(":")
    if not sep or not uid.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(uid))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    app.jinja_env.filters["role_label"] = role_label


def register_cli(app) -> None:
    from .cli import tokens

    app.cli.add_command(tokens)
