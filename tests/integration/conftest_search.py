"""Fixtures for search tests: a clean index per test and a published-listing factory."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from market.extensions import db
from market.search.outbox import enqueue
from models.listings import Listing
from tests.conftest import drain_outbox

_seq = itertools.count(1)


@pytest.fixture
def search_index(app_ctx):
    """The index rebuilt from the (clean) database, so no earlier test's documents linger."""
    from market.search import services

    services.invalidate_synonyms()
    services.reindex()
    yield services.store()
    services.invalidate_synonyms()


@pytest.fixture
def make_listing(search_index, make_org):
    orgs: dict[str, object] = {}

    def make(title, description="", kind="instrument", tags=(), status="published", owner=None, **fields):
        n = next(_seq)
        if owner is None:
            owner_kind = "government" if kind == "public_data" else "university"
            owner = orgs.get(owner_kind) or orgs.setdefault(owner_kind, make_org(kind=owner_kind))
        defaults = dict(track="other")
        if kind in ("instrument", "facility", "pilot_base"):
            defaults["rate_cny_per_hour"] = Decimal("300")
        if kind == "public_data":
            defaults["open_mode"] = "conditional"
        defaults.update(fields)
        listing = Listing(
            ref=f"T{n:05d}", kind=kind, owner=owner, title=title, description=description, tags=list(tags),
            status=status, published_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=n) if status == "published" else None,
            **defaults,
        )
        db.session.add(listing)
        db.session.flush()
        enqueue(listing.id)
        drain_outbox()  # commit, then the drain brings the index up to date
        return listing

    return make
