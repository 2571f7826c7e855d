"""``flask --app market ledger import FILE | export [--out FILE] | verify [--checkpoint FILE] | checkpoint``
(CONTRACT.md, Ledger; checkpoints: market/ledger/checkpoint.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from market import imports

ledger_cli = AppGroup("ledger", help="交易台账：导入、导出、校验哈希链。")


@ledger_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bar and no summary line (errors still go to stderr).")
def import_command(file: Path, quiet: bool) -> None:
    """Import payments/refunds from .jsonl/.csv/.xlsx (any size, read streaming): all-or-nothing, idempotent by ref."""
    from .importer import import_rows

    imports.run_cli(import_rows, file, quiet=quiet, filename=file.name)


@ledger_cli.command("export")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="File to write (.jsonl, .csv or .xlsx); standard output (JSONL) by default.")
def export_command(out: str | None) -> None:
    """Export every entry in chain order, in the import format plus seq/prev_hash/entry_hash."""
    from market import exports

    from .importer import export_table

    if out is None:
        sys.stdout.flush()
        n = exports.write(sys.stdout.buffer, "jsonl", export_table())
    else:
        fmt = Path(out).suffix.lower().lstrip(".")
        if fmt not in ("jsonl", "csv", "xlsx"):
            raise click.UsageError("--out must end in .jsonl, .csv or .xlsx")
        with open(out, "wb") as f:
            n = exports.write(f, fmt, export_table())
    click.echo(f"exported {n} entries", err=True)


@ledger_cli.command("verify")
@click.option("--skip-files", is_flag=True, help="Check the hash chains only, not the evidence files.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes verifying a long entries chain at once (default: LEDGER_VERIFY_WORKERS, "
                   "else the CPU count up to 4).")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A checkpoint file (ledger checkpoint): also prove the chain still passes through every "
                   "head recorded in it.")
def verify_command(skip_files: bool, workers: int | None, checkpoint_file: str | None) -> None:
    """Re-check both hash chains, the confirmation state and every evidence file."""
    from .chain import verify

    def progress(what: str, n: int) -> None:
        click.echo(f"  {what}: {n:,} checked", err=True)

    res = verify(progress=progress, check_files=not skip_files, workers=workers)
    failure = None
    if checkpoint_file is not None:
        from .checkpoint import check

        held, failure = check(Path(checkpoint_file))
    if res.ok and failure is None:
        click.echo(f"ok: {res.entries} entries, {res.events} events, {res.files} evidence files verified")
        if checkpoint_file is not None:
            click.echo(f"ok: the chain passes through all {held} checkpoints in {checkpoint_file}")
        return
    if res.ok:
        click.echo(f"BROKEN at {failure}", err=True)
        click.echo("  the chain is consistent in itself but differs from what the checkpoint recorded: "
                   "rewritten since", err=True)
        sys.exit(1)
    click.echo(f"BROKEN at {res.first}", err=True)
    for p in res.problems:
        if p is not res.first:
            click.echo(f"  also: {p}", err=True)
    if failure is not None:
        click.echo(f"  also: {failure}", err=True)
    sys.exit(1)


@ledger_cli.command("checkpoint")
def checkpoint_command() -> None:
    """Append the chain's head (seq, hash, time) to the checkpoint file outside the database
    (LEDGER_CHECKPOINT_FILE, default instance/ledger-checkpoints.jsonl) and print it.

    Keep a copy of the printed line elsewhere too; ``ledger verify --checkpoint FILE`` later proves the
    chain still passes through every recorded head. Refused if it no longer passes through an earlier one.
    """
    from .checkpoint import CheckpointError, checkpoint_path, take

    path = checkpoint_path()
    try:
        cp = take(path)
    except CheckpointError as err:
        click.echo(f"BROKEN: {err}", err=True)
        sys.exit(1)
    click.echo(cp.to_json())
    click.echo(f"checkpoint appended to {path}", err=True)
