from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

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
    target = request.referrer or url_for("public.home")
    if not target.startswith(request.host_url) and not target.startswith("/"):
        target = url_for("public.home")
    return redirect(target)
