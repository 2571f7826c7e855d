"""Scheduled work of the claims workflow (market.scheduler; `flask --app market scheduler run`).

``subsidies.close_notices`` closes every public notice (公示) whose period has ended. It is "catch up
to what the clock implies" and idempotent: a notice is closed once (its status is checked under a
row lock), a missed run is made good by the next one. The scheduler's wrapper commits.
"""

from __future__ import annotations

import datetime as dt

from market.scheduler import register_job

ACTOR = "scheduler"


def close_notices(now: dt.datetime | None = None) -> int:
    from .claims import close_due_notices

    return len(close_due_notices(ACTOR, now=now))


def register_jobs() -> None:
    register_job("subsidies.close_notices", close_notices, "interval", minutes=10)


def register_queues() -> None:
    """The district dashboard's work queues: claims waiting for review, objections waiting for a reviewer."""
    from flask_babel import gettext as _
    from sqlalchemy import func, select

    from market.dashboard import queues
    from market.extensions import db
    from market.links import path_for
    from models.claims import ClaimObjection, ClaimStatus, ObjectionStatus, SubsidyClaim

    def claims_queue() -> queues.Queue:
        n, oldest = db.session.execute(select(func.count(SubsidyClaim.id), func.min(SubsidyClaim.filed_at))
                                       .where(SubsidyClaim.status == ClaimStatus.FILED)).one()
        return queues.Queue("subsidy_claims", _("待审核补贴申报"), int(n or 0), queues._utc(oldest),
                            path_for("subsidy_claims.index", status=ClaimStatus.FILED))

    def objections_queue() -> queues.Queue:
        n, oldest = db.session.execute(select(func.count(ClaimObjection.id), func.min(ClaimObjection.filed_at))
                                       .where(ClaimObjection.status == ObjectionStatus.OPEN)).one()
        return queues.Queue("subsidy_objections", _("待处理公示异议"), int(n or 0), queues._utc(oldest),
                            path_for("subsidy_claims.index", _anchor="objections"))

    queues.register("subsidy_claims", claims_queue)
    queues.register("subsidy_objections", objections_queue)


def _close_notices_command():
    import click

    @click.command("close-notices")
    @click.option("--now", "now_text", default=None, help="Pretend it is this moment (ISO 8601 with offset); for testing.")
    def close_notices_command(now_text: str | None) -> None:
        """Close the public notices (公示) whose period has ended (what the scheduler job does)."""
        from market.web import commit

        from .claims import close_due_notices

        now = dt.datetime.fromisoformat(now_text) if now_text else None
        if now is not None and now.tzinfo is None:
            raise click.BadParameter("give an offset, e.g. 2026-06-01T00:00+08:00", param_hint="--now")
        closed = close_due_notices("cli", now=now)
        commit()
        click.echo(f"{len(closed)} notice(s) closed")

    return close_notices_command
