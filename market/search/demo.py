"""Demo: the synonym dictionary seeded from YAML and the index rebuilt from the demo listings.

Runs after ``listings`` in DEMO_FEATURES. Idempotent: seeding skips a non-empty table, and a
rebuild always gives the same index.
"""

from __future__ import annotations

from .services import reindex, seed_synonyms


def load(world) -> None:
    seeded = seed_synonyms()
    count = reindex()
    world.summary.append(f"search: {count} listings indexed" + (f", {seeded} synonym groups seeded" if seeded else ""))
