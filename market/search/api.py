"""GET /api/v1/search (CONTRACT.md "Search API"): public listings, no token needed."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint, abort

from market.errors import ValidationError
from models.listings import ListingKind, Track

from .services import search

blp = Blueprint("search_api", __name__, url_prefix="/api/v1/search", description="全文检索已发布的资源 / Full-text search of published resources")


class SearchArgs(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf([k.value for k in ListingKind]))
    track = ma.fields.String(load_default=None, validate=ma.validate.OneOf([t.value for t in Track]))
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=10000))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class SearchItem(ma.Schema):
    ref = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    owner = ma.fields.String(metadata={"description": "owner organisation ref (its name if it has no ref)"})
    score = ma.fields.Float(allow_none=True, metadata={"description": (
        "how strongly the listing's text matches the query words (null for a related listing). The order also "
        "weighs how many of the query's concepts a listing covers, their spread and, for a request written as a "
        "sentence, its meaning: items come in relevance order, which is not always descending score")})
    highlight = ma.fields.String(metadata={"description": "HTML snippet: escaped text, matches in <mark>"})


class SearchResponse(ma.Schema):
    total = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(SearchItem))
    facets = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer()))
    suggestion = ma.fields.String(allow_none=True)


@blp.route("")
@blp.arguments(SearchArgs, location="query")
@blp.response(200, SearchResponse)
def search_listings(args):
    """Search published listings; items in relevance order (an empty query lists newest first).

    When fewer than ten listings match, the page holding the last match continues with related listings
    (sharing the matches' titles and tags, or the concept a query word is a kind of), as the search page
    shows them: after every match, with ``score`` null, and not counted in ``total``."""
    filters = {k: args[k] for k in ("kind", "track") if args.get(k)}
    try:
        result = search(args["q"], filters, page=args["page"], per_page=args["per_page"])
    except ValidationError as err:
        abort(422, message=err.message)
    def item(h, score):
        return {
            "ref": h.listing.ref,
            "kind": h.listing.kind,
            "title": h.listing.title,
            "owner": (h.listing.owner.ref or h.listing.owner.name) if h.listing.owner else None,
            "score": score,
            "highlight": h.highlight,
        }

    return {
        "total": result.total,
        "items": [item(h, h.score) for h in result.hits] + [item(h, None) for h in result.related],
        "facets": result.facets,
        "suggestion": result.suggestion,
    }


search_listings.required_action = "public"  # type: ignore[attr-defined]
