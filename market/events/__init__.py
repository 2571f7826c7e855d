"""Feature package `events`: quarterly thematic scenario matchmaking events (art. 8, 9; issue 11)."""

from flask import Blueprint, Flask

bp = Blueprint("events", __name__, url_prefix="/events")


def init_app(app: Flask) -> None:
    from . import jobs, labels

    jobs.register_jobs()
    app.jinja_env.globals.update(
        event_status_label=labels.event_status_label,
        request_status_label=labels.request_status_label,
        outcome_label=labels.outcome_label,
        declaration_status_label=labels.declaration_status_label,
        side_label=labels.side_label,
        priority_label=labels.priority_label,
        agenda_method_label=labels.agenda_method_label,
    )


def register_cli(app: Flask) -> None:
    from .cli import events_cli

    app.cli.add_command(events_cli)


from . import views  # noqa: E402,F401  (routes register on bp)
