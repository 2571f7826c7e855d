"""When a refund or correction may reverse an entry (POLICY.md interpretation 1: nothing is edited in
place; a refund is a new negative entry that nets out against the entry it reverses).

One set of rules for the web form, the API and ``ledger import``: each returns codes that the caller
turns into a form error or an import line error.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal


class RefundProblem(enum.StrEnum):
    REFUND_OF_REFUND = "refund_of_refund"  # reverse the original payment instead
    PARTIES_DIFFER = "parties_differ"  # kind, payer and payee must be the original's
    BEFORE_ORIGINAL = "before_original"  # money cannot go back before it came
    EXCEEDS_REMAINING = "exceeds_remaining"  # more than what is left after earlier reversals


@dataclass(frozen=True)
class Original:
    kind: str
    payer_id: int | str
    payee_id: int | str
    paid_at: dt.datetime
    remaining: Decimal  # its amount less earlier reversals
    is_refund: bool = False


def refund_problems(
    original: Original,
    amount: Decimal,
    paid_at: dt.datetime,
    *,
    kind: str | None = None,
    payer_id: int | str | None = None,
    payee_id: int | str | None = None,
) -> tuple[RefundProblem, ...]:
    """Why reversing ``original`` by ``amount`` (positive: what goes back) at ``paid_at`` is refused.

    ``kind``/``payer_id``/``payee_id`` are given when the caller states them (an import row); the web
    form copies them from the original.
    """
    if original.is_refund:
        return (RefundProblem.REFUND_OF_REFUND,)
    problems = []
    stated = (kind, payer_id, payee_id)
    if any(v is not None for v in stated) and stated != (original.kind, original.payer_id, original.payee_id):
        problems.append(RefundProblem.PARTIES_DIFFER)
    if paid_at < original.paid_at:
        problems.append(RefundProblem.BEFORE_ORIGINAL)
    if amount > original.remaining:
        problems.append(RefundProblem.EXCEEDS_REMAINING)
    return tuple(problems)
