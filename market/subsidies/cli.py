"""``flask --app market subsidies compute --year Y --format json|csv|xlsx [--out FILE]`` (CONTRACT.md, Subsidies)."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable
from typing import Any

import click
from flask.cli import AppGroup

subsidies_cli = AppGroup("subsidies", help="补贴计算：按政策第七、八条从台账计算各机构年度补贴。")

# CSV and XLSX carry the JSON's columns with Chinese headers (CONTRACT.md).
COLUMNS = (
    ("beneficiary", "受益机构"),
    ("rule", "条款"),
    ("year", "年度"),
    ("base_cny", "计算基数（元）"),
    ("amount_cny", "补贴金额（元）"),
    ("capped", "是否达到上限"),
    ("entries", "计入的台账记录"),
    ("excluded", "排除的台账记录及原因"),
    ("parameters", "参数版本"),
)


def _rows_for_export(results: Iterable[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Header labels (Chinese) and rows of the CONTRACT.md objects, for a tabular export."""
    rows = []
    for r in results:
        rows.append([
            r["beneficiary"], r["rule"], r["year"], r["base_cny"], r["amount_cny"], "是" if r["capped"] else "否",
            ";".join(r["entries"]),
            ";".join(f"{e['entry']} {e['message']}（{e['reason']}）" for e in r["excluded"]),
            r["parameters"],
        ])
    return [label for _key, label in COLUMNS], rows


def _write_table(fmt: str, header: list[str], rows: list[list[Any]], out: str | None) -> None:
    # LEAD: switch this one function to the shared market/exports.py (branch `exports`) at merge.
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows(rows)
        text = "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly
        if out is None:
            sys.stdout.write(text)
        else:
            with open(out, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        return
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "补贴计算"
    ws.append(header)
    for row in rows:
        ws.append(row)
    if out is None:
        wb.save(sys.stdout.buffer)
    else:
        wb.save(out)


def _write_json(objects: Iterable[dict[str, Any]], stream) -> int:
    """A JSON list written one object at a time ("[]" for an empty year)."""
    n = 0
    for obj in objects:
        stream.write("[\n" if n == 0 else ",\n")
        stream.write(json.dumps(obj, ensure_ascii=False))
        n += 1
    stream.write("[]\n" if n == 0 else "\n]\n")
    return n


@subsidies_cli.command("compute")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="Asia/Shanghai calendar year.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="File to write; standard output by default.")
def compute_command(year: int, fmt: str, out: str | None) -> None:
    """Compute art7_provider, art7_renter and art8_supplier for YEAR from the ledger."""
    from .services import contract_rows

    objects = contract_rows(year)
    if fmt == "json":
        if out is None:
            n = _write_json(objects, sys.stdout)
        else:
            with open(out, "w", encoding="utf-8") as f:
                n = _write_json(objects, f)
    else:
        header, rows = _rows_for_export(objects)
        _write_table(fmt, header, rows, out)
        n = len(rows)
    click.echo(f"{n} result(s) for {year}", err=True)
