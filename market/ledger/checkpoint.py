"""Checkpoints: the chain's head written down outside the database (issue 8, item 11).

The hash chain shows that the rows agree with each other, not that they are the rows that were
written: someone with write access to the database can change an amount and recompute every hash
after it, and ``ledger verify`` still passes. A checkpoint pins the head as it was at a moment —
``{"seq", "hash", "at", "events_seq", "events_hash"}``, one JSON line — in an append-only file
outside the database (``LEDGER_CHECKPOINT_FILE``, default ``instance/ledger-checkpoints.jsonl``;
in production point it at storage the database's administrators cannot rewrite, and copy the
printed line elsewhere). The latest checkpoint is also shown on the public home page, so anybody
can write it down. ``ledger verify --checkpoint FILE`` then proves that the chain still passes
through every recorded head: for each line, the entry at ``seq`` exists and its stored hash is the
recorded one (``verify`` itself proves the stored hashes match the content), and likewise the
event at ``events_seq``. A rewrite of anything at or before a checkpoint changes that entry's hash.

``flask --app market ledger checkpoint`` takes one; the scheduler takes one a day
(``ledger.checkpoint``, idempotent per Beijing calendar day). Before appending, the file's earlier
checkpoints are checked: a chain that no longer passes through them is refused, never re-anchored.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from market.domain.localtime import SHANGHAI
from market.extensions import db
from models.ledger import GENESIS, LedgerChain, LedgerEntry, LedgerEvent

from .chain import ENTRIES, EVENTS


class CheckpointError(Exception):
    """A checkpoint cannot be taken (the chain no longer passes through an earlier one, or its head
    row disagrees with its last entry)."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: dt.datetime
    events_seq: int | None = None
    events_hash: str | None = None
    line: int | None = None  # where it was read from

    @property
    def at_text(self) -> str:
        """``at`` as written: ISO 8601 in UTC with a ``Z``."""
        return self.at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")

    def to_json(self) -> str:
        record = {"seq": self.seq, "hash": self.hash, "at": self.at_text}
        if self.events_seq is not None:
            record.update(events_seq=self.events_seq, events_hash=self.events_hash)
        return json.dumps(record, sort_keys=True, separators=(",", ":"))

    @property
    def local_at(self) -> dt.datetime:
        return self.at.astimezone(SHANGHAI)


@dataclass(frozen=True)
class Failure:
    """The first checkpoint the chain no longer passes through."""

    line: int
    seq: int | None
    at: str | None
    message: str

    def __str__(self) -> str:
        where = f"checkpoint line {self.line}"
        if self.seq is not None:
            where += f" (seq {self.seq}, {self.at})"
        return f"{where}: {self.message}"


def checkpoint_path() -> Path:
    configured = current_app.config.get("LEDGER_CHECKPOINT_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / "ledger-checkpoints.jsonl"


# ---------------------------------------------------------------- reading
def parse_line(text: str, line: int) -> Checkpoint:
    """One checkpoint line; ``ValueError`` with a plain message if it is not one."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("not a JSON object") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    seq, hash_, at = record.get("seq"), record.get("hash"), record.get("at")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("seq must be a whole number")
    if not isinstance(hash_, str) or len(hash_) != 64:
        raise ValueError("hash must be 64 hex digits")
    try:
        moment = dt.datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("at must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError("at must carry an offset")
    events_seq, events_hash = record.get("events_seq"), record.get("events_hash")
    if events_seq is not None and (not isinstance(events_seq, int) or not isinstance(events_hash, str)):
        raise ValueError("events_seq/events_hash malformed")
    return Checkpoint(seq, hash_, moment, events_seq, events_hash, line)


def read_lines(path: Path) -> list[tuple[int, str]]:
    """The file's non-blank lines with their line numbers (from 1)."""
    with open(path, encoding="utf-8") as f:
        return [(n, text.strip()) for n, text in enumerate(f, start=1) if text.strip()]


def latest(path: Path | None = None) -> Checkpoint | None:
    """The last checkpoint in the file (None if there is none or it cannot be read). Reads only the
    file's tail: the home page shows it on every view."""
    path = path or checkpoint_path()
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 4096))
            tail = f.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = [t.strip() for t in tail.splitlines() if t.strip()]
    if not lines:
        return None
    try:
        return parse_line(lines[-1], 0)
    except ValueError:
        return None


