"""Is a ledger entry complete, and if not, why (POLICY.md interpretation 1).

An entry is *complete* when both parties confirmed it, nobody disputes it and its evidence is attached;
a refund is complete when it is undisputed and the entry it reverses is complete. Only complete entries
can earn a subsidy; whether one does, for whom and under which rule, is the subsidy engine's answer.

The answer is a tuple of reason codes (empty = complete). Screens and exports translate codes into words
(``market.ledger.labels.REASON_LABELS``); tests assert codes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

# art. 7/8 and interpretation 1: a contract, an invoice (发票) and a payment record (付款凭证).
REQUIRED_EVIDENCE = frozenset({"contract", "invoice", "payment_record"})


class Reason(enum.StrEnum):
    PAYER_NOT_CONFIRMED = "payer_not_confirmed"
    PAYEE_NOT_CONFIRMED = "payee_not_confirmed"
    DISPUTED = "disputed"
    MISSING_EVIDENCE = "missing_evidence"
    REVERSED_ENTRY_INCOMPLETE = "reversed_entry_incomplete"

    @property
    def contract_code(self) -> str:
        """The stable code of CONTRACT.md's subsidy exclusions (both confirmations are ``not_confirmed``)."""
        if self in (Reason.PAYER_NOT_CONFIRMED, Reason.PAYEE_NOT_CONFIRMED):
            return "not_confirmed"
        return self.value


@dataclass(frozen=True)
class EntryFacts:
    """What completeness depends on, as plain values."""

    payer_confirmed: bool
    payee_confirmed: bool
    in_dispute: bool
    evidence_types: frozenset[str] = frozenset()
    reverses: EntryFacts | None = None  # the original, for a refund
    is_refund: bool = False


@dataclass(frozen=True)
class Finding:
    reason: Reason
    missing: tuple[str, ...] = field(default=())  # evidence types, for MISSING_EVIDENCE


def missing_evidence(evidence_types: frozenset[str], required: frozenset[str] = REQUIRED_EVIDENCE) -> tuple[str, ...]:
    return tuple(sorted(required - evidence_types))


def findings(entry: EntryFacts, required: frozenset[str] = REQUIRED_EVIDENCE) -> tuple[Finding, ...]:
    """Why ``entry`` is not complete; () when it is."""
    found: list[Finding] = []
    if entry.is_refund:
        # A refund nets out as soon as it is recorded and undisputed (money that may have gone back is
        # not subsidised), against an original that is itself complete.
        if entry.in_dispute:
            found.append(Finding(Reason.DISPUTED))
        if entry.reverses is not None and findings(entry.reverses, required):
            found.append(Finding(Reason.REVERSED_ENTRY_INCOMPLETE))
        return tuple(found)
    if not entry.payer_confirmed:
        found.append(Finding(Reason.PAYER_NOT_CONFIRMED))
    if not entry.payee_confirmed:
        found.append(Finding(Reason.PAYEE_NOT_CONFIRMED))
    if entry.in_dispute:
        found.append(Finding(Reason.DISPUTED))
    missing = missing_evidence(entry.evidence_types, required)
    if missing:
        found.append(Finding(Reason.MISSING_EVIDENCE, missing))
    return tuple(found)


def is_complete(entry: EntryFacts, required: frozenset[str] = REQUIRED_EVIDENCE) -> bool:
    return not findings(entry, required)
