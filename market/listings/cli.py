"""`flask --app market listings import FILE [--publish]` and `listings export [--out FILE]` (CONTRACT.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from market import exports, imports
from models.listings import ListingStatus

from . import importer

listings_cli = AppGroup("listings", help="Listings: bulk import and export.")


@listings_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--publish", is_flag=True, help="Publish the rows as a reviewer would (audited, indexed).")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary line (errors still go to stderr).")
def import_command(file: Path, publish: bool, quiet: bool) -> None:
    """Import listings from FILE (.jsonl, .csv or .xlsx, any size, read streaming); all rows or none."""
    imports.run_cli(importer.import_rows, file, quiet=quiet, publish=publish)


@listings_cli.command("export")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (.jsonl, .csv or .xlsx); default: JSON lines on stdout.")
@click.option("--status", type=click.Choice([s.value for s in ListingStatus]), help="Only listings in this status.")
def export_command(out: Path | None, status: str | None) -> None:
    """Export listings in the import format."""
    if out is None:
        sys.stdout.flush()
        exports.write(sys.stdout.buffer, "jsonl", importer.export_table(status))
        return
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("jsonl", "csv", "xlsx"):
        raise click.BadParameter("use a .jsonl, .csv or .xlsx file name", param_hint="--out")
    with out.open("wb") as f:
        n = exports.write(f, fmt, importer.export_table(status))
    click.echo(f"{n} listings written to {out}")


def register(app: Flask) -> None:
    app.cli.add_command(listings_cli)
