"""The transaction ledger: append-only, hash-chained payments and refunds (POLICY.md interpretation 1).

Design (how confirmations and disputes stay chain-safe)
--------------------------------------------------------
Two append-only, hash-chained tables and one tiny head table:

* ``ledger_entry`` — a payment or a refund. Its **content** (seq, ref, kind, payer, payee, contract,
  listing, amount, paid_at, the entry it reverses, idempotency key, whether the import declared it
  confirmed, the evidence attached when it was recorded, declared subsidies) is hashed:
  ``entry_hash = SHA-256(prev_hash + US + canonical content)``, ``prev_hash`` being the previous
  entry's ``entry_hash`` (64 zeros for the first). Content is never updated.
* ``ledger_event`` — everything that happens to an entry afterwards: each party's confirmation, a
  dispute, its resolution, evidence added later. Events form their own chain the same way
  (``event_hash = SHA-256(prev_hash + US + canonical event)``) and are never updated either.
* The entry's **state columns** (``payer_confirmed_at``, ``payee_confirmed_at``, ``disputed_at``,
  ``dispute_reason``, ``disputed_by_id``, ``dispute_resolved_at``) are a cache of its events, kept
  for queries and for race-free conditional updates. They are *set once* (NULL -> value, never
  changed again) and ``ledger verify`` re-derives them from the events (or, for an import that
  declared ``confirmed: true``, from the hashed flag and ``recorded_at``): a forged confirmation
  is reported like a forged amount.
* ``ledger_chain`` holds one row per chain (``entries``, ``events``) with the last seq and hash.
  Appends lock that row (``SELECT ... FOR UPDATE``), so two concurrent appends cannot fork a chain;
  ``UNIQUE(seq)`` and ``UNIQUE(prev_hash)`` make a fork impossible even if a caller forgot the lock,
  and the head lets ``verify`` notice a truncated tail.

On PostgreSQL, triggers (``PG_TRIGGERS``; created with the tables by ``create_all`` and to be
copied into the Alembic revision) refuse DELETE on all three tables, any UPDATE of an event, and
any UPDATE of an entry that changes a hashed column or overwrites a state column already set.
TRUNCATE is deliberately not blocked (tests use it to reset the database). SQLite has no such guard;
``ledger verify`` is the detection on both.

Canonical content and what it binds (stable identifiers, never database ids)
----------------------------------------------------------------------------
The canonical content is a ``\\x1f``-separated string of plain values, built by
:func:`entry_content` / :func:`event_content` — the one pair of functions both the writers and
``ledger verify`` call, so the two can never disagree. Hashes must not depend on surrogate keys:
an export re-imported into another database, or the same data after sequences have moved on,
must reproduce the same entry hashes. So the content binds:

* payer, payee, a declared subsidy's beneficiary, an event's acting organisation: the
  organisation's **USCC** (统一社会信用代码: unique, always present, an external legal identifier).
  The subsidies JSON therefore stores ``beneficiary_uscc``, not an id.
* the listing: its ``ref``; the reversed entry: its ``ref`` (unique, itself hashed and immutable);
  an event's entry: the entry's ``ref``; an event's acting user: the user's e-mail (unique,
  stored lower-case, not editable on the platform).
* the contract: its **id**. A contract has no external key (no number, no ref), and none is worth
  adding: contracts are platform records that are not part of the export format (an imported
  entry never has one), so the id never travels between databases; within one database ids
  never change. If contracts ever get a ref, bind it instead (content version ``e3``).
  For the same reason an export reproduces its hashes on re-import for entries whose whole content
  the export format carries (imported entries: idempotency key ``import:<ref>``, confirmation
  declared by the import). An entry recorded on the platform re-imports as an imported entry
  (no contract, confirmed by the import instead of by its events): a new fact, a new hash.
* amounts as ``f"{amount:.2f}"`` (the same text from a ``Decimal``, or from the ``int``/``float``
  SQLite hands back for NUMERIC), times as integer microseconds since the Unix epoch in UTC
  (from an aware ``datetime``, or from the naive UTC text SQLite stores), canonical JSON for lists.
  Those accept the database driver's raw values, so ``verify`` streams rows without any per-row
  type conversion.

Consequence: an organisation's USCC (and a user's e-mail) must not change once the ledger names it.
Changing it makes ``verify`` report every entry/event that names it — by design, the ledger recorded
that legal entity — so whoever edits organisations must refuse it for organisations with entries.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import DDL, CheckConstraint, Computed, ForeignKey, Index, SmallInteger, String, Text, event, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import ColumnElement

from .base import Base, utcnow

if TYPE_CHECKING:
    from .deals import Contract
    from .listings import Listing
    from .organisations import Organisation

GENESIS = "0" * 64
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
SEP = "\x1f"


class EntryKind(enum.StrEnum):
    RENTAL = "rental"  # art. 7
    SCENARIO_CONTRACT = "scenario_contract"  # art. 8
    DATA_ACCESS = "data_access"  # art. 13


class EvidenceType(enum.StrEnum):
    CONTRACT = "contract"  # 合同
    INVOICE = "invoice"  # 发票
    PAYMENT_RECORD = "payment_record"  # 付款凭证
    OTHER = "other"


# POLICY.md interpretation 1: an entry counts only with a contract, an invoice and a payment record.
REQUIRED_EVIDENCE = frozenset({EvidenceType.CONTRACT, EvidenceType.INVOICE, EvidenceType.PAYMENT_RECORD})


class EventKind(enum.StrEnum):
    PAYER_CONFIRMED = "payer_confirmed"
    PAYEE_CONFIRMED = "payee_confirmed"
    DISPUTED = "disputed"
    DISPUTE_RESOLVED = "dispute_resolved"
    EVIDENCE_ADDED = "evidence_added"


class LedgerChain(Base):
    """The head of a chain (``entries`` or ``events``): locked by every append."""

    __tablename__ = "ledger_chain"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


UNCONFIRMED_SQL = "payer_confirmed_at IS NULL OR payee_confirmed_at IS NULL"
OPEN_DISPUTE_SQL = "disputed_at IS NOT NULL AND dispute_resolved_at IS NULL"
DECLARED_SQL = "subsidies_json <> '[]'"  # an other subsidy declared on the entry (few)

# The evidence types recorded with an entry, as bits of ``evidence_bits`` (the subsidy engine's completeness
# state, market/subsidies/services.py, adds the confirmation and dispute bits 1, 2 and 4 to these).
EVIDENCE_BITS = {"contract": 8, "invoice": 16, "payment_record": 32, "other": 64}


def evidence_bits_sql(dialect: str) -> str:
    """The expression of ``ledger_entry.evidence_bits`` on ``dialect``: the bit of each evidence type that
    occurs in the canonical ``evidence_json`` (``"type":"invoice"`` appears literally; a filename cannot fake
    it, as JSON escapes its quotes), matched case-sensitively (``strpos``; SQLite's ``instr`` — its LIKE is not).
    The migration that adds the column (f2b6d8a4c1e3) writes the same text."""
    find = "strpos" if dialect == "postgresql" else "instr"
    return " + ".join(f"CASE WHEN {find}(evidence_json, '\"type\":\"{t}\"') > 0 THEN {bit} ELSE 0 END"
                      for t, bit in EVIDENCE_BITS.items())


class _EvidenceBits(ColumnElement):
    """:func:`evidence_bits_sql` as a column's generation expression, rendered for the database at hand."""

    inherit_cache = True
    type = SmallInteger()


@compiles(_EvidenceBits)
def _render_evidence_bits(element, compiler, **kw) -> str:
    return evidence_bits_sql(compiler.dialect.name)


@compiles(Computed, "sqlite")
def _virtual_on_sqlite(element, compiler, **kw) -> str:
    """``evidence_bits`` is virtual on SQLite, as its migration must add it (SQLite cannot add a stored generated
    column to a table), so a schema from the models is the migrated one; other generated columns as given."""
    if isinstance(element.sqltext, _EvidenceBits):
        return f"GENERATED ALWAYS AS ({evidence_bits_sql('sqlite')}) VIRTUAL"
    return compiler.visit_computed_column(element, **kw)


class LedgerEntry(Base):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("amount_cny <> 0", name="amount_not_zero"),
        CheckConstraint("(amount_cny > 0) = (reverses_id IS NULL)", name="negative_iff_reversing"),
        Index("ix_ledger_entry_paid_at", "paid_at"),
        Index("ix_ledger_entry_amount_cny", "amount_cny"),  # district ledger sorted by amount (issue 13)
        # the district's work queues (issue 13): small partial indexes, counted without reading the table
        Index("ix_ledger_entry_unconfirmed", "recorded_at",
              postgresql_where=text(UNCONFIRMED_SQL), sqlite_where=text(UNCONFIRMED_SQL)),
        Index("ix_ledger_entry_open_dispute", "disputed_at",
              postgresql_where=text(OPEN_DISPUTE_SQL), sqlite_where=text(OPEN_DISPUTE_SQL)),
        # the subsidy engine's declared other subsidies of a year (issue 10), without reading the year
        Index("ix_ledger_entry_declared", "paid_at",
              postgresql_where=text(DECLARED_SQL), sqlite_where=text(DECLARED_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # -- hashed, immutable content
    seq: Mapped[int] = mapped_column(unique=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # EntryKind
    payer_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    payer: Mapped[Organisation] = relationship(foreign_keys=[payer_id])
    payee_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    payee: Mapped[Organisation] = relationship(foreign_keys=[payee_id])
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"), index=True)
    contract: Mapped[Contract | None] = relationship()
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listing.id"), index=True)
    listing: Mapped[Listing | None] = relationship()
    amount_cny: Mapped[Decimal]  # negative = refund / correction
    paid_at: Mapped[dt.datetime]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    reverses: Mapped[LedgerEntry | None] = relationship(remote_side=[id], foreign_keys=[reverses_id])
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    confirmed_by_import: Mapped[bool] = mapped_column(default=False)
    # canonical JSON: [{"type", "sha256", "filename", "size"}] sorted; sha256 null = declared on import
    evidence_json: Mapped[str] = mapped_column(Text, default="[]")
    # canonical JSON: [{"beneficiary_uscc", "amount_cny", "source"}] (USCC: see module docstring)
    subsidies_json: Mapped[str] = mapped_column(Text, default="[]")
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # -- derived from the hashed evidence_json by the database (a generated column: stored on PostgreSQL,
    # computed when read on SQLite), so a full year's computation does not search a million JSON texts;
    # not hashed, not exported: ``ledger verify`` and the chain read the columns above
    evidence_bits: Mapped[int] = mapped_column(SmallInteger, Computed(_EvidenceBits(), persisted=True))
    # -- metadata, immutable but not hashed (not part of the exported facts)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    source: Mapped[str] = mapped_column(String(20), default="platform")  # platform | import | demo
    # -- state: a set-once cache of the events (see module docstring)
    payer_confirmed_at: Mapped[dt.datetime | None]
    payee_confirmed_at: Mapped[dt.datetime | None]
    disputed_at: Mapped[dt.datetime | None]
    disputed_by_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    dispute_resolved_at: Mapped[dt.datetime | None]

    events: Mapped[list[LedgerEvent]] = relationship(
        back_populates="entry", order_by="LedgerEvent.seq", viewonly=True
    )

    # ---------------------------------------------------------------- derived views
    @property
    def evidence(self) -> list[dict[str, Any]]:
        """Evidence recorded with the entry plus evidence added later (events)."""
        items = list(json.loads(self.evidence_json))
        for ev in self.events:
            if ev.kind == EventKind.EVIDENCE_ADDED:
                items.append({"type": ev.doc_type, "sha256": ev.sha256, "filename": ev.filename, "size": ev.size})
        return items

    @property
    def evidence_types(self) -> set[str]:
        return {e["type"] for e in self.evidence}

    @property
    def declared_subsidies(self) -> list[dict[str, Any]]:
        return json.loads(self.subsidies_json)

    @property
    def both_confirmed(self) -> bool:
        return self.payer_confirmed_at is not None and self.payee_confirmed_at is not None

    @property
    def in_dispute(self) -> bool:
        return self.disputed_at is not None and self.dispute_resolved_at is None



class LedgerEvent(Base):
    """Something that happened to an entry after it was written; append-only, hash-chained."""

    __tablename__ = "ledger_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    entry: Mapped[LedgerEntry] = relationship(back_populates="events")
    kind: Mapped[str] = mapped_column(String(20))  # EventKind
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))  # acting party
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[dt.datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    doc_type: Mapped[str | None] = mapped_column(String(20))  # EvidenceType, for evidence_added
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None]
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    event_hash: Mapped[str] = mapped_column(String(64), unique=True)


# ---------------------------------------------------------------- canonical content and hashes
_EPOCH_NAIVE = _EPOCH.replace(tzinfo=None)
_fromisoformat = dt.datetime.fromisoformat


def micros(moment: dt.datetime | str) -> int:
    """Integer microseconds since the epoch (UTC): exact, and independent of the stored offset.

    Accepts an aware ``datetime``, or what SQLite hands back for a ``UTCDateTime`` column: naive UTC
    (as a ``datetime`` or as its ISO text) — ``models.base.UTCDateTime`` only ever writes UTC there.
    """
    if moment.__class__ is str:
        moment = _fromisoformat(moment)
    if moment.tzinfo is None:
        return (moment - _EPOCH_NAIVE) // _US
    return (moment - _EPOCH) // _US


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_content(
    seq: int, ref: str, kind: str, payer_uscc: str, payee_uscc: str, contract_id: int | None,
    listing_ref: str | None, amount: Decimal | int | float, paid_at: dt.datetime | str,
    reverses_ref: str | None, idempotency_key: str, confirmed_by_import: bool | int,
    evidence_json: str, subsidies_json: str,
) -> str:
    """The hashed content of an entry: stable identifiers only (module docstring).

    ``amount`` may be a ``Decimal`` or SQLite's ``int``/``float`` for NUMERIC(18,2): ``:.2f`` gives
    the same text (at most 11 significant digits, which a double holds exactly enough).
    """
    # one f-string, not a join of str() calls: this runs once per entry in ``ledger verify``
    return (
        f"e2\x1f{seq}\x1f{ref}\x1f{kind}\x1f{payer_uscc}\x1f{payee_uscc}"
        f"\x1f{'' if contract_id is None else contract_id}\x1f{'' if listing_ref is None else listing_ref}"
        f"\x1f{amount:.2f}\x1f{micros(paid_at)}\x1f{'' if reverses_ref is None else reverses_ref}"
        f"\x1f{idempotency_key}\x1f{1 if confirmed_by_import else 0}\x1f{evidence_json}\x1f{subsidies_json}"
    )


def event_content(
    seq: int, entry_ref: str, kind: str, org_uscc: str | None, user_email: str | None,
    at: dt.datetime | str, reason: str | None, doc_type: str | None, sha256: str | None,
    filename: str | None, size: int | None,
) -> str:
    """The hashed content of an event: the entry by its ref, the actor by USCC and e-mail."""
    return SEP.join((
        "v2", str(seq), str(entry_ref), kind, _s(org_uscc), _s(user_email), str(micros(at)), _s(reason),
        _s(doc_type), _s(sha256), _s(filename), _s(size),
    ))


def chain_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}\x1e{content}".encode()).hexdigest()


# ---------------------------------------------------------------- PostgreSQL guards
HASHED_ENTRY_COLUMNS = (
    "id", "seq", "ref", "kind", "payer_id", "payee_id", "contract_id", "listing_id", "amount_cny",
    "paid_at", "reverses_id", "idempotency_key", "confirmed_by_import", "evidence_json",
    "subsidies_json", "prev_hash", "entry_hash", "recorded_at", "recorded_by_id", "source",
)
SET_ONCE_COLUMNS = (
    "payer_confirmed_at", "payee_confirmed_at", "disputed_at", "disputed_by_id", "dispute_reason",
    "dispute_resolved_at",
)

_immutable_checks = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in HASHED_ENTRY_COLUMNS)
_set_once_checks = " OR ".join(
    f"(OLD.{c} IS NOT NULL AND NEW.{c} IS DISTINCT FROM OLD.{c})" for c in SET_ONCE_COLUMNS
)

