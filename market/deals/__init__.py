"""Feature package `deals`: bids (揭榜), bookings, data access applications, contracts, dashboard."""

from flask import Blueprint

bp = Blueprint("deals", __name__, url_prefix="/deals")

from . import views  # noqa: E402,F401  (routes register on bp)


@bp.app_context_processor
def _deal_helpers() -> dict:
    from .bids import is_awarded
    from .bookings import availability_for

    return {"scenario_awarded": is_awarded, "resource_availability": availability_for}
