from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from market.auth.safe_url import safe_next
from market.web import PUBLIC, permission_required

from . import bp


@bp.route("/")
@permission_required(PUBLIC)
def home():
    from flask_babel import get_locale

    from market.listings.fields import KIND_LABELS, TRACK_LABELS

    from . import portal

    return render_template("public/home.html", portal=portal.home_data(str(get_locale())), kind_labels=KIND_LABELS,
                           track_labels=TRACK_LABELS, title=_("长春新区开放场景与创新资源对接平台"))


@bp.route("/policy")
@permission_required(PUBLIC)
def policy():
    """The calculation rules in brief: the articles, their rates and caps, and how the platform counts."""
    from . import portal

    return render_template("public/policy.html", policy=portal.policy_brief(), title=_("补贴计算规则"))


@bp.route("/lang/<code>", methods=["GET", "POST"])
@permission_required(PUBLIC)
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.referrer, url_for("public.home"), host_url=request.host_url))
