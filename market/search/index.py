"""The on-disk index: where it lives, one writer at a time, atomic rebuilds.

Layout under ``SEARCH_INDEX_DIR``::

    current -> ix-20260301T101500-ab12   (symlink, swapped atomically by reindex)
    ix-.../                              (Whoosh index directories, each with its analysis-version stamp)
    writer.lock                          (fcntl lock: one index writer across all processes)

Every writer (outbox sync, reindex) takes ``writer.lock`` first, then opens a Whoosh writer with a
timeout, so gunicorn workers queue up instead of failing; a caller that cannot get the lock in
time leaves its outbox rows for the next sync (never a ``LockError`` for the user).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import secrets
import shutil
import threading
import time
from pathlib import Path

from whoosh import index as windex

from .analysis import ANALYSIS_VERSION, make_schema

STAMP = "analysis-version"  # in each index directory: the ANALYSIS_VERSION it was built with


class IndexBusy(Exception):
    """Another process holds the writer lock for longer than we were willing to wait."""


_schema = None
_schema_lock = threading.Lock()


def schema():
    global _schema
    if _schema is None:
        with _schema_lock:
            if _schema is None:
                _schema = make_schema()
    return _schema


class IndexStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._cache: tuple[str, object] | None = None
        self._cache_lock = threading.Lock()
        self._local = threading.local()

    # ------------------------------------------------------------ locations
    @property
    def current_link(self) -> Path:
        return self.root / "current"

    def current_dir(self) -> Path | None:
        link = self.current_link
        if not link.exists():
            return None
        return link.resolve()

    def _new_dir(self) -> Path:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        path = self.root / f"ix-{stamp}-{secrets.token_hex(3)}"
        path.mkdir(parents=True)
        (path / STAMP).write_text(f"{ANALYSIS_VERSION}\n", encoding="ascii")
        return path

    @staticmethod
    def analysis_version(path: Path) -> int:
        """The ANALYSIS_VERSION an index directory was built with (1: from before the stamp)."""
        try:
            return int((path / STAMP).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return 1

    # ------------------------------------------------------------ locking
    @contextlib.contextmanager
    def writer_lock(self, timeout: float = 10.0):
        """The cross-process writer lock (fcntl); raises IndexBusy after ``timeout`` seconds."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "writer.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as err:
                    if err.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise IndexBusy() from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # ------------------------------------------------------------ open / create
    def ensure(self):
        """The current index, created empty if there is none yet. Call under the writer lock."""
        path = self.current_dir()
        if path is None or not windex.exists_in(str(path)):
            path = self._new_dir()
            windex.create_in(str(path), schema())
            self._swap(path)
        return windex.open_dir(str(path))

    def open(self):
        """The current index for reading (None if none exists). Reopened only when it changed."""
        path = self.current_dir()
        if path is None or not windex.exists_in(str(path)):
            with self.writer_lock():
                return self.ensure()
        key = str(path)
        with self._cache_lock:
            cached = self._cache
            if cached and cached[0] == key:
                return cached[1]
            ix = windex.open_dir(key)
            self._cache = (key, ix)
            return ix

    def outdated(self) -> bool:
        """The current index was built by an older version — it lacks fields of today's schema, or its text
        was analysed differently (its stamp is not ANALYSIS_VERSION): rebuild it from the database."""
        path = self.current_dir()
        if path is None or not windex.exists_in(str(path)):
            return False
        if self.analysis_version(path) != ANALYSIS_VERSION:
            return True
        return bool(set(schema().names()) - set(self.open().schema.names()))

    def searcher(self):
        """A searcher on the latest committed state, kept per thread and refreshed (cheap) per call."""
        ix = self.open()
        held = getattr(self._local, "held", None)
        if held is not None and held[0] is ix and held[1].up_to_date():
            return held[1]
        # Not Searcher.refresh(): it reuses segment readers whose deletions may have changed.
        if held is not None:
            held[1].close()
        s = ix.searcher()
        self._local.held = (ix, s)
        return s

    def _swap(self, new_dir: Path) -> None:
        """Point ``current`` at ``new_dir`` atomically (rename of a symlink), then drop old ones."""
        previous = self.current_dir()
        tmp = self.root / f".current-{secrets.token_hex(4)}"
        os.symlink(new_dir.name, tmp)
        os.replace(tmp, self.current_link)
        # Keep the previous index one generation so searches already running on it can finish.
        keep = {new_dir.resolve(), previous.resolve() if previous else None}
        for old in self.root.glob("ix-*"):
            if old.is_dir() and old.resolve() not in keep:
                shutil.rmtree(old, ignore_errors=True)

    @contextlib.contextmanager
    def build_new(self):
        """Yield a fresh empty index; on success it becomes ``current`` (call under the lock)."""
        path = self._new_dir()
        try:
            ix = windex.create_in(str(path), schema())
            yield ix
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        self._swap(path)
