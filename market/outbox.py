"""Side effects after commit, through the database: ``enqueue`` now, ``drain`` after the commit.

A service that wants something done outside the database (mail, a search-index update, a
saved-search alert) calls ``enqueue(topic, payload)`` in the caller's transaction: the row exists if
and only if the change was committed. One drain delivers the rows afterwards:

- the scheduler runs ``drain`` every minute (``outbox.drain`` job; exactly one scheduler process);
- in development and tests (``OUTBOX_DRAIN_AFTER_REQUEST``) a request that enqueued rows drains
  them after its response has been sent, in a fresh app context (so the user never waits for SMTP
  and never sees its failure);
- ``flask --app market outbox drain`` does it by hand.

``drain`` claims due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two drains never take the
same row; SQLite has one writer at a time) by leasing them for ``OUTBOX_LEASE_SECONDS``, then for
each row (or each batch of a batch topic) calls the topic's handler and marks the row delivered in
its own short transaction, together with whatever the handler wrote to the database. A failure
is logged, the handler's writes are rolled back, and the row is retried after an exponential
back-off (1, 2, 4 … minutes, capped at an hour); after ``OUTBOX_MAX_ATTEMPTS`` failures it is
dead (``outbox list --dead``, ``outbox retry ID``). A crash between a delivery and its mark
re-delivers that row once the lease runs out: handlers are idempotent (index upserts, alerts
recorded per listing, mail carries a Message-ID derived from the row for deduplication).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import delete, func, select, update

from market.extensions import db
from models.base import utcnow
from models.outbox import OutboxMessage, OutboxStatus

log = logging.getLogger("market.outbox")

DEFAULTS = {
    "OUTBOX_MAX_ATTEMPTS": 10,  # 1+2+4+…+60+60+60 minutes: about six hours of retries, then dead
    "OUTBOX_BACKOFF_SECONDS": 60,
    "OUTBOX_BACKOFF_MAX_SECONDS": 3600,
    "OUTBOX_LEASE_SECONDS": 300,  # a claimed row is hidden from other drains this long
    "OUTBOX_BATCH": 200,  # rows claimed at a time
    "OUTBOX_DEFER_SECONDS": 60,  # a handler that raised Defer (busy, not broken) is retried after this
    "OUTBOX_KEEP_DAYS": 7,  # delivered rows are purged after this
}
_ENQUEUED = "market_outbox_enqueued"


def _cfg(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


# ---------------------------------------------------------------- handlers


@dataclasses.dataclass(frozen=True)
class Message:
    """What a handler gets: one claimed row, detached from the session."""

    id: int
    topic: str
    payload: dict[str, Any]
    created_at: dt.datetime
    attempts: int


@dataclasses.dataclass(frozen=True)
class Handler:
    topic: str
    func: Callable[[Any], Any]
    batch: bool  # True: called once with a list of messages of this topic


_handlers: dict[str, Handler] = {}


def register(topic: str, func: Callable[[Any], Any], *, batch: bool = False) -> None:
    """Deliver ``topic`` with ``func(message)`` (or ``func([messages])`` when ``batch``)."""
    _handlers[topic] = Handler(topic, func, batch)


def handler(topic: str, *, batch: bool = False) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    def decorate(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
        register(topic, func, batch=batch)
        return func

    return decorate


def topics() -> list[str]:
    return sorted(_handlers)


class Defer(Exception):  # noqa: N818 (not an error: "try again shortly")
    """Raised by a handler that cannot deliver *now* for a reason that is not a failure (the search
    index is locked by a rebuild): the rows wait ``OUTBOX_DEFER_SECONDS`` without using an attempt."""


# ---------------------------------------------------------------- enqueue


def enqueue(topic: str, payload: dict[str, Any], *, delay: dt.timedelta | None = None) -> OutboxMessage:
    """Write a row in the caller's transaction; it is delivered after the commit, never before."""
    if topic not in _handlers:
        raise ValueError(f"no outbox handler for topic {topic!r} (known: {', '.join(topics())})")
    now = utcnow()
    row = OutboxMessage(topic=topic, payload=payload, created_at=now, available_at=now + (delay or dt.timedelta()))
    db.session.add(row)
    db.session.info[_ENQUEUED] = True
    return row


# ---------------------------------------------------------------- drain


