"""The one reading and checking path for every import (orgs, listings, ledger; CONTRACT.md).

Every importer has one shape: ``import_rows(actor, rows, *, now=None, ...) -> ImportReport``.
``actor`` is a User (checked with ``permissions.require``) or a string naming the system caller
(``"cli"``, ``"demo"``); ``rows`` is any iterable of ``(line, row)`` and is consumed lazily, in
batches of :data:`BATCH` that are checked, written and flushed, then let go (:class:`Batches`), so a
file of any size imports in flat memory. The importer never commits: on any row error it raises
:class:`ImportRefused` (an ``ImportErrors`` carrying the report) after reading the whole file, and
the caller (the CLI command via :func:`run_cli`, an upload view) rolls back; otherwise the caller
commits once. All or nothing, as CONTRACT.md says.

Formats: ``.jsonl`` (UTF-8), ``.csv`` (UTF-8 with/without BOM, or GBK, detected on the bytes up to
the first non-ASCII one; lists separated by ``;`` or ``、``), ``.xlsx`` (first sheet, header row;
openpyxl read-only). Files are read streaming (:class:`Source`): rows come out as plain dicts keyed
by column name with their 1-based line number (the header is line 1 in CSV/XLSX). A line that cannot
be read (bad JSON, too many CSV cells, an XLSX formula) is reported and reading goes on, so every
error of a file is listed; the reader raises them at the end. Field parsers raise :class:`FieldError`.
Web uploads are capped at ``IMPORT_MAX_BYTES`` (20 MB by default); the CLI reads any size.

A CSV or XLSX text cell that starts with ``'`` followed by ``=``, ``+``, ``-``, ``@``, tab or CR loses
exactly that one ``'``: it is how ``market.exports`` neutralises formula injection, so an exported
file re-imports unchanged (``exports.unneutralise``). JSONL is taken as it is.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from flask_babel import gettext as _

from . import dates
from .domain.money import MoneyError, parse_cny
from .errors import DomainError, ImportErrors, RowError
from .exports import unneutralise
from .money import amount_limit, money_message

FORMATS = (".jsonl", ".csv", ".xlsx")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
LIST_SPLIT = re.compile(r"[;；、]")
BATCH = 1000  # rows checked and written together, then flushed and let go
MAX_ERRORS = 1000  # errors kept (and printed); the rest are only counted


class FieldError(ValueError):
    """One field of one row is wrong; the message is user-facing."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# ---------------------------------------------------------------- the report
@dataclass
class ImportReport:
    """What an import did (counts only: a 100,000-row file keeps no per-row list) or why it was refused."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    revised: int = 0  # listings: published listings given a pending revision
    published: int = 0  # listings imported with publish
    rows: int = 0  # rows read
    errors: list[RowError] = field(default_factory=list)  # the first MAX_ERRORS, in the order found
    error_count: int = 0  # all of them

    def error(self, line: int, field_name: str, message: str) -> None:
        self.add(RowError(line, field_name, message))

    def add(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)

    @property
    def omitted(self) -> int:
        return self.error_count - len(self.errors)

    def refuse_if_errors(self) -> None:
        """Raise :class:`ImportRefused` when any row was bad (the caller rolls back)."""
        if self.error_count:
            self.errors.sort(key=lambda e: e.line)
            raise ImportRefused(self)

    def counts(self) -> str:
        """One line for scripts: ``created 3, updated 0, unchanged 1`` (+ revised/published when any)."""
        text = f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}"
        for name in ("revised", "published"):
            if getattr(self, name):
                text += f", {name} {getattr(self, name)}"
        return text

    def summary(self) -> str:
        """The same for people (web pages), translated."""
        text = _("新建 %(c)d 条，更新 %(u)d 条，未变 %(n)d 条。", c=self.created, u=self.updated, n=self.unchanged)
        if self.revised or self.published:
            text += _("其中提交修订 %(r)d 条，发布 %(p)d 条。", r=self.revised, p=self.published)
        return text


class ImportRefused(ImportErrors):
    """An import refused as a whole: ``errors`` are the first MAX_ERRORS, ``report.error_count`` all."""

    def __init__(self, report: ImportReport):
        super().__init__(list(report.errors))
        self.report = report


def is_system(actor: Any) -> bool:
    """The CLI, the demo loader and other callers without a user pass a name instead of a User."""
    return isinstance(actor, str)


def require_import(actor: Any, action: str) -> None:
    """The permission check of every importer: a user must hold ``action``; a system actor may."""
    if not is_system(actor):
        from .permissions import require

        require(actor, action)


def batched(rows: Iterable[tuple[int, Any]], report: ImportReport, size: int | None = None) -> Iterator[list[tuple[int, Any]]]:
    """Lists of up to ``size`` (default BATCH) rows, read lazily; a reader's unreadable lines go into ``report``."""
    size = size or BATCH
    chunk: list[tuple[int, Any]] = []
    try:
        for line, row in rows:
            report.rows += 1
            chunk.append((line, row))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    except ImportErrors as err:  # raised by a reader after its last row
        for e in err.errors:
            report.add(e)
        if isinstance(err, ImportRefused):
            report.error_count += err.report.omitted
    if chunk:
        yield chunk


