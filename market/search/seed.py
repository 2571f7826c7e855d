"""The shipped lexicon (data/lexicon.yaml) and merging it into ``search_synonym``.

Plain SQLAlchemy Core on a connection, no models and no Flask: the data migration that makes a
fresh ``db upgrade`` search like the demo calls :func:`merge_shipped` too, and so does
``flask --app market search seed-synonyms`` (through ``services.seed_synonyms``).

Merging is by key (``shipped:<first term, normalised>``): a group whose key is already in the
table — kept, edited by an admin, or deleted (a tombstone row with ``deleted_at``) — is left
alone; only groups never seen are inserted. So a re-seed adds what a newer lexicon ships without
undoing anything an admin did.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
import yaml

from .text import normalize

LEXICON = Path(__file__).resolve().parent / "data" / "lexicon.yaml"

synonym_table = sa.table(
    "search_synonym",
    sa.column("id", sa.Integer),
    sa.column("terms", sa.JSON),
    sa.column("origin", sa.String),
    sa.column("source", sa.String),
    sa.column("seed_key", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("deleted_at", sa.DateTime(timezone=True)),
)


def shipped_key(terms: list[str]) -> str:
    return "shipped:" + normalize(str(terms[0]))[:180]


def load_lexicon(path: Path | None = None) -> list[dict]:
    """[{"key", "terms", "source"}] in file order (duplicate keys: the first wins)."""
    sections = yaml.safe_load((path or LEXICON).read_text(encoding="utf-8")) or []
    out: list[dict] = []
    seen: set[str] = set()
    for section in sections:
        source = str(section.get("source", "")).strip()[:200]
        for group in section.get("groups") or []:
            terms = [str(t).strip() for t in group if str(t).strip()]
            if len(terms) < 2:
                continue
            key = shipped_key(terms)
            if key in seen:
                continue
            seen.add(key)
            out.append({"key": key, "terms": terms, "source": source})
    return out


def _termset(terms) -> frozenset[str]:
    return frozenset(normalize(str(t)) for t in terms or [])


def merge_shipped(conn, groups: list[dict] | None = None, now: dt.datetime | None = None) -> int:
    """Insert the shipped groups whose key the table has never held; returns how many.

    A row without a key holding exactly a shipped group's terms (seeded by an older version, before
    groups had keys) is claimed as that shipped group instead of being duplicated.
    """
    groups = load_lexicon() if groups is None else groups
    now = now or dt.datetime.now(dt.UTC)
    t = synonym_table
    rows = conn.execute(sa.select(t.c.id, t.c.terms, t.c.seed_key)).all()
    keys = {r.seed_key for r in rows if r.seed_key}
    unkeyed = {_termset(r.terms): r.id for r in rows if not r.seed_key}
    new_rows: list[dict] = []
    for g in groups:
        if g["key"] in keys:
            continue
        claim = unkeyed.pop(_termset(g["terms"]), None)
        if claim is not None:
            conn.execute(sa.update(t).where(t.c.id == claim).values(origin="shipped", source=g["source"], seed_key=g["key"]))
        else:
            new_rows.append(dict(terms=g["terms"], origin="shipped", source=g["source"], seed_key=g["key"],
                                 created_at=now, updated_at=now, deleted_at=None))
        keys.add(g["key"])
    if new_rows:  # one executemany, in file order: ~2,200 round trips to PostgreSQL were most of a seed's time
        conn.execute(sa.insert(t), new_rows)
    return len(new_rows)
