"""Feature package `listings`: what organisations open to SMEs (POLICY.md art. 7, 8, 13)."""

from flask import Blueprint, Flask

bp = Blueprint("listings", __name__, url_prefix="/listings")


def init_app(app: Flask) -> None:
    from . import fields, markup, services

    # Descriptions are rendered when saved (fields.py); templates show the stored HTML and take
    # card excerpts from it. There is deliberately no filter that renders Markdown.
    app.jinja_env.filters["excerpt"] = markup.excerpt
    app.jinja_env.globals.update(
        org_published_listings=services.published_for_org,
        listing_labels={
            "kind": fields.KIND_LABELS,
            "track": fields.TRACK_LABELS,
            "status": fields.STATUS_LABELS,
            "field": fields.FIELD_LABELS,
            "choice": fields.CHOICE_LABELS,
        },
    )


def register_cli(app: Flask) -> None:
    from .cli import register

    register(app)


from . import views  # noqa: E402,F401  (routes register on bp)
