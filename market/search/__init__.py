"""Chinese-first search. The Whoosh index is derived from the database through the outbox.

Listing services enqueue a ``search.index`` row in their transaction (``outbox.enqueue``); the
drain applies it after the commit (``services.index_changes``) and then queues a ``search.alert``
for saved searches that match newly published listings. ``flask --app market search sync`` drains
just those topics; ``search reindex`` rebuilds the whole index.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask

bp = Blueprint("search", __name__, url_prefix="/search")

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    from market.scheduler import register_job

    from . import labels, semantic, services, views  # noqa: F401  (services registers the outbox handlers)

    # The outbox handler only updates documents; an index from before a schema change waits for this.
    register_job("search.rebuild_outdated", services.rebuild_if_outdated, "interval", minutes=5)
    # sentence embeddings for the listings the index updates did not embed themselves (a bulk import, an upgrade)
    register_job("search.embed", semantic.embed_job, "interval", minutes=1)

    app.jinja_env.globals["search_labels"] = labels
    if app.config.get("SEARCH_WARM") and not _in_cli():
        _start_warming(app)
    app.jinja_env.globals["similar_listings"] = _similar
    app.jinja_env.globals["listing_url"] = listing_url


def _in_cli() -> bool:
    """Is the app being created for a `flask ...` command (no web requests to warm up for)?"""
    import click

    return click.get_current_context(silent=True) is not None


def _start_warming(app: Flask) -> None:
    """A web process: load the index caches now (the worker answers once they are loaded), then
    watch for a new index (a reindex swaps the ``current`` link) and load it off the request path."""
    import threading
    import time

    from .services import store, warm

    def once():
        with app.app_context():
            try:
                warm()
            except Exception:  # never keep the site from starting: queries warm up by themselves
                log.exception("search warm-up failed")
            finally:
                from market.extensions import db

                db.session.remove()

    def current():
        with app.app_context():
            return store().current_dir()

    once()
    seen = current()

    def watch():
        nonlocal seen
        interval = app.config.get("SEARCH_WARM_INTERVAL", 1.0)
        while True:
            time.sleep(interval)
            try:
                now = current()
            except Exception:  # noqa: BLE001 - keep watching
                continue
            if now != seen:
                seen = now
                once()

    threading.Thread(target=watch, name="search-warmer", daemon=True).start()


def listing_url(listing) -> str:
    """The listing's detail page (the listings feature's), or a search for it until that exists."""
    from werkzeug.routing import BuildError

    from market.links import path_for

    try:
        return path_for("listings.detail", ref=listing.ref)
    except BuildError:
        return path_for("search.search_page", q=listing.title)


def _similar(listing, limit: int = 5):
    from .services import similar

    try:
        return similar(listing, limit)
    except Exception:  # a detail page must render even if the index is unavailable
        log.exception("similar listings failed for %s", getattr(listing, "ref", "?"))
        return []


def register_cli(app: Flask) -> None:
    from .cli import search_cli

    app.cli.add_command(search_cli)
