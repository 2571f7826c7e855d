"""SQLAlchemy 2 models, one module per aggregate. Importing this package registers them all."""

from . import audit, dashboard, deals, ledger, listings, notifications, organisations, search, users  # noqa: F401
from .base import Base

metadata = Base.metadata
