"""The one export path: every download and every CLI export file (CSV, XLSX, PDF, JSONL) goes through here.

An export is declared once as :class:`Table`\\ s of :class:`Column`\\ s — a header label, a key or getter
and a *kind* — and the same declaration writes every format:

- **CSV**: UTF-8 with a BOM (Excel opens Chinese correctly), ``\\r\\n`` line ends, written row by row.
- **XLSX**: openpyxl in write-only mode (rows spool to a temporary file, memory stays flat), bold
  header row frozen, column widths from the spec, money as numbers with 2 decimals (``#,##0.00``),
  integers as integers, times as Beijing-time date cells.
- **PDF**: WeasyPrint, one table per :class:`Table`, with a Debian CJK font (fonts-noto-cjk or
  fonts-wqy-microhei, installed by ``make system-packages``) so Chinese renders. Rendered in memory:
  meant for report-sized tables, not for bulk exports.
- **JSONL**: the import format (CONTRACT.md) for the bulk exports; the rows are dumped as they are.

Headers: the bulk exports (``orgs``/``listings``/``ledger export``) keep CONTRACT.md's field names
(``ref``, ``name``...) because an exported file must re-import unchanged; reports (ledger dashboard,
deals, utilisation) have Chinese labels marked with ``N_`` and translated into the reader's language
when written (Chinese by default).

Formula injection (spreadsheets run a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR):
every **text** cell so beginning is written with one leading ``'`` (:func:`neutralise`) in CSV and XLSX.
Numbers are written as numbers (a negative amount is a number, never text). A text that already
starts with ``'`` followed by such a text gets one more ``'``, so the rule can be undone exactly:
the CSV and XLSX importers (``market.imports``) call :func:`unneutralise`, which strips exactly one
leading ``'`` when what follows is a text :func:`neutralise` would have quoted. Export -> import
therefore gives back the original text, ``=HYPERLINK(...)`` included. JSONL and PDF are not
spreadsheets and carry the text as it is.

Download names: :func:`content_disposition` gives ``filename*=UTF-8''…`` (RFC 6266/5987) for the
Chinese name plus an ASCII ``filename=`` fallback for old clients.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from urllib.parse import quote

from flask_babel import gettext as _

from market.domain.localtime import SHANGHAI

FORMATS = ("csv", "xlsx", "pdf", "jsonl")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "jsonl": "application/x-ndjson; charset=utf-8",
}
KINDS = ("text", "money", "number", "int", "bool", "date", "datetime")
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_CENT = Decimal("0.01")
_XLSX_FORMATS = {"money": "#,##0.00", "number": "0.0#", "int": "0", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}
_DEFAULT_WIDTHS = {"money": 20, "number": 12, "int": 10, "bool": 10, "date": 12, "datetime": 18}
_CHUNK = 64 * 1024
_SPOOL_MAX = 8 * 1024 * 1024  # a download's file is held in memory up to this size, then on disk
# WeasyPrint lays out the whole document in memory: 200 rows of the 14-column ledger table took 13 s and
# 300 MB, 1,000 rows 63 s and 520 MB on the shared 2-core machine. A PDF is a report to read; past this
# many rows it says so and points to XLSX/CSV, which stream any size.
PDF_MAX_ROWS = 500


# ---------------------------------------------------------------- formula injection
def _needs_quote(text: str) -> bool:
    while text.startswith("'"):
        text = text[1:]
    return text.startswith(DANGEROUS)


def neutralise(text: str) -> str:
    """``=SUM(A1)`` -> ``'=SUM(A1)``; ``'=x`` -> ``''=x``; anything else unchanged."""
    return "'" + text if _needs_quote(text) else text


def unneutralise(text: str) -> str:
    """The inverse of :func:`neutralise`, used by the CSV and XLSX importers."""
    return text[1:] if text.startswith("'") and _needs_quote(text[1:]) else text


# ---------------------------------------------------------------- the column spec
@dataclass(frozen=True)
class Column:
    """One column: ``label`` (an ``N_`` Chinese label, or a field name with ``translate=False``),
    ``get`` (a dict key / attribute name, or a function of the row), ``kind`` (one of :data:`KINDS`)."""

    label: str
    get: str | Callable[[Any], Any]
    kind: str = "text"
    width: float | None = None
    translate: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")

    def header(self) -> str:
        return _(self.label) if self.translate else self.label

    def value(self, row: Any) -> Any:
        if callable(self.get):
            return self.get(row)
        if isinstance(row, dict):
            return row.get(self.get)
        return getattr(row, self.get)


def fields(*names: str, kinds: dict[str, str] | None = None, getters: dict[str, Callable[[Any], Any]] | None = None) -> list[Column]:
    """Columns named by CONTRACT.md field names (untranslated headers, read from row dicts)."""
    kinds, getters = kinds or {}, getters or {}
    return [Column(n, getters.get(n, n), kinds.get(n, "text"), translate=False) for n in names]


@dataclass
class Table:
    """A titled sequence of rows under a column spec. ``rows`` may be a generator (read once)."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Any]