@dataclasses.dataclass
class DrainReport:
    delivered: int = 0
    failed: int = 0  # will be retried
    dead: int = 0  # gave up
    deferred: int = 0
    lost: int = 0  # marked by another drain first (our lease ran out): our work was rolled back

    @property
    def claimed(self) -> int:
        return self.delivered + self.failed + self.dead + self.deferred + self.lost

    def __str__(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in dataclasses.asdict(self).items())


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failure: 1, 2, 4, 8 … minutes, capped."""
    seconds = _cfg("OUTBOX_BACKOFF_SECONDS") * 2 ** max(0, attempts - 1)
    return dt.timedelta(seconds=min(seconds, _cfg("OUTBOX_BACKOFF_MAX_SECONDS")))


_sqlite_drain = threading.RLock()  # re-entrant: a handler may drain (reindex → sync_outbox)


def drain(limit: int = 1000, now: dt.datetime | None = None, topics: Iterable[str] | None = None) -> DrainReport:
    """Deliver up to ``limit`` due rows (rows enqueued by handlers meanwhile included). Owns its
    transactions: call it with nothing pending in the session.

    On SQLite, drains in one process take turns: two writers there can deadlock ("database is
    locked" without waiting), and one writer at a time is all SQLite offers anyway. PostgreSQL
    drains run side by side, each skipping the rows another has locked.
    """
    if db.engine.dialect.name == "sqlite":
        with _sqlite_drain:
            return _drain(limit, now, topics)
    return _drain(limit, now, topics)


def _drain(limit: int, now: dt.datetime | None, topics: Iterable[str] | None) -> DrainReport:
    report = DrainReport()
    wanted = tuple(topics) if topics else None
    while report.claimed < limit:
        moment = now or utcnow()
        batch = _claim(min(_cfg("OUTBOX_BATCH"), limit - report.claimed), moment, wanted)
        if not batch:
            break
        for unit in _units(batch):
            _deliver(unit, moment, report)
    if report.claimed:
        log.info("outbox drain: %s", report)
    return report


def _claim(n: int, now: dt.datetime, wanted: tuple[str, ...] | None) -> list[Message]:
    """Lease up to ``n`` due rows to this drain, in one short transaction."""
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(n)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders nothing (one writer at a time)
    )
    if wanted:
        due = due.where(OutboxMessage.topic.in_(wanted))
    lease = now + dt.timedelta(seconds=_cfg("OUTBOX_LEASE_SECONDS"))
    rows = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(available_at=lease)
        .returning(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.payload, OutboxMessage.created_at, OutboxMessage.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return sorted((Message(*row) for row in rows), key=lambda m: m.id)


def _units(batch: list[Message]) -> list[list[Message]]:
    """One unit per row, or one per topic for batch handlers (the index takes 200 changes at once)."""
    units: list[list[Message]] = []
    grouped: dict[str, list[Message]] = {}
    for msg in batch:
        h = _handlers.get(msg.topic)
        if h is not None and h.batch:
            if msg.topic not in grouped:
                grouped[msg.topic] = []
                units.append(grouped[msg.topic])
            grouped[msg.topic].append(msg)
        else:
            units.append([msg])
    return units


def _deliver(unit: list[Message], now: dt.datetime, report: DrainReport) -> None:
    ids = [m.id for m in unit]
    h = _handlers.get(unit[0].topic)
    try:
        if h is None:
            raise LookupError(f"no outbox handler for topic {unit[0].topic!r}")
        h.func(unit if h.batch else unit[0])
        marked = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.DELIVERED, delivered_at=utcnow(), attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if marked != len(ids):  # another drain took these after our lease ran out and marked them
            db.session.rollback()
            log.warning("outbox rows %s were delivered by another drain; this drain's work rolled back", ids)
            report.lost += len(ids)
            return
        db.session.commit()
        report.delivered += len(ids)
    except Defer as err:
        db.session.rollback()
        later = now + dt.timedelta(seconds=_cfg("OUTBOX_DEFER_SECONDS"))
        _update(ids, available_at=later, last_error=f"deferred: {err}"[:2000])
        db.session.commit()
        report.deferred += len(ids)
    except Exception as err:
        db.session.rollback()
        log.warning("outbox %s %s failed: %r", unit[0].topic, ids, err, exc_info=True)
        limit = _cfg("OUTBOX_MAX_ATTEMPTS")
        for msg in unit:
            attempts = msg.attempts + 1
            dead = attempts >= limit
            _update(
                [msg.id], attempts=attempts, last_error=repr(err)[:2000], available_at=now + backoff(attempts),
                status=OutboxStatus.DEAD if dead else OutboxStatus.PENDING,
            )
            if dead:
                log.error("outbox row %s (%s) is dead after %d attempts: %r", msg.id, msg.topic, attempts, err)
                report.dead += 1
            else:
                report.failed += 1
        db.session.commit()


def _update(ids: Sequence[int], **values: Any) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def pending(topic: str) -> list[Message]:
    """Every undelivered row of ``topic`` (for a rebuild that covers them all)."""
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.payload, OutboxMessage.created_at, OutboxMessage.attempts)
        .where(OutboxMessage.topic == topic, OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.id)
    ).all()
    return [Message(*row) for row in rows]


def mark_delivered(ids: Sequence[int]) -> None:
    """Mark rows delivered in the caller's transaction (their effect was achieved another way)."""
    for i in range(0, len(ids), 500):
        _update(ids[i : i + 500], status=OutboxStatus.DELIVERED, delivered_at=utcnow())


def drain_job() -> DrainReport:
    """The scheduler's job (every minute): idempotent, a second run finds nothing due."""
    return drain()


def purge() -> int:
    """Forget rows delivered more than ``OUTBOX_KEEP_DAYS`` ago (dead rows stay until retried)."""
    cutoff = utcnow() - dt.timedelta(days=_cfg("OUTBOX_KEEP_DAYS"))
    result = db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DELIVERED, OutboxMessage.delivered_at < cutoff)
    )
    db.session.commit()
    return result.rowcount or 0


