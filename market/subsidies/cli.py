"""``flask --app market subsidies compute --year Y --format json|csv|xlsx [--out FILE]`` (CONTRACT.md, Subsidies)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import click
from flask.cli import AppGroup

subsidies_cli = AppGroup("subsidies", help="补贴计算：按政策第七、八条从台账计算各机构年度补贴。")

def export_table(results: Iterable[dict[str, Any]]):
    """CSV and XLSX carry the JSON's columns with Chinese headers (CONTRACT.md), through the export module."""
    from market.exports import Column, Table
    from market.i18n import N_

    columns = [
        Column(N_("受益机构"), "beneficiary"),
        Column(N_("条款"), "rule"),
        Column(N_("年度"), "year", "int"),
        Column(N_("计算基数（元）"), "base_cny", "money"),
        Column(N_("补贴金额（元）"), "amount_cny", "money"),
        Column(N_("是否达到上限"), lambda r: N_("是") if r["capped"] else N_("否")),
        Column(N_("计入的台账记录"), lambda r: ";".join(r["entries"])),
        Column(N_("排除的台账记录及原因"),
               lambda r: ";".join(f"{e['entry']} {e['message']}（{e['reason']}）" for e in r["excluded"])),
        Column(N_("参数版本"), "parameters"),
    ]
    return Table(N_("补贴计算"), columns, results)


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
        from market import exports

        table = export_table(objects)
        if out is None:
            n = exports.write(sys.stdout.buffer, fmt, table)
        else:
            with open(out, "wb") as f:
                n = exports.write(f, fmt, table)
    click.echo(f"{n} result(s) for {year}", err=True)