def joined(key: str, sep: str = ";") -> Callable[[Any], str]:
    """A getter for a list field written as one cell (the importers split on ``;`` and ``、``)."""
    return lambda row: sep.join(str(v) for v in (row.get(key) or []))


def as_json(key: str) -> Callable[[Any], str]:
    """A getter for a list of objects written as JSON text in one cell."""
    return lambda row: json.dumps(row[key], ensure_ascii=False, default=_json_default) if row.get(key) else ""


def yes_no(key: str) -> Callable[[Any], str]:
    """A getter for a report's boolean shown as 是/否 in the reader's language."""
    return lambda row: _("是") if (row.get(key) if isinstance(row, dict) else getattr(row, key)) else _("否")


# ---------------------------------------------------------------- typed values
def _money(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        return Decimal(value).quantize(_CENT)
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(_CENT)
    if isinstance(value, str):
        try:
            return Decimal(value.replace(",", "").strip()).quantize(_CENT)
        except InvalidOperation:
            return None
    return None


def _local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("export of a naive datetime: times are stored aware (UTC)")
    return value.astimezone(SHANGHAI)


def _typed(col: Column, row: Any) -> Any:
    """The cell's value for ``col``: None (empty), or a str / Decimal / int / bool / date / datetime."""
    value = col.value(row)
    if value is None or value == "":
        return None
    kind = col.kind
    if kind == "money":
        money = _money(value)
        return money if money is not None else str(value)
    if kind == "number":
        return value if isinstance(value, Decimal | int | float) and not isinstance(value, bool) else str(value)
    if kind == "int":
        return value if isinstance(value, int) and not isinstance(value, bool) else str(value)
    if kind == "bool":
        return bool(value)
    if kind == "datetime" and isinstance(value, dt.datetime):
        return _local(value)
    if kind == "date" and isinstance(value, dt.datetime):
        return _local(value).date()
    if kind == "date" and isinstance(value, dt.date):
        return value
    return str(value)


def _text(col: Column, value: Any) -> str:
    """The value as CSV/PDF text (numbers plain, never thousands separators in CSV)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal) and col.kind == "money":
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _json_default(v: Any) -> Any:
    if isinstance(v, Decimal):
        return f"{v:.2f}"
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    raise TypeError(type(v))


# ---------------------------------------------------------------- CSV
def csv_chunks(table: Table, counter: list[int] | None = None) -> Iterator[str]:
    """BOM + header, then one chunk per row: for a streamed Response or a file."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def take() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    writer.writerow([neutralise(c.header()) for c in table.columns])
    yield "\ufeff" + take()
    for row in table.rows:
        cells = []
        for col in table.columns:
            value = _typed(col, row)
            cells.append(neutralise(value) if isinstance(value, str) else _text(col, value))
        writer.writerow(cells)
        if counter is not None:
            counter[0] += 1
        yield take()


# ---------------------------------------------------------------- JSONL
def jsonl_chunks(table: Table, counter: list[int] | None = None) -> Iterator[str]:
    """The rows as they are (dicts in the import format), one JSON object a line."""
    for row in table.rows:
        if counter is not None:
            counter[0] += 1
        yield json.dumps(row, ensure_ascii=False, default=_json_default) + "\n"


# ---------------------------------------------------------------- XLSX
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _width(col: Column, header: str) -> float:
    return col.width or max(_DEFAULT_WIDTHS.get(col.kind, 12), _display_width(header) + 2)


def write_xlsx(out: IO[bytes], *tables: Table, counter: list[int] | None = None) -> None:
    """One sheet per table, written in openpyxl's write-only mode."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    used: set[str] = set()
    for table in tables:
        title = _SHEET_TITLE_BAD.sub(" ", table.title)[:31] or "Sheet"
        while title in used:
            title = title[:28] + f"~{len(used)}"
        used.add(title)
        ws = wb.create_sheet(title)
        ws.freeze_panes = "A2"
        headers = [c.header() for c in table.columns]
        for i, (col, head) in enumerate(zip(table.columns, headers, strict=True), start=1):
            ws.column_dimensions[get_column_letter(i)].width = _width(col, head)
        head_cells = []
        for head in headers:
            cell = WriteOnlyCell(ws, value=neutralise(head))
            cell.font = bold
            head_cells.append(cell)
        ws.append(head_cells)
        for row in table.rows:
            cells = []
            for col in table.columns:
                value = _typed(col, row)
                if isinstance(value, str):
                    cells.append(neutralise(ILLEGAL_CHARACTERS_RE.sub("", value)))
                    continue
                if isinstance(value, dt.datetime):
                    value = value.replace(tzinfo=None)  # Beijing wall time: spreadsheets have no zones
                if isinstance(value, Decimal) and len(value.as_tuple().digits) > 15:
                    cells.append(_text(col, value))  # beyond a double's precision: keep it exact as text
                    continue
                if value is None or isinstance(value, bool) or col.kind not in _XLSX_FORMATS:
                    cells.append(value)
                    continue
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = _XLSX_FORMATS[col.kind]
                cells.append(cell)
            ws.append(cells)
            if counter is not None:
                counter[0] += 1
    if not tables:
        wb.create_sheet("Sheet")
    wb.save(out)


# ---------------------------------------------------------------- PDF
PDF_CSS = """
@page { size: A4 landscape; margin: 12mm 10mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; font-size: 8.5pt; }
h1 { font-size: 14pt; margin: 0 0 4mm; }
h2 { font-size: 11pt; margin: 5mm 0 2mm; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
thead { display: table-header-group; }
th { font-weight: bold; background: #eef1f4; }
th, td { border: 0.5pt solid #999; padding: 1mm 1.5mm; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
/* an amount or a time is read whole: never "2,400,000." above "00" (a time breaks at its space only) */
td { font-size: 7.5pt; }
td.num { text-align: right; white-space: nowrap; overflow-wrap: normal; padding: 1mm; }
td.when { overflow-wrap: normal; }
td.more { font-weight: bold; text-align: center; }
tr { page-break-inside: avoid; }
"""


def pdf_html(title: str, *tables: Table, counter: list[int] | None = None, max_rows: int = PDF_MAX_ROWS) -> str:
    from markupsafe import escape

    parts = [f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
             f"<style>{PDF_CSS}</style></head><body><h1>{escape(title)}</h1>"]
    for table in tables:
        if len(tables) > 1:
            parts.append(f"<h2>{escape(table.title)}</h2>")
        headers = [c.header() for c in table.columns]
        widths = [_width(c, h) for c, h in zip(table.columns, headers, strict=True)]
        parts.append("<table><colgroup>")
        parts.extend(f'<col style="width: {w / sum(widths) * 100:.2f}%">' for w in widths)
        parts.append("</colgroup><thead><tr>")
        parts.extend(f"<th>{escape(h)}</th>" for h in headers)
        parts.append("</tr></thead><tbody>")
        shown = 0
        for row in table.rows:
            if shown == max_rows:
                note = _("只列出前 %(n)d 行；完整数据请导出 XLSX 或 CSV。", n=max_rows)
                parts.append(f'<tr><td class="more" colspan="{len(headers)}">{escape(note)}</td></tr>')
                break
            shown += 1
            parts.append("<tr>")
            for col in table.columns:
                value = _typed(col, row)
                if isinstance(value, Decimal) and col.kind == "money":
                    text = f"{value:,.2f}"
                elif isinstance(value, bool):
                    text = _("是") if value else _("否")
                else:
                    text = _text(col, value)
                numeric = col.kind in ("money", "number", "int") and not isinstance(value, str)
                cls = ' class="num"' if numeric else ' class="when"' if col.kind in ("date", "datetime") else ""
                parts.append(f"<td{cls}>{escape(text)}</td>")
            parts.append("</tr>")
            if counter is not None:
                counter[0] += 1
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "".join(parts)


def pdf_bytes(title: str, *tables: Table, counter: list[int] | None = None) -> bytes:
    from weasyprint import HTML

    return HTML(string=pdf_html(title, *tables, counter=counter)).write_pdf()


# ---------------------------------------------------------------- one entry point per destination
def chunks(fmt: str, *tables: Table, title: str = "", counter: list[int] | None = None) -> Iterator[bytes]:
    """The export as byte chunks. CSV/JSONL take one table; XLSX and PDF one sheet/section per table."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt in ("csv", "jsonl"):
        if len(tables) != 1:
            raise ValueError(f"{fmt} holds exactly one table")
        text = csv_chunks(tables[0], counter) if fmt == "csv" else jsonl_chunks(tables[0], counter)
        for piece in text:
            yield piece.encode("utf-8")
    elif fmt == "xlsx":
        with tempfile.TemporaryFile() as spool:
            write_xlsx(spool, *tables, counter=counter)
            spool.seek(0)
            while piece := spool.read(_CHUNK):
                yield piece
    else:
        yield pdf_bytes(title or (tables[0].title if tables else ""), *tables, counter=counter)


def write(out: IO[bytes], fmt: str, *tables: Table, title: str = "") -> int:
    """Write the export to a binary stream (a file, ``sys.stdout.buffer``); returns the number of rows."""
    counter = [0]
    for piece in chunks(fmt, *tables, title=title, counter=counter):
        out.write(piece)
    out.flush()
    return counter[0]


def to_bytes(fmt: str, *tables: Table, title: str = "") -> bytes:
    return b"".join(chunks(fmt, *tables, title=title))


def content_disposition(filename: str, fallback: str | None = None) -> str:
    """``attachment`` with the UTF-8 name (``filename*``) and an ASCII ``filename`` for old clients."""
    stem, dot, ext = (fallback or filename).rpartition(".")
    if not dot:
        stem, ext = ext, ""

    def ascii_only(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", text.encode("ascii", "ignore").decode()).strip("_.")

    fallback = (ascii_only(stem) or "export") + ("." + ascii_only(ext) if ascii_only(ext) else "")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def require_format(fmt: str, allowed: Iterable[str] = ("csv", "xlsx", "pdf")) -> str:
    """A download route's format, or 404: ``/export.<fmt>`` names only the formats that route offers."""
    if fmt not in allowed:
        from flask import abort

        abort(404)
    return fmt


def download(fmt: str, *tables: Table, filename: str, fallback: str, title: str = ""):
    """A Flask response carrying the export (``filename`` without the extension; ``fallback`` ASCII).

    The file is written **in the view**, while its database session is open, into a spooled temporary file
    (memory up to ``_SPOOL_MAX``, then disk: memory stays flat), and only read out as the response. Rows may
    therefore be ORM objects or a query the view started. Flask 3.1 runs a streamed body after the request's
    teardown, which has rolled back and closed that session: streaming the rows themselves made every export
    whose rows touched an object loaded in the view (organisations, utilisation, a sheet with a reward
    decision) a 500 or a truncated file in production, while the tests, sharing one app context, passed.
    Written first, the file also gets a Content-Length, and a failure is an error page, not half a file.
    """
    from flask import Response

    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX)
    try:
        write(spool, fmt, *tables, title=title)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise

    def body() -> Iterator[bytes]:
        with spool:
            while piece := spool.read(_CHUNK):
                yield piece

    return Response(
        body(),
        content_type=MIMETYPES[fmt],  # (mimetype= would append a second charset to text/csv)
        headers={"Content-Disposition": content_disposition(f"{filename}.{fmt}", f"{fallback}.{fmt}"),
                 "Content-Length": str(size)},
    )


def stamp() -> str:
    """Today in Beijing time, for file names (``20260305``)."""
    return dt.datetime.now(SHANGHAI).strftime("%Y%m%d")


__all__ = [
    "Column", "Table", "fields", "joined", "as_json", "yes_no", "neutralise", "unneutralise",
    "csv_chunks", "jsonl_chunks", "write_xlsx", "pdf_html", "pdf_bytes", "chunks", "write", "to_bytes",
    "content_disposition", "download", "stamp", "FORMATS", "MIMETYPES",
]
