"""Who is on which side of a deal, and whether two organisations are related (POLICY.md interpretation 4).

Pure functions over ids, so the subsidy engine can ask them for a million ledger entries after loading
the groups once, and a permission check can ask them for one contract.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Protocol


class Side(enum.StrEnum):
    PAYER = "payer"
    PAYEE = "payee"


class Payment(Protocol):
    """Anything with a payer and a payee: a contract, a ledger entry, a plain record."""

    payer_id: int | None
    payee_id: int | None


def sides(org_id: int | None, deal: Payment) -> tuple[Side, ...]:
    """The sides ``org_id`` is on: (), (PAYER,), (PAYEE,) or both (self-dealing)."""
    if org_id is None:
        return ()
    found = []
    if org_id == deal.payer_id:
        found.append(Side.PAYER)
    if org_id == deal.payee_id:
        found.append(Side.PAYEE)
    return tuple(found)


def side(org_id: int | None, deal: Payment) -> Side | None:
    """The one side ``org_id`` is on (payer first when it is both), or None."""
    found = sides(org_id, deal)
    return found[0] if found else None


def is_party(org_id: int | None, *org_ids: int | None) -> bool:
    """``org_id`` is one of the organisations of a request (bidder, owner, renter, applicant...)."""
    return org_id is not None and org_id in org_ids


def other_party(org_id: int | None, deal: Payment) -> int | None:
    """The counterparty of ``org_id`` in ``deal``."""
    return deal.payee_id if org_id == deal.payer_id else deal.payer_id


class Relation(enum.StrEnum):
    """Why a deal between two organisations earns no subsidy (codes of the engine's exclusions)."""

    SELF_DEALING = "self_dealing"
    RELATED_PARTY = "related_party"


def relation(a: int, b: int, group_of: Mapping[int, int | None]) -> Relation | None:
    """SELF_DEALING for one organisation on both sides, RELATED_PARTY for two of one related-party
    group (same group, shareholding or declared: they are recorded as one group), else None.

    ``group_of`` maps organisation id to group id; the caller loads it once for every organisation
    it will ask about.
    """
    if a == b:
        return Relation.SELF_DEALING
    group = group_of.get(a)
    if group is not None and group == group_of.get(b):
        return Relation.RELATED_PARTY
    return None
