"""The one reading and checking path for every import (orgs, listings, ledger; CONTRACT.md).

Formats: ``.jsonl`` (UTF-8), ``.csv`` (UTF-8 with/without BOM, or GBK; lists separated by ``;`` or
``、``), ``.xlsx`` (first sheet, header row). Rows come out as plain dicts keyed by column name with
their 1-based line number (the header is line 1 in CSV/XLSX). Field parsers raise
:class:`FieldError`; a feature's importer collects them per row as ``RowError`` and refuses the whole
file if any row is bad.

A CSV or XLSX text cell that starts with ``'`` followed by ``=``, ``+``, ``-``, ``@``, tab or CR loses
exactly that one ``'``: it is how ``market.exports`` neutralises formula injection, so an exported
file re-imports unchanged (``exports.unneutralise``). JSONL is taken as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from . import dates
from .domain.money import MoneyError, parse_cny
from .errors import ImportErrors, RowError
from .exports import unneutralise
from .money import amount_limit, money_message

FORMATS = (".jsonl", ".csv", ".xlsx")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
LIST_SPLIT = re.compile(r"[;；、]")


class FieldError(ValueError):
    """One field of one row is wrong; the message is user-facing."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# ---------------------------------------------------------------- reading files
def read_rows(data: bytes, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line, row)`` from an upload's bytes. Raises ImportErrors for an unreadable file."""
    suffix = Path(filename).suffix.lower()
    if len(data) > max_bytes:
        raise ImportErrors([RowError(0, "file", _("文件超过 %(mb)d MB 上限。", mb=max_bytes // (1024 * 1024)))])
    if suffix == ".jsonl":
        yield from _read_jsonl(data)
    elif suffix == ".csv":
        yield from _read_csv(data)
    elif suffix == ".xlsx":
        yield from _read_xlsx(data)
    else:
        raise ImportErrors([RowError(0, "file", _("不支持的文件格式，请使用 .jsonl、.csv 或 .xlsx。"))])


def read_path(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> list[tuple[int, dict[str, Any]]]:
    path = Path(path)
    if not path.is_file():
        raise ImportErrors([RowError(0, "file", _("找不到文件 %(name)s。", name=str(path)))])
    if path.stat().st_size > max_bytes:
        raise ImportErrors([RowError(0, "file", _("文件超过 %(mb)d MB 上限。", mb=max_bytes // (1024 * 1024)))])
    return list(read_rows(path.read_bytes(), path.name, max_bytes))


def _decode_text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("gbk")
        except UnicodeDecodeError:
            raise ImportErrors([RowError(0, "file", _("无法识别文件编码，请使用 UTF-8 或 GBK。"))]) from None


def _read_jsonl(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    text = _decode_text(data)
    errors = []
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as err:
            errors.append(RowError(line_no, "json", _("不是有效的 JSON：%(e)s", e=err.msg)))
            continue
        if not isinstance(row, dict):
            errors.append(RowError(line_no, "json", _("每行必须是一个 JSON 对象。")))
            continue
        rows.append((line_no, row))
    if errors:
        raise ImportErrors(errors)
    yield from rows


def _read_csv(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    text = _decode_text(data)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    for row in reader:
        line = reader.line_num
        if None in row:
            raise ImportErrors([RowError(line, "csv", _("这一行的列数比表头多。"))])
        cleaned = {k.strip(): unneutralise(v.strip()) for k, v in row.items() if k and v is not None and v.strip() != ""}
        if cleaned:
            yield line, cleaned


def _read_xlsx(data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a broken zip
        raise ImportErrors([RowError(0, "file", _("无法读取 XLSX 文件。"))]) from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if not header:
        return
    names = [str(h).strip() if h is not None else "" for h in header]
    for line, values in enumerate(rows, start=2):
        row: dict[str, Any] = {}
        for name, value in zip(names, values, strict=False):
            if not name or value is None or (isinstance(value, str) and not value.strip()):
                continue
            if isinstance(value, str) and value.startswith("="):
                raise ImportErrors([RowError(line, name, _("不接受公式，请填写数值。"))])
            row[name] = unneutralise(value.strip()) if isinstance(value, str) else value
        if row:
            yield line, row
    wb.close()


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
