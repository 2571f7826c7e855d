"""What an organisation was on a given day: the facts eligibility depends on, as dated history.

POLICY.md interpretation 4 judges a beneficiary "on the payment date": an SME that became large in
June keeps its subsidy for the payments before June, and recomputing 2026 in 2028 must give the answer
2026 gave. So the facts are kept as valid-from / valid-to intervals (``organisation_facts`` rows written
by every change) and read through :func:`facts_at`.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

SME_SIZES = frozenset({"medium", "small", "micro"})


@dataclass(frozen=True)
class OrgFacts:
    kind: str
    size: str | None  # large / medium / small / micro; None when not classified
    in_district: bool
    verified: bool
    group_id: int | None

    @property
    def is_sme(self) -> bool:
        """Small, medium or micro by the national classification (not only registered as an SME)."""
        return self.size in SME_SIZES


@dataclass(frozen=True)
class Period:
    valid_from: dt.datetime
    valid_to: dt.datetime | None  # None: still in force
    facts: OrgFacts


class Timeline:
    """One organisation's periods, ordered and non-overlapping; O(log n) look-up."""

    def __init__(self, periods: Sequence[Period]):
        self.periods = sorted(periods, key=lambda p: p.valid_from)
        self._starts = [p.valid_from for p in self.periods]

    def at(self, moment: dt.datetime) -> OrgFacts | None:
        """The facts in force at ``moment``; None before the organisation existed."""
        i = bisect.bisect_right(self._starts, moment) - 1
        if i < 0:
            return None
        period = self.periods[i]
        if period.valid_to is not None and moment >= period.valid_to:
            return None
        return period.facts


def facts_at(timeline: Timeline | None, moment: dt.datetime) -> OrgFacts | None:
    return timeline.at(moment) if timeline is not None else None
