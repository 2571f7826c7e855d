"""`flask --app market events ...`: the plan and the scheduled jobs by hand. Commands commit (the
jobs do); services only flush."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

events_cli = AppGroup("events", help="Matchmaking events (art. 9): plan, lifecycle jobs, KPIs.")


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@events_cli.command("plan")
@click.option("--year", type=int, required=True)
@click.option("--quarter", type=click.IntRange(1, 4), required=True)
def plan_cmd(year: int, quarter: int) -> None:
    """Create the plan's event of YEAR/QUARTER (once: a second run finds it)."""
    from market.extensions import db

    from . import services as svc

    event, created = svc.create_from_plan("cli", year, quarter)
    db.session.commit()
    click.echo(f"{'created' if created else 'exists'}: {event.plan_key} #{event.id} {event.title} {event.event_date}")


@events_cli.command("run-jobs")
@click.option("--today", help="pretend today is YYYY-MM-DD (Beijing)")
def run_jobs(today: str | None) -> None:
    """Run the scheduler's event jobs once: plan, advance, reminders (idempotent)."""
    from . import jobs

    day = _day(today)
    click.echo(f"planned: {jobs.plan_events(day)}")
    click.echo(f"advanced: {jobs.advance_events(day)}")
    click.echo(f"reminders sent: {jobs.send_reminders(day)}")


@events_cli.command("kpi")
def kpi_cmd() -> None:
    """Print the KPIs per year (events held vs 4, scenarios vs 20+, meetings, contracts)."""
    from . import services as svc

    years, _tracks = svc.kpis()
    for r in years:
        click.echo(f"{r.key}: events {r.events_held}/{r.events_planned} held, scenarios {r.scenarios}, "
                   f"registrations {r.registrations}, meetings {r.meetings_held}/{r.meetings}, "
                   f"follow-ups {r.follow_ups}, bids {r.bids}, contracts {r.contracts} ({r.contract_value} CNY)")
