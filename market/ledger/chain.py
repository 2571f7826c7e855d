"""Appending to the two hash chains, and verifying them (``flask --app market ledger verify``).

Appends lock the chain's head row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite, which has no
row locks, the database's write lock, taken with ``BEGIN IMMEDIATE`` before the head is read) for the
rest of the caller's transaction, so concurrent appends queue instead of forking. Lock order, to stay free of
deadlocks: the ``entries`` head, then entry rows, then the ``events`` head.

``verify`` streams each chain in seq order — raw driver rows of exactly the hashed columns, through
a server-side cursor on PostgreSQL — keeping only the previous hash and one batch in memory,
re-derives every state cache from the events, and re-hashes every evidence file once. A long
entries chain is cut into slices of ``CHUNK`` entries that several forked processes verify at
once (``LEDGER_VERIFY_WORKERS``, default: the CPU count up to 4); the slices are then joined in
order, so the problem reported is the first in chain order, as in one pass. It returns the
problems found, earliest entry first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing import get_context

from flask import current_app
from sqlalchemy import case, create_engine, func, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool
from sqlalchemy.types import NullType

from market import evidence as evidence_store
from market.extensions import db
from models.ledger import (
    GENESIS,
    EventKind,
    LedgerChain,
    LedgerEntry,
    LedgerEvent,
    chain_hash,
    entry_content,
    event_content,
)
from models.listings import Listing
from models.organisations import Organisation
from models.users import User

ENTRIES = "entries"
EVENTS = "events"


SQLITE_BUSY_TIMEOUT_MS = 15_000  # how long an append waits for SQLite's write lock before giving up


def take_write_lock() -> None:
    """SQLite: make this transaction the database's only writer now (``BEGIN IMMEDIATE``).

    SQLite has no row locks, and pysqlite opens a transaction lazily, at the first write: two
    appends would both read the same head, then the second, after waiting for the first, would
    insert a seq that now exists (``UNIQUE`` -> a 500). Taking the write lock before the head is
    read queues appends across threads and processes, as bookings do
    (``market.deals.common.serialise_writes``). If this transaction already wrote, it already holds
    the lock. PostgreSQL: a no-op (the head row is locked ``FOR UPDATE`` instead).
    """
    conn = db.session.connection()
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def lock_head(name: str) -> LedgerChain:
    """The chain's head row, locked until the transaction ends (created on first use).

    PostgreSQL: ``SELECT ... FOR UPDATE`` on the row; SQLite: the database's write lock, taken up
    front (:func:`take_write_lock`). Either way the head read here is the latest committed one.
    """
    take_write_lock()
    session = db.session
    # populate_existing: a head loaded before the lock (same session) must not hide a newer one
    stmt = (select(LedgerChain).where(LedgerChain.name == name).with_for_update()
            .execution_options(populate_existing=True))
    head = session.execute(stmt).scalar_one_or_none()
    if head is None:
        try:
            with session.begin_nested():
                session.add(LedgerChain(name=name, seq=0, head_hash=GENESIS))
        except IntegrityError:
            pass  # another transaction created it first; the select below waits for its lock
        head = session.execute(stmt).scalar_one()
    return head


def _uscc(org_id: int | None) -> str | None:
    org = db.session.get(Organisation, org_id) if org_id is not None else None
    return org.uscc if org is not None else None


def content_of_entry(entry: LedgerEntry) -> str:
    """The canonical content of ``entry``: ids resolved to stable keys (models.ledger docstring).

    ``session.get`` answers from the identity map after the first look-up, so a bulk import of
    entries between a few organisations costs no query per row.
    """
    session = db.session
    listing = session.get(Listing, entry.listing_id) if entry.listing_id is not None else None
    reverses = session.get(LedgerEntry, entry.reverses_id) if entry.reverses_id is not None else None
    return entry_content(
        entry.seq, entry.ref, entry.kind, _uscc(entry.payer_id), _uscc(entry.payee_id), entry.contract_id,
        listing.ref if listing is not None else None, entry.amount_cny, entry.paid_at,
        reverses.ref if reverses is not None else None, entry.idempotency_key, entry.confirmed_by_import,
        entry.evidence_json, entry.subsidies_json,
    )


def content_of_event(ev: LedgerEvent) -> str:
    """The canonical content of an event: its entry by ref, the actor by USCC and e-mail."""
    session = db.session
    entry = session.get(LedgerEntry, ev.entry_id)
    user = session.get(User, ev.user_id) if ev.user_id is not None else None
    return event_content(
        ev.seq, entry.ref, ev.kind, _uscc(ev.org_id), user.email if user is not None else None, ev.at,
        ev.reason, ev.doc_type, ev.sha256, ev.filename, ev.size,
    )


def append_entry(head: LedgerChain, **fields) -> LedgerEntry:
    """Add the next entry of the chain whose head the caller holds locked."""
    seq = head.seq + 1
    fields.setdefault("evidence_json", "[]")
    fields.setdefault("subsidies_json", "[]")
    fields.setdefault("confirmed_by_import", False)
    entry = LedgerEntry(seq=seq, prev_hash=head.head_hash, **fields)
    entry.entry_hash = chain_hash(head.head_hash, content_of_entry(entry))
    db.session.add(entry)
    head.seq, head.head_hash = seq, entry.entry_hash
    db.session.flush()
    return entry


def append_event(entry: LedgerEntry, kind: str, *, at: dt.datetime, org_id=None, user_id=None,
                 reason=None, doc_type=None, sha256=None, filename=None, size=None) -> LedgerEvent:
    """Add an event about ``entry`` to the events chain (locks the events head)."""
    head = lock_head(EVENTS)
    seq = head.seq + 1
    ev = LedgerEvent(
        seq=seq, entry_id=entry.id, kind=kind, org_id=org_id, user_id=user_id, at=at, reason=reason,
        doc_type=doc_type, sha256=sha256, filename=filename, size=size, prev_hash=head.head_hash,
    )
    ev.event_hash = chain_hash(head.head_hash, content_of_event(ev))
    db.session.add(ev)
    head.seq, head.head_hash = seq, ev.event_hash
    db.session.flush()
    return ev


# ---------------------------------------------------------------- verify
@dataclass(frozen=True)
class Problem:
    entry_seq: int | None  # the entry to name (for an event, its entry; None = the chain as a whole)
    ref: str | None
    message: str

    def __str__(self) -> str:
        if self.entry_seq is None:
            return f"chain: {self.message}"
        where = f"entry {self.entry_seq} ({self.ref})" if self.ref else f"entry {self.entry_seq}"
        return f"{where}: {self.message}"


@dataclass
class VerifyResult:
    entries: int = 0
    events: int = 0
    files: int = 0
    problems: list[Problem] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        if not self.problems:
            return None
        return min(self.problems, key=lambda p: (p.entry_seq is None, p.entry_seq or 0))


E, V = LedgerEntry.__table__, LedgerEvent.__table__
BATCH = 10_000
CHUNK = 250_000  # entries per slice of the chain: a unit of progress, and of work for a process
PARALLEL_MIN = 200_000  # below this, one process: forking and connecting would cost more than it saves
_SHA_IN_JSON = re.compile(r'"sha256":"([0-9a-f]{64})"')


def _raw(col):
    """The column as the driver returns it: no SQLAlchemy result processing (Decimal/UTCDateTime)
    per row. ``entry_content``/``event_content`` accept those raw values (see models.ledger)."""
    return type_coerce(col, NullType())


def _entries_stmt():
    """Exactly the hashed columns, the reversed entry's ref joined in, in seq order."""
    R = E.alias("reversed")
    return (
        select(
            E.c.seq, E.c.ref, E.c.kind, E.c.payer_id, E.c.payee_id, E.c.contract_id, E.c.listing_id,
            _raw(E.c.amount_cny), _raw(E.c.paid_at), R.c.ref, E.c.idempotency_key,
            _raw(E.c.confirmed_by_import), E.c.evidence_json, E.c.subsidies_json, E.c.prev_hash,
            E.c.entry_hash,
        )
        .select_from(E.outerjoin(R, R.c.id == E.c.reverses_id))
        .order_by(E.c.seq)
    )


