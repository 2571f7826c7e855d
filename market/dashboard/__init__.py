"""Dashboards: the landing page after login, one per role, and the district-wide views (issue 13).

- ``sqltime``      Beijing-time year / month buckets as SQL expressions (PostgreSQL and SQLite)
- ``ledger_sql``   ledger completeness (market.domain.completeness) as SQL, the district ledger and its totals
- ``district``     district-wide lists of bids, bookings, data applications, contracts; utilisation
- ``queues``       the district's work queues (hooks for claims and objections: ``QUEUE_HOOKS``)
- ``kpis``         KPI series over time (GROUP BY in SQL) and their pygal charts (``charts``)
- ``roles``        the provider's and the SME's dashboards
"""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from . import views  # noqa: E402,F401
