"""Feature package `orgs`: registration, verification, SME size, related parties, import/export."""

from flask import Blueprint

bp = Blueprint("orgs", __name__, url_prefix="/orgs")

from . import views  # noqa: E402,F401


def init_app(app) -> None:
    from .labels import classification_words, labels

    @app.context_processor
    def org_helpers():
        from .services import pending_count

        return {"org_labels": labels(), "orgs_pending_count": pending_count,
                "classification_words": classification_words}


def register_cli(app) -> None:
    from .cli import orgs_cli

    app.cli.add_command(orgs_cli)