def _events_stmt():
    U = User.__table__
    return (
        select(
            V.c.seq, V.c.entry_id, E.c.seq, E.c.ref, V.c.kind, V.c.org_id, U.c.email, _raw(V.c.at),
            V.c.reason, V.c.doc_type, V.c.sha256, V.c.filename, V.c.size, V.c.prev_hash, V.c.event_hash,
        )
        .select_from(V.outerjoin(E, E.c.id == V.c.entry_id).outerjoin(U, U.c.id == V.c.user_id))
        .order_by(V.c.seq)
    )


def _stream(conn, stmt, name: str):
    """Plain tuples in batches: memory stays flat whatever the chain's length.

    The Core ``select`` is compiled once and run on the driver's own cursor — a server-side (named)
    cursor on PostgreSQL — so no SQLAlchemy ``Row`` is built per row: at a million rows that
    result processing was half of ``verify``'s time. Other dialects stream through SQLAlchemy.
    """
    dialect = conn.dialect.name
    if dialect not in ("postgresql", "sqlite"):
        # per-statement options: Connection.execution_options() would change the connection for good
        result = conn.execute(stmt, execution_options={"stream_results": True, "yield_per": BATCH})
        for partition in result.partitions():
            yield from partition
        return
    # the only parameters are the slice's integer bounds: rendered inline, whatever the paramstyle
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    driver = conn.connection.driver_connection
    cursor = driver.cursor(name=name) if dialect == "postgresql" else driver.cursor()
    try:
        cursor.execute(sql)
        fetch = cursor.fetchmany
        while rows := fetch(BATCH):
            yield from rows
    finally:
        cursor.close()


