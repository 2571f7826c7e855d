"""Top-level CLI commands (`flask --app market demo`). Feature commands live in each feature's cli.py."""

from __future__ import annotations

import click
from flask import Flask

from . import demo as demo_module


def register(app: Flask) -> None:
    from .scheduler import register_cli as register_scheduler_cli

    register_scheduler_cli(app)

    @app.cli.command("demo")
    def demo() -> None:
        """Load the Chinese demo world: organisations of every kind, users of every role, deals."""
        from flask import current_app

        if current_app.config["MARKET_ENV"] == "production":
            # the demo's accounts (a district admin among them) share a password published in the README
            raise click.ClickException(
                "flask demo refuses to run with MARKET_ENV=production: its accounts use the password published "
                "in the README. Load the demo only into a development or test instance."
            )
        summary = demo_module.load_demo()
        for line in summary:
            click.echo(line)
