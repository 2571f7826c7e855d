from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from market.errors import ValidationError
from market.web import PUBLIC, apply_domain_error, permission_required

from . import bp
from .forms import LoginForm
from .services import authenticate


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("public.home")


@bp.route("/login", methods=["GET", "POST"])
@permission_required(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("public.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except ValidationError as err:
            apply_domain_error(form, err)
        else:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form, title=_("登录"))


@bp.route("/logout", methods=["POST"])
@permission_required(PUBLIC)
def logout():
    logout_user()
    return redirect(url_for("public.home"))