def _key_maps() -> tuple[dict[int, str], dict[int, str]]:
    """Organisation id -> USCC and listing id -> ref, loaded once: both are few next to entries."""
    orgs = dict(db.session.execute(select(Organisation.id, Organisation.uscc)).all())
    listings = dict(db.session.execute(select(Listing.id, Listing.ref)).all())
    return orgs, listings


@dataclass
class _Slice:
    """What one slice of the entries chain (seq ``lo``..``hi``) found. The slice checks its own rows
    (contiguous seqs, links, hashes); how it joins the slice before is checked by ``_check_entries``."""

    count: int = 0
    first_seq: int | None = None
    first_ref: str | None = None
    first_prev: str | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    problem: Problem | None = None
    files: dict[str, int] = field(default_factory=dict)  # sha256 -> first entry seq using it


def _verify_slice(conn, lo: int, hi: int, uscc: dict[int, str], listing_ref: dict[int, str],
                  check_files: bool) -> _Slice:
    out = _Slice()
    rows = _stream(conn, _entries_stmt().where(E.c.seq.between(lo, hi)), f"ledger_verify_{lo}")
    first = next(rows, None)
    if first is None:
        return out
    out.first_seq, out.first_ref, out.first_prev = first[0], first[1], first[14]
    files = out.files
    uscc_of, listing_of = uscc.get, listing_ref.get
    sha256, econtent, findall = hashlib.sha256, entry_content, _SHA_IN_JSON.findall
    prev, expected = first[14], first[0]
    # the hot path (a million rows): locals only, chain_hash inlined
    for (seq, ref, kind, payer, payee, contract, listing, amount, paid_at, reverses_ref, idem, confirmed,
         ev_json, sub_json, prev_hash, entry_hash) in itertools.chain((first,), rows):
        if seq != expected:
            out.problem = Problem(expected, None, f"entry {expected} is missing (next is {seq})")
            break
        if prev_hash != prev:
            out.problem = Problem(seq, ref, "prev_hash does not match the previous entry's hash")
            break
        content = econtent(seq, ref, kind, uscc_of(payer), uscc_of(payee), contract,
                           None if listing is None else listing_of(listing, f"?{listing}"), amount, paid_at,
                           reverses_ref, idem, confirmed, ev_json, sub_json)
        if sha256(f"{prev_hash}\x1e{content}".encode()).hexdigest() != entry_hash:
            out.problem = Problem(seq, ref, "entry_hash does not match the entry's content")
            break
        if check_files and '"sha256":"' in ev_json:
            for sha in findall(ev_json):
                if sha not in files:
                    files[sha] = seq
        prev = entry_hash
        expected += 1
    out.count = expected - out.first_seq
    out.last_seq, out.last_hash = expected - 1, prev
    return out


