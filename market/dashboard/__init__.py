"""Dashboards: the landing page after login, one per role, and the district-wide views (issue 13).

- ``sqltime``      Beijing-time year / month buckets as SQL expressions (PostgreSQL and SQLite)
- ``ledger_sql``   ledger completeness (market.domain.completeness) as SQL, the district ledger and its totals
- ``facts``        keeps ``ledger_fact`` (narrow reporting rows with completeness bits) in step with the ledger
- ``district``     district-wide lists of bids, bookings, data applications, contracts; utilisation
- ``queues``       the district's work queues (hooks for claims and objections: ``QUEUE_HOOKS``)
- ``kpis``         KPI series over time (GROUP BY in SQL) and their pygal charts (``charts``)
- ``roles``        the provider's and the SME's dashboards
"""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from . import views  # noqa: E402,F401


def init_app(app) -> None:
    from . import facts

    facts.install()  # ledger_fact follows every ledger write (models/dashboard.py)


def register_cli(app) -> None:
    import click

    from market.extensions import db

    @app.cli.group("dashboard")
    def group() -> None:
        """Dashboards and district views."""

    @group.command("rebuild-facts")
    def rebuild_facts() -> None:
        """Rebuild ledger_fact (the district ledger's reporting rows) from the ledger."""
        from . import facts

        n = facts.rebuild(db.session.connection())
        db.session.commit()
        click.echo(f"ledger_fact: {n} rows")
