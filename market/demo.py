"""The demo world. Each feature adds its part in ``market/<feature>/demo.py`` with ``load(world)``.

Loading is idempotent: running ``flask --app market demo`` twice leaves one copy of everything.
Passwords are documented in the README.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from .extensions import db

DEMO_PASSWORD = "Demo2026ccxq"

# the features that contribute demo data, in dependency order
DEMO_FEATURES = ("orgs", "auth", "listings", "deals", "ledger", "subsidies", "events", "search")


@dataclass
class DemoWorld:
    """What earlier features created, so later ones can refer to it by ref or email."""

    orgs: dict[str, Any] = field(default_factory=dict)  # ref -> Organisation
    users: dict[str, Any] = field(default_factory=dict)  # email -> User
    listings: dict[str, Any] = field(default_factory=dict)  # ref -> Listing
    summary: list[str] = field(default_factory=list)


def load_demo() -> list[str]:
    world = DemoWorld()
    for name in DEMO_FEATURES:
        try:
            module = importlib.import_module(f"market.{name}.demo")
        except ModuleNotFoundError as err:
            if err.name != f"market.{name}.demo":
                raise
            continue
        module.load(world)
        db.session.commit()
    return world.summary