class Batches:
    """Lets go of what an import loaded or wrote once a batch is flushed, so memory stays flat.

    Only objects that entered the session after construction are expunged (never the caller's, such
    as the logged-in user), except those in ``keep`` (a locked chain head).
    """

    def __init__(self, *keep: Any):
        from .extensions import db

        self.session = db.session
        self.before = set(self.session.identity_map.keys())
        self.keep = {id(k) for k in keep}

    def release(self) -> None:
        self.session.flush()
        for key, obj in list(self.session.identity_map.items()):
            if key not in self.before and id(obj) not in self.keep and obj in self.session:  # cascades go first
                self.session.expunge(obj)


# ---------------------------------------------------------------- reading files
class Source:
    """The rows of one file, read lazily from a binary stream; ``position()`` says how far (bytes)."""

    def __init__(self, stream: IO[bytes], filename: str, max_bytes: int | None = None):
        self.stream = stream
        self.filename = filename
        self.max_bytes = max_bytes
        self.size = _size(stream)

    def position(self) -> int:
        try:
            return min(self.stream.tell(), self.size or 0)
        except (ValueError, OSError):
            return self.size or 0

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return read_stream(self.stream, self.filename, self.max_bytes)


def _size(stream: IO[bytes]) -> int | None:
    try:
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return end
    except (AttributeError, OSError, ValueError):
        return None


def read_stream(stream: IO[bytes], filename: str, max_bytes: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line, row)`` from a binary stream; raise ImportErrors at the end for unreadable lines."""
    suffix = Path(filename).suffix.lower()
    size = _size(stream)
    if max_bytes is not None and size is not None and size > max_bytes:
        raise ImportErrors([RowError(0, "file", _("文件超过 %(mb)d MB 上限。", mb=max_bytes // (1024 * 1024)))])
    if suffix == ".jsonl":
        reader = _read_jsonl
    elif suffix == ".csv":
        reader = _read_csv
    elif suffix == ".xlsx":
        reader = _read_xlsx
    else:
        raise ImportErrors([RowError(0, "file", _("不支持的文件格式，请使用 .jsonl、.csv 或 .xlsx。"))])
    report = ImportReport()
    for line, row in reader(stream):
        if isinstance(row, RowError):
            report.add(row)
        else:
            yield line, row
    report.refuse_if_errors()


def read_rows(data: bytes, filename: str, max_bytes: int | None = DEFAULT_MAX_BYTES) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line, row)`` from bytes in memory (tests, small uploads)."""
    return read_stream(io.BytesIO(data), filename, max_bytes)


def read_upload(upload: Any, max_bytes: int | None) -> Source:
    """A web upload (werkzeug FileStorage): its spooled stream, capped at ``max_bytes``."""
    return Source(upload.stream, upload.filename or "", max_bytes)