# Copy these statements into the Alembic revision (upgrade), and drop them in the downgrade.
PG_TRIGGERS = (
    f"""
CREATE OR REPLACE FUNCTION ledger_entry_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'ledger_entry is append-only: DELETE refused (entry %)', OLD.seq;
  END IF;
  IF {_immutable_checks} THEN
    RAISE EXCEPTION 'ledger_entry is append-only: hashed content of entry % cannot change', OLD.seq;
  END IF;
  IF {_set_once_checks} THEN
    RAISE EXCEPTION 'ledger_entry %: confirmation/dispute state is set once', OLD.seq;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER ledger_entry_guard BEFORE UPDATE OR DELETE ON ledger_entry "
    "FOR EACH ROW EXECUTE FUNCTION ledger_entry_guard()",
    """
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$ LANGUAGE plpgsql
""",
    "CREATE TRIGGER ledger_event_guard BEFORE UPDATE OR DELETE ON ledger_event "
    "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
    "CREATE TRIGGER ledger_chain_guard BEFORE DELETE ON ledger_chain "
    "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()",
)


def _install_triggers(table_name: str, statements: tuple[str, ...]) -> None:
    def after_create(target, connection, **kw):
        if connection.dialect.name != "postgresql":
            return
        for stmt in statements:
            connection.execute(DDL(stmt.replace("%", "%%")))

    table = Base.metadata.tables[table_name]
    event.listen(table, "after_create", after_create)


_install_triggers("ledger_entry", PG_TRIGGERS[:2])
_install_triggers("ledger_event", PG_TRIGGERS[2:4])
_install_triggers("ledger_chain", (PG_TRIGGERS[2], PG_TRIGGERS[4]))  # the function may come first
