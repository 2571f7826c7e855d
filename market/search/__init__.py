"""Chinese-first search. The Whoosh index is derived from the database through an outbox.

``init_app`` installs the session hooks: a commit that wrote outbox rows is followed by a sync
(in a fresh app context and session, so the request's own session is untouched); a failure there
is logged and repaired by the next sync (`flask --app market search sync`, or the scheduler job
:func:`sync_outbox`).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app
from sqlalchemy import event

bp = Blueprint("search", __name__, url_prefix="/search")

log = logging.getLogger(__name__)
_PENDING = "market_search_pending"
_hooks_installed = False


def sync_outbox() -> int:
    """Scheduler job: process pending outbox rows (needs an app context)."""
    from .services import sync_outbox as run

    return run()


def _install_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    from market.extensions import db
    from models.search import SearchOutbox

    @event.listens_for(db.session, "before_flush")
    def _note(session, flush_context, instances):
        if any(isinstance(obj, SearchOutbox) for obj in session.new):
            session.info[_PENDING] = True

    @event.listens_for(db.session, "after_commit")
    def _sync(session):
        if not session.info.pop(_PENDING, False):
            return
        try:
            app = current_app._get_current_object()
        except RuntimeError:  # no app context: the next sync picks the rows up
            return
        if not app.config.get("SEARCH_SYNC_ON_COMMIT", True):
            return
        try:
            with app.app_context():  # a new scoped session: the committed one cannot emit SQL
                from .services import sync_outbox as run

                run(timeout=app.config.get("SEARCH_SYNC_TIMEOUT", 3.0))
        except Exception:  # never fail the user's request: the outbox keeps the work
            log.exception("search sync after commit failed; left for the next sync")

    @event.listens_for(db.session, "after_soft_rollback")
    def _drop(session, previous_transaction):
        session.info.pop(_PENDING, None)


def purge_outbox() -> int:
    """Scheduler job: forget outbox rows processed more than a week ago."""
    from .services import purge_processed

    return purge_processed()


def init_app(app: Flask) -> None:
    _install_hooks()
    from market.scheduler import register_job

    # the index catches up with any change a crashed or busy sync left behind
    register_job("search.sync_outbox", sync_outbox, "interval", minutes=1)
    register_job("search.purge_outbox", purge_outbox, "cron", hour=3, minute=30)
    from . import labels, views  # noqa: F401

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
    from flask import has_request_context, url_for
    from werkzeug.routing import BuildError

    def build(endpoint: str, **values) -> str:
        if has_request_context():
            return url_for(endpoint, **values)
        return current_app.url_map.bind("").build(endpoint, values)  # a path, e.g. from the CLI sync

    try:
        return build("listings.detail", ref=listing.ref)
    except BuildError:
        return build("search.search_page", q=listing.title)


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
