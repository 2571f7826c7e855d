"""The read-only calculation sheet (计算明细): per organisation, year and rule, the base, the entries
that make it up, the exclusions with their reasons in words, the rate, the cap and whether it bit,
the parameter version, and the best-of choices. Organisation members see their own organisation;
district staff see every organisation (``permissions.RULES``: ``subsidies.view`` / ``subsidies.view_all``).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from market.domain.localtime import today
from market.extensions import db
from market.permissions import can, require
from market.web import permission_required
from models.organisations import Organisation

from . import parameters, services

bp = Blueprint("subsidies", __name__, url_prefix="/subsidies")


def year_arg() -> int:
    """``?year=`` inside the platform's date window (market/dates.py), else this Beijing year."""
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        return today().year
    return year if 2000 <= year <= 2100 else today().year


@bp.get("/")
@permission_required("subsidies.view")
def index():
    """District staff: the year's results for every organisation; members: their own sheet."""
    year = year_arg()
    if not can(current_user, "subsidies.view_all"):
        if current_user.organisation_id is None:
            abort(403)
        return redirect(url_for("subsidies.sheet", org_id=current_user.organisation_id, year=year))
    results = services.compute_year(year)
    refs = services.org_refs()
    names = dict(db.session.execute(db.select(Organisation.id, Organisation.name)).all())
    return render_template("subsidies/index.html", year=year, results=results, refs=refs, names=names,
                           params=parameters.default())


@bp.get("/<int:org_id>/<int:year>")
@permission_required("subsidies.view")
def sheet(org_id: int, year: int):
    org = db.session.get(Organisation, org_id)
    if org is None or not 2000 <= year <= 2100:  # the platform's date window (market/dates.py)
        abort(404)
    require(current_user, "subsidies.view", org)
    results = services.results_for(org.id, year)
    return render_template("subsidies/sheet.html", org=org, year=year, results=results, params=parameters.default())
