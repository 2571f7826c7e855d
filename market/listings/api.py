"""`GET /api/v1/listings/<ref>`: a published listing for anyone; a draft only for its own organisation
(or district staff) with a bearer token; 404 JSON otherwise (a draft's existence is not revealed)."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema
from marshmallow import fields as mf

from market.api import ErrorSchema
from market.api.auth import current_api_user
from market.web import PUBLIC, permission_required

from . import fields, services

blp = Blueprint(
    "listings_api", __name__, url_prefix="/api/v1/listings",
    description="Listings: scenarios, instruments, facilities, pilot bases, databases, public data",
)


class OwnerSchema(Schema):
    ref = mf.String(allow_none=True)
    name = mf.String()
    kind = mf.String()


class ListingSchema(Schema):
    ref = mf.String()
    kind = mf.String()
    status = mf.String()
    title = mf.String()
    owner = mf.Nested(OwnerSchema)
    description = mf.String(metadata={"description": "Markdown source"})
    description_html = mf.String(metadata={"description": "Markdown rendered and sanitised with nh3"})
    tags = mf.List(mf.String())
    track = mf.String()
    published_at = mf.DateTime(allow_none=True)
    view_count = mf.Integer()
    fields = mf.Dict(metadata={"description": "kind-specific fields; money as strings with 2 decimals, times ISO 8601 UTC"})
    url = mf.String()


@blp.route("/<ref>")
@blp.response(200, ListingSchema)
@blp.alt_response(404, schema=ErrorSchema, description="unknown, or not visible to the caller")
@blp.alt_response(401, schema=ErrorSchema, description="an invalid or revoked bearer token (a token is optional)")
@permission_required(PUBLIC)  # published listings need no token; drafts check the token below
def get_listing(ref: str):
    """One listing by its ref."""
    listing = services.get_visible(current_api_user(), ref)
    data = fields.read(listing)
    common = set(fields.COMMON)
    from flask import url_for

    return {
        "ref": listing.ref,
        "kind": listing.kind,
        "status": listing.status,
        "title": listing.title,
        "owner": {"ref": listing.owner.ref, "name": listing.owner.name, "kind": listing.owner.kind},
        "description": listing.description,
        "description_html": listing.description_html,  # rendered when saved
        "tags": list(listing.tags or []),
        "track": listing.track,
        "published_at": listing.published_at,
        "view_count": listing.view_count,
        "fields": fields.to_json({k: v for k, v in data.items() if k not in common}),
        "url": url_for("listings.detail", ref=listing.ref, _external=True),
    }
