"""Demo: the index rebuilt from the demo listings.

Runs after ``listings`` in DEMO_FEATURES. The shipped lexicon is seeded by ``db upgrade`` (a data
migration); the merge here only matters for a schema made without migrations, and adds nothing
otherwise. Idempotent: a rebuild always gives the same index.
"""

from __future__ import annotations

from .semantic import embed_pending
from .services import reindex, seed_synonyms


def load(world) -> None:
    seeded = seed_synonyms()
    count = reindex()
    embed_pending()  # a few seconds for the demo's listings; the scheduler's job would take a minute or two
    world.summary.append(f"search: {count} listings indexed" + (f", {seeded} synonym groups seeded" if seeded else ""))