def retry(row_id: int) -> OutboxMessage:
    """Give a dead (or waiting) row a fresh set of attempts, due now."""
    row = db.session.get(OutboxMessage, row_id)
    if row is None or row.status == OutboxStatus.DELIVERED:
        raise LookupError(f"no undelivered outbox row {row_id}")
    row.status, row.attempts, row.available_at = OutboxStatus.PENDING, 0, utcnow()
    db.session.commit()
    return row


def dead_count() -> int:
    return db.session.execute(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD)
    ).scalar_one()


# ---------------------------------------------------------------- after the response (development, tests)


def _drain_after_response(app: Flask) -> None:
    with app.app_context():  # a fresh session: the request's is gone (or, in tests, the test's own)
        try:
            drain(limit=int(app.config.get("OUTBOX_DRAIN_AFTER_REQUEST_LIMIT", 500)))
        except Exception:  # the response is sent already; the rows wait for the next drain
            log.exception("outbox drain after the response failed; rows left for the next drain")


def init_app(app: Flask) -> None:
    from market.scheduler import register_job

    register_job("outbox.drain", drain_job, "interval", minutes=1)
    register_job("outbox.purge", purge, "cron", hour=3, minute=30)

    @app.after_request
    def _drain_later(response):
        if app.config.get("OUTBOX_DRAIN_AFTER_REQUEST") and db.session.info.pop(_ENQUEUED, False):
            response.call_on_close(lambda: _drain_after_response(app))
        return response


# ---------------------------------------------------------------- CLI

outbox_cli = AppGroup("outbox", help="Side effects after commit: mail, search index, saved-search alerts.")


@outbox_cli.command("drain")
@click.option("--limit", default=10000, show_default=True, help="At most this many rows.")
@click.option("--topic", "topic_names", multiple=True, help="Only these topics (repeatable).")
def drain_cmd(limit: int, topic_names: tuple[str, ...]) -> None:
    """Deliver every due row now (what the scheduler does every minute)."""
    click.echo(str(drain(limit=limit, topics=topic_names or None)))


@outbox_cli.command("list")
@click.option("--dead", is_flag=True, help="Only rows that gave up.")
@click.option("--pending", is_flag=True, help="Only rows still to deliver.")
@click.option("--limit", default=50, show_default=True)
def list_cmd(dead: bool, pending: bool, limit: int) -> None:
    """Counts by topic and status, then the newest rows (id, topic, status, attempts, due, last error)."""
    counts = db.session.execute(
        select(OutboxMessage.topic, OutboxMessage.status, func.count()).group_by(OutboxMessage.topic, OutboxMessage.status)
    ).all()
    for topic, status, n in sorted(counts):
        click.echo(f"{topic}\t{status}\t{n}")
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if dead:
        stmt = stmt.where(OutboxMessage.status == OutboxStatus.DEAD)
    elif pending:
        stmt = stmt.where(OutboxMessage.status == OutboxStatus.PENDING)
    else:
        stmt = stmt.where(OutboxMessage.status != OutboxStatus.DELIVERED)
    for row in db.session.execute(stmt).scalars():
        error = (row.last_error or "").replace("\n", " ")[:120]
        click.echo(f"#{row.id}\t{row.topic}\t{row.status}\tattempts={row.attempts}\tdue={row.available_at:%Y-%m-%d %H:%M:%S}Z\t{error}")


@outbox_cli.command("retry")
@click.argument("row_id", type=int)
def retry_cmd(row_id: int) -> None:
    """Revive a dead row (fresh attempts, due now)."""
    try:
        row = retry(row_id)
    except LookupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"outbox row {row.id} ({row.topic}) is due again")


def register_cli(app: Flask) -> None:
    app.cli.add_command(outbox_cli)
