"""`flask --app market search reindex|embed|sync|seed-synonyms|query`."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

search_cli = AppGroup("search", help="Search index: rebuild, catch up, synonyms.")


@search_cli.command("reindex")
@click.option("--procs", default=0, show_default=True, help="Indexing processes (0: one per core, at most 4).")
@click.option("--limitmb", default=256, show_default=True, help="Unused: a rebuild keeps each part's postings in memory (build.PartWriter).")
def reindex_cmd(procs: int, limitmb: int) -> None:
    """Rebuild the index from the database in a new directory and swap it in atomically."""
    import os

    from .services import reindex

    procs = procs or min(os.cpu_count() or 1, 4)
    started = time.perf_counter()
    count = reindex(procs=procs, limitmb=limitmb)
    click.echo(f"indexed {count} published listings in {time.perf_counter() - started:.1f} s")


@search_cli.command("embed")
@click.option("--limit", default=0, show_default=True, help="At most this many listings (0: all).")
def embed_cmd(limit: int) -> None:
    """Make the sentence embeddings of published listings that have none or an outdated one (the scheduler's
    search.embed job does it a thousand at a time; about 40 listings a second on two cores)."""
    from market.web import commit

    from .semantic import embed_pending, pending_count

    started = time.perf_counter()
    done = 0
    left = pending_count()
    while left and not (limit and done >= limit):
        done += embed_pending(limit=min(500, limit - done) if limit else 500)
        commit()
        left = pending_count()
        click.echo(f"embedded {done} listings, {left} to go")
    click.echo(f"embedded {done} listings in {time.perf_counter() - started:.1f} s; {left} without a current vector")


@search_cli.command("sync")
def sync_cmd() -> None:
    """Apply pending outbox rows to the index (repairs updates lost to a crash)."""
    from .services import sync_outbox

    click.echo(f"processed {sync_outbox()} outbox rows")


@search_cli.command("seed-synonyms")
def seed_cmd() -> None:
    """Merge the shipped lexicon (market/search/data/lexicon.yaml): new groups only; groups an
    admin edited or deleted stay as they are. `db upgrade` already seeds it on a fresh install."""
    from market.web import commit

    from .services import seed_synonyms

    seeded = seed_synonyms()
    commit()
    click.echo(f"seeded {seeded} new synonym groups")


@search_cli.command("query")
@click.argument("text", required=False, default="")
@click.option("--kind", default=None)
def query_cmd(text: str, kind: str | None) -> None:
    """Run a search from the shell and print the top hits."""
    from .services import search

    result = search(text, {"kind": kind} if kind else {}, per_page=10)
    click.echo(f"{result.total} hits" + (f" (did you mean: {result.suggestion})" if result.suggestion else ""))
    for hit in result.hits:
        click.echo(f"{hit.score or '':>8} {hit.listing.ref:10} {hit.listing.kind:12} {hit.listing.title}")
