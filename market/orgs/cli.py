"""`flask --app market orgs import FILE` and `orgs export [--out FILE]` (CONTRACT.md, "Organisations")."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

orgs_cli = AppGroup("orgs", help="Organisations: bulk import and export (CONTRACT.md).")


@orgs_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bar and no summary line (errors still go to stderr).")
def import_command(file: Path, quiet: bool) -> None:
    """Import organisations from FILE (.jsonl, .csv in UTF-8/GBK, .xlsx; any size, read streaming).

    Upsert by `ref`; all-or-nothing: any bad row prints every error as `line N: field: message`,
    exits 1 and saves nothing.
    """
    from market import imports

    from .importer import import_rows

    imports.run_cli(import_rows, file, quiet=quiet)


@orgs_cli.command("export")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (format from its suffix).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "xlsx"]), help="Format (default: from --out, else jsonl).")
def export_command(out: Path | None, fmt: str | None) -> None:
    """Export every organisation in the import format (standard output by default)."""
    from market import exports

    from .importer import export_table

    if fmt is None:
        fmt = out.suffix.lower().lstrip(".") if out is not None else "jsonl"
        if fmt not in ("jsonl", "csv", "xlsx"):
            raise click.BadParameter("use a .jsonl, .csv or .xlsx file name, or --format", param_hint="--out")
    if out is None:
        sys.stdout.flush()
        exports.write(sys.stdout.buffer, fmt, export_table())
        return
    with out.open("wb") as f:
        n = exports.write(f, fmt, export_table())
    click.echo(f"wrote {n} organisations to {out}", err=True)
    current_app.logger.info("exported organisations to %s", out)
