"""SQLAlchemy 2 models, one module per aggregate. Importing this package registers them all."""

from . import (  # noqa: F401
    audit,
    claims,
    dashboard,
    deals,
    events,
    ledger,
    listings,
    notifications,
    organisations,
    outbox,
    rewards,
    search,
    users,
)
from .base import Base

metadata = Base.metadata
