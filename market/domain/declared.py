"""Other subsidies a beneficiary declares for the same items (closing clause: the most favourable
applies, not more than one). Two places hold them — an organisation's ``external_subsidies`` (per rule
and year) and a ledger entry's ``declared_subsidies`` (per payment) — and both are read as these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class DeclaredSubsidy:
    beneficiary_id: int
    amount_cny: Decimal
    source: str  # the other policy, e.g. 省级创新券
    year: int | None = None  # organisation-level declarations
    rule: str | None = None  # the rule of ours it overlaps (organisation-level), e.g. art7_renter
    entry_id: int | None = None  # the payment it was granted for (entry-level)
    item: str | None = None  # the item, in the declarer's words
