"""The deals services in one namespace: bids, bookings, data access, contracts, dashboard."""

from . import bids, bookings, contracts, dashboard, data_access  # noqa: F401
from .contracts import create_contract_draft  # noqa: F401