def _encoding(stream: IO[bytes]) -> str:
    """UTF-8 (with or without BOM) or GBK, judged on the bytes up to the first non-ASCII one."""
    start = stream.tell()
    head = stream.read(3)
    stream.seek(start)
    if head == b"\xef\xbb\xbf":
        return "utf-8-sig"
    sample = b""
    while True:
        chunk = stream.read(64 * 1024)
        if not chunk:
            break
        sample += chunk
        if not chunk.isascii():
            sample += stream.read(8)  # finish a multi-byte character cut at the chunk's end
            break
        sample = sample[-16:]
    stream.seek(start)
    for encoding in ("utf-8", "gbk"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportErrors([RowError(0, "file", _("无法识别文件编码，请使用 UTF-8 或 GBK。"))])


def _text_lines(stream: IO[bytes]) -> Iterator[tuple[int, str]]:
    wrapper = io.TextIOWrapper(stream, encoding=_encoding(stream), newline="")
    line_no = 0
    try:
        for line_no, line in enumerate(wrapper, start=1):  # noqa: B007 - used after the loop on error
            yield line_no, line
    except UnicodeDecodeError:
        raise ImportErrors([RowError(line_no + 1, "file", _("无法识别文件编码，请使用 UTF-8 或 GBK。"))]) from None
    finally:
        wrapper.detach()  # the caller owns the stream


def _read_jsonl(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    for line_no, line in _text_lines(stream):
        if not line.strip():
            continue
        try:
            row = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as err:
            yield line_no, RowError(line_no, "json", _("不是有效的 JSON：%(e)s", e=err.msg))
            continue
        if not isinstance(row, dict):
            yield line_no, RowError(line_no, "json", _("每行必须是一个 JSON 对象。"))
            continue
        yield line_no, row


def _read_csv(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    wrapper = io.TextIOWrapper(stream, encoding=_encoding(stream), newline="")
    try:
        reader = csv.reader(wrapper)
        header = next(reader, None)
        if not header:
            return
        names = [h.strip() for h in header]
        width = len(names)
        for values in reader:
            line = reader.line_num
            if len(values) > width:
                yield line, RowError(line, "csv", _("这一行的列数比表头多。"))
                continue
            cleaned = {name: unneutralise(v.strip()) for name, v in zip(names, values, strict=False) if name and v.strip() != ""}
            if cleaned:
                yield line, cleaned
    except UnicodeDecodeError:
        raise ImportErrors([RowError(0, "file", _("无法识别文件编码，请使用 UTF-8 或 GBK。"))]) from None
    finally:
        wrapper.detach()


def _read_xlsx(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(stream, read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a broken zip
        raise ImportErrors([RowError(0, "file", _("无法读取 XLSX 文件。"))]) from None
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            return
        names = [str(h).strip() if h is not None else "" for h in header]
        for line, values in enumerate(rows, start=2):
            row: dict[str, Any] = {}
            bad = None
            for name, value in zip(names, values, strict=False):
                if not name or value is None or (isinstance(value, str) and not value.strip()):
                    continue
                if isinstance(value, str) and value.startswith("="):
                    bad = RowError(line, name, _("不接受公式，请填写数值。"))
                    break
                row[name] = unneutralise(value.strip()) if isinstance(value, str) else value
            if bad is not None:
                yield line, bad
            elif row:
                yield line, row
    finally:
        wb.close()


# ---------------------------------------------------------------- the CLI commands
def run_cli(import_rows: Callable[..., ImportReport], path: str | Path, *, quiet: bool = False, **options: Any) -> None:
    """The body of every ``flask --app market ... import FILE`` command.

    Streams the file (any size), shows a progress bar when stdout and stderr are a terminal and
    ``quiet`` is off, commits once when every row is good; otherwise rolls back, prints each error as
    ``line N: field: message`` (at most MAX_ERRORS, then how many more) and exits 1. Listings it
    publishes are queued in the search outbox and indexed later by the scheduler, never in this process.
    """
    import click

    from .extensions import db

    path = Path(path)
    if not path.is_file():
        missing = _("找不到文件 %(name)s。", name=str(path))
        click.echo(f"line 0: file: {missing}", err=True)
        sys.exit(1)
    try:
        with path.open("rb") as stream:
            source = Source(stream, path.name)
            with _progress(source, quiet) as rows:
                report = import_rows("cli", rows, **options)
        # the index updates wait in the outbox for the scheduler's drain (or `search sync`): a bulk
        # import never builds the index inline
        db.session.commit()
    except ImportErrors as err:
        db.session.rollback()
        for e in err.errors:
            click.echo(str(e), err=True)
        total = err.report.error_count if isinstance(err, ImportRefused) else len(err.errors)
        if total > len(err.errors):
            click.echo(f"... {total - len(err.errors)} more error(s) not shown", err=True)
        click.echo(f"{total} error(s); nothing was imported.", err=True)
        sys.exit(1)
    except DomainError as err:
        db.session.rollback()
        click.echo(f"line 0: file: {err.message}", err=True)
        sys.exit(1)
    except BaseException:
        db.session.rollback()
        raise
    if not quiet:
        click.echo(report.counts())
        if report.published:
            click.echo(f"{report.published} listing(s) queued for the search index: the scheduler indexes them, "
                       "or run `flask --app market search sync`", err=True)


@contextlib.contextmanager
def _progress(source: Source, quiet: bool) -> Iterator[Iterable[tuple[int, dict[str, Any]]]]:
    if quiet or not (sys.stdout.isatty() and sys.stderr.isatty()) or not source.size:
        yield source
        return
    import click

    with click.progressbar(length=source.size, label=source.filename, file=sys.stderr, show_pos=False) as bar:
        def rows() -> Iterator[tuple[int, dict[str, Any]]]:
            done = 0
            for n, item in enumerate(source, start=1):
                if n % 200 == 0:
                    now = source.position()
                    bar.update(now - done)
                    done = now
                yield item
            bar.update((source.size or 0) - done)

        yield rows()


# ---------------------------------------------------------------- field parsers
def check_fields(row: dict[str, Any], allowed: set[str] | frozenset[str]) -> list[str]:
    """Unknown field names (usually typos) — CONTRACT.md refuses them."""
    return sorted(k for k in row if k not in allowed)


def text(row: dict[str, Any], name: str, required: bool = False, max_len: int = 200) -> str | None:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise FieldError(name, _("必填。"))
        return None
    value = str(value).strip()
    if len(value) > max_len:
        raise FieldError(name, _("不能超过 %(n)d 个字符。", n=max_len))
    return value


def money(row: dict[str, Any], name: str, required: bool = False, allow_negative: bool = False) -> Decimal | None:
    """An amount read as every form reads one (:mod:`market.money`): at most 2 decimals, no exponent."""
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise FieldError(name, _("必填。"))
        return None
    try:
        return parse_cny(value, allow_negative=allow_negative, allow_zero=True, limit=amount_limit())
    except MoneyError as err:
        raise FieldError(name, money_message(err.problem)) from None


def integer(row: dict[str, Any], name: str, required: bool = False, minimum: int | None = 0) -> int | None:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise FieldError(name, _("必填。"))
        return None
    if isinstance(value, bool):
        raise FieldError(name, _("必须是整数。"))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise FieldError(name, _("必须是整数。")) from None
    if minimum is not None and number < minimum:
        raise FieldError(name, _("不能小于 %(n)d。", n=minimum))
    return number


_TRUE = {"true", "1", "yes", "y", "是", "t"}
_FALSE = {"false", "0", "no", "n", "否", "f"}


def boolean(row: dict[str, Any], name: str, default: bool = False) -> bool:
    value = row.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise FieldError(name, _("必须是 true 或 false。"))


def aware_time(row: dict[str, Any], name: str, required: bool = False) -> dt.datetime | None:
    """ISO 8601 with an offset (or Z); a time without one is refused (CONTRACT.md)."""
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise FieldError(name, _("必填。"))
        return None
    if isinstance(value, dt.datetime):  # XLSX cells carry no offset
        raise FieldError(name, _("时间必须带时区，例如 2026-03-01T10:00:00+08:00（请以文本填写）。"))
    try:
        moment = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise FieldError(name, _("时间格式不对，请用 ISO 8601，例如 2026-03-01T10:00:00+08:00。")) from None
    if moment.tzinfo is None:
        raise FieldError(name, _("时间必须带时区，例如 2026-03-01T10:00:00+08:00。"))
    if not dates.in_window(moment):  # year 0001/9999 would overflow in the conversion below
        raise FieldError(name, dates.window_message())
    return moment.astimezone(dt.UTC)


def string_list(row: dict[str, Any], name: str) -> list[str]:
    value = row.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = LIST_SPLIT.split(value)
    else:
        raise FieldError(name, _("必须是列表。"))
    return [str(v).strip() for v in items if str(v).strip()]


def json_list(row: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A list of objects: a JSON array in JSONL, or JSON text in a CSV/XLSX cell."""
    value = row.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_float=Decimal)
        except json.JSONDecodeError:
            raise FieldError(name, _("必须是 JSON 数组。")) from None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise FieldError(name, _("必须是对象数组。"))
    return value


def choice(row: dict[str, Any], name: str, choices: set[str] | frozenset[str], required: bool = False, default: str | None = None) -> str | None:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise FieldError(name, _("必填。"))
        return default
    value = str(value).strip()
    if value not in choices:
        raise FieldError(name, _("不是有效的取值；可选：%(c)s。", c=", ".join(sorted(choices))))
    return value