def _verify_slice_in_child(url: str, lo: int, hi: int, uscc, listing_ref, check_files: bool) -> _Slice:
    """A worker process (forked): its own connection, never the parent's (NullPool, closed after)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return _verify_slice(conn, lo, hi, uscc, listing_ref, check_files)
    finally:
        engine.dispose()


def _parallel_ok(conn) -> bool:
    if conn.dialect.name == "postgresql":
        return True
    return conn.dialect.name == "sqlite" and conn.engine.url.database not in (None, "", ":memory:")


def _entry_slices(check_files: bool, workers: int, meanwhile: Callable[[], None]) -> Iterator[_Slice]:
    """The entries chain in slices of about ``CHUNK`` entries, in seq order: verified here, or by
    ``workers`` forked processes at once when the chain is long (the work is CPU-bound: decoding
    rows and hashing; each process holds one batch of rows, so memory stays flat)."""
    conn = db.session.connection()
    low, high, count = conn.execute(select(func.min(E.c.seq), func.max(E.c.seq), func.count())).one()
    if not count:
        meanwhile()
        return
    n = -(-count // CHUNK)
    step = -(-(high - low + 1) // n)
    bounds = [(lo, min(lo + step - 1, high)) for lo in range(low, high + 1, step)]
    uscc, listing_ref = _key_maps()
    if workers > 1 and count >= PARALLEL_MIN and len(bounds) > 1 and _parallel_ok(conn):
        url = conn.engine.url.render_as_string(hide_password=False)
        # fork: the children need no app start-up; they only read, through their own connections
        pool = ProcessPoolExecutor(max_workers=min(workers, len(bounds)), mp_context=get_context("fork"))
        try:
            futures = [pool.submit(_verify_slice_in_child, url, lo, hi, uscc, listing_ref, check_files)
                       for lo, hi in bounds]
            meanwhile()  # this process is free while the workers hash
            for future in futures:
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        meanwhile()
        for lo, hi in bounds:
            yield _verify_slice(conn, lo, hi, uscc, listing_ref, check_files)


def _check_entries(res: VerifyResult, files: dict[str, int], progress, check_files: bool, workers: int,
                   meanwhile: Callable[[], None]) -> None:
    """Join the slices in seq order: the first problem in chain order is the one reported."""
    problems = res.problems
    prev, expected = GENESIS, 1
    for part in _entry_slices(check_files, workers, meanwhile):
        if part.first_seq is None:
            continue
        if part.first_seq != expected:
            problems.append(Problem(expected, None, f"entry {expected} is missing (next is {part.first_seq})"))
            return
        if part.first_prev != prev:
            problems.append(Problem(part.first_seq, part.first_ref, "prev_hash does not match the previous entry's hash"))
            return
        for sha, seq in part.files.items():
            files.setdefault(sha, seq)
        res.entries += part.count
        if part.problem is not None:
            problems.append(part.problem)
            return
        prev, expected = part.last_hash, part.last_seq + 1
        if progress:
            progress("entries", res.entries)
    head = db.session.get(LedgerChain, ENTRIES)
    head_seq, head_hash = (head.seq, head.head_hash) if head else (0, GENESIS)
    if (head_seq, head_hash) != (res.entries, prev):
        problems.append(Problem(res.entries + 1, None,
                                f"the chain head says {head_seq} entries; found {res.entries} (entries removed?)"))


def default_workers() -> int:
    configured = current_app.config.get("LEDGER_VERIFY_WORKERS")
    return int(configured) if configured else min(os.cpu_count() or 1, 4)


def verify(progress: Callable[[str, int], None] | None = None, check_files: bool = True,
           workers: int | None = None) -> VerifyResult:
    res = VerifyResult(problems=[])
    problems = res.problems
    files: dict[str, int] = {}  # sha256 -> first entry seq using it (distinct files only)

    # 1. the entries chain; meanwhile (while worker processes hash) 3. the state cache must be what
    # the events (or a confirmed import) say: one SQL query, reported after the chains
    state: list[tuple[int, str] | None] = []
    _check_entries(res, files, progress, check_files, default_workers() if workers is None else workers,
                   lambda: state.append(_first_state_mismatch()))
    uscc_of = _key_maps()[0].get

    # 2. the events chain
    prev, expected = GENESIS, 1
    for (seq, entry_id, entry_seq, entry_ref, kind, org_id, email, at, reason, doc_type, sha, filename, size,
         prev_hash, event_hash) in _stream(db.session.connection(), _events_stmt(), "ledger_verify_events"):
        bad = None
        if seq != expected:
            bad = f"event {expected} is missing (next is {seq})"
        elif prev_hash != prev:
            bad = f"event {seq}: prev_hash does not match the previous event's hash"
        elif entry_ref is None:
            bad = f"event {seq} ({kind}): its entry {entry_id} is missing"
        elif chain_hash(prev_hash, event_content(seq, entry_ref, kind, None if org_id is None else uscc_of(org_id, f"?{org_id}"),
                                                 email, at, reason, doc_type, sha, filename, size)) != event_hash:
            bad = f"event {seq} ({kind}): event_hash does not match its content"
        if bad:
            problems.append(Problem(entry_seq, entry_ref, bad))
            break
        if check_files and sha:
            files.setdefault(sha, entry_seq)
        prev, expected = event_hash, expected + 1
        res.events += 1
    else:
        head = db.session.get(LedgerChain, EVENTS)
        head_seq, head_hash = (head.seq, head.head_hash) if head else (0, GENESIS)
        if (head_seq, head_hash) != (res.events, prev):
            problems.append(Problem(None, None, f"the events chain head says {head_seq} events; found {res.events} (events removed?)"))

    # 3. (queried above)
    mismatch = state[0] if state else _first_state_mismatch()
    if mismatch is not None:
        problems.append(Problem(mismatch[0], mismatch[1], "confirmation/dispute state does not match the recorded events"))

    # 4. every evidence file, once
    if check_files:
        for sha, seq in sorted(files.items(), key=lambda kv: kv[1]):
            res.files += 1
            if not evidence_store.file_matches(sha):
                ref = db.session.execute(select(LedgerEntry.ref).where(LedgerEntry.seq == seq)).scalar()
                problems.append(Problem(seq, ref, f"evidence file {sha} is missing or altered"))
                break
    return res


def _first_state_mismatch() -> tuple[int, str] | None:
    """The first entry whose set-once state columns disagree with its events (one SQL query)."""
    E, V = LedgerEntry, LedgerEvent

    def first_at(kind: str):
        return func.min(case((V.kind == kind, V.at)))

    agg = (
        select(
            V.entry_id.label("entry_id"),
            first_at(EventKind.PAYER_CONFIRMED).label("payer_at"),
            first_at(EventKind.PAYEE_CONFIRMED).label("payee_at"),
            first_at(EventKind.DISPUTED).label("disputed_at"),
            first_at(EventKind.DISPUTE_RESOLVED).label("resolved_at"),
            func.min(case((V.kind == EventKind.DISPUTED, V.org_id))).label("disputed_by"),
            func.min(case((V.kind == EventKind.DISPUTED, V.reason))).label("reason"),
        )
        .group_by(V.entry_id)
        .subquery()
    )
    imported = case((E.confirmed_by_import, E.recorded_at))
    stmt = (
        select(E.seq, E.ref)
        .outerjoin(agg, agg.c.entry_id == E.id)
        .where(
            E.payer_confirmed_at.is_distinct_from(func.coalesce(imported, agg.c.payer_at))
            | E.payee_confirmed_at.is_distinct_from(func.coalesce(imported, agg.c.payee_at))
            | E.disputed_at.is_distinct_from(agg.c.disputed_at)
            | E.dispute_resolved_at.is_distinct_from(agg.c.resolved_at)
            | E.disputed_by_id.is_distinct_from(agg.c.disputed_by)
            | E.dispute_reason.is_distinct_from(agg.c.reason)
        )
        .order_by(E.seq)
        .limit(1)
    )
    row = db.session.execute(stmt).first()
    return (row[0], row[1]) if row else None


def remaining(entry: LedgerEntry) -> Decimal:
    """What is left of ``entry`` after the reversing entries already recorded against it."""
    reversed_sum = db.session.execute(
        select(func.coalesce(func.sum(LedgerEntry.amount_cny), 0)).where(LedgerEntry.reverses_id == entry.id)
    ).scalar_one()
    return Decimal(entry.amount_cny) + Decimal(reversed_sum)


__all__ = ["ENTRIES", "EVENTS", "lock_head", "append_entry", "append_event", "verify", "remaining"]
