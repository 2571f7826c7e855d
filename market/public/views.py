from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from market.auth.safe_url import safe_next
from market.web import PUBLIC, permission_required

from . import bp


@bp.route("/")
@permission_required(PUBLIC)
def home():
    return render_template("public/home.html", title=_("长春新区开放场景与创新资源对接平台"))


@bp.route("/lang/<code>", methods=["GET", "POST"])
@permission_required(PUBLIC)
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.referrer, url_for("public.home"), host_url=request.host_url))