# ---------------------------------------------------------------- checking
def _check_one(cp: Checkpoint) -> str | None:
    """Why the chain no longer passes through ``cp`` (None: it does)."""
    if cp.seq == 0:
        return None if cp.hash == GENESIS else "seq 0 must carry the genesis hash"
    stored = db.session.execute(select(LedgerEntry.entry_hash).where(LedgerEntry.seq == cp.seq)).scalar()
    if stored is None:
        return f"entry {cp.seq} is missing"
    if stored != cp.hash:
        return f"entry {cp.seq} has hash {stored[:16]}…, the checkpoint recorded {cp.hash[:16]}… (rewritten)"
    if cp.events_seq:
        ev_hash = db.session.execute(select(LedgerEvent.event_hash).where(LedgerEvent.seq == cp.events_seq)).scalar()
        if ev_hash is None:
            return f"event {cp.events_seq} is missing"
        if ev_hash != cp.events_hash:
            return (f"event {cp.events_seq} has hash {ev_hash[:16]}…, the checkpoint recorded "
                    f"{(cp.events_hash or '')[:16]}… (rewritten)")
    return None


def check(path: Path) -> tuple[int, Failure | None]:
    """How many checkpoints in ``path`` hold, and the first that does not (line order)."""
    held = 0
    for n, text in read_lines(path):
        try:
            cp = parse_line(text, n)
        except ValueError as err:
            return held, Failure(n, None, None, f"unreadable checkpoint: {err}")
        problem = _check_one(cp)
        if problem is not None:
            return held, Failure(n, cp.seq, cp.at_text, problem)
        held += 1
    return held, None


# ---------------------------------------------------------------- taking
def current_head(now: dt.datetime | None = None) -> Checkpoint:
    """Both chains' heads as committed, cross-checked against their last rows."""
    heads = {h.name: h for h in db.session.execute(select(LedgerChain)).scalars()}
    entries, events = heads.get(ENTRIES), heads.get(EVENTS)
    seq, hash_ = (entries.seq, entries.head_hash) if entries else (0, GENESIS)
    ev_seq, ev_hash = (events.seq, events.head_hash) if events else (0, GENESIS)
    cp = Checkpoint(seq, hash_, now or dt.datetime.now(dt.UTC), ev_seq, ev_hash)
    problem = _check_one(cp)
    if problem is not None:
        raise CheckpointError(f"the chain head disagrees with its rows: {problem}")
    return cp


def take(path: Path | None = None, now: dt.datetime | None = None, once_per_day: bool = False) -> Checkpoint | None:
    """Append the current head to the checkpoint file (``O_APPEND``, fsync) and return it.

    ``once_per_day``: do nothing (return None) if the file already has a checkpoint of today's
    Beijing date (the scheduler's job: a repeated run changes nothing). Raises
    :class:`CheckpointError` if the chain no longer passes through an earlier checkpoint.
    """
    path = path or checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one writer at a time: the CLI and the scheduler
        _held, failure = check(path)
        if failure is not None:
            raise CheckpointError(f"refused: the chain no longer passes through {failure}")
        cp = current_head(now)
        if once_per_day:
            last = latest(path)
            if last is not None and last.local_at.date() == cp.local_at.date():
                return None
        os.write(fd, (cp.to_json() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock
    if created:  # the new file's name must survive a crash too
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return cp


def daily_checkpoint() -> Checkpoint | None:
    """Scheduler job ``ledger.checkpoint``: one checkpoint per Beijing calendar day."""
    try:
        return take(once_per_day=True)
    finally:
        db.session.rollback()  # end the read transaction


__all__ = ["Checkpoint", "CheckpointError", "Failure", "checkpoint_path", "check", "latest", "take",
           "daily_checkpoint"]
