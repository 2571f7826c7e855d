"""Feature package `ledger`: the append-only, hash-chained transaction ledger (POLICY.md interpretation 1)."""

from flask import Blueprint

bp = Blueprint("ledger", __name__, url_prefix="/ledger")


def init_app(app) -> None:
    app.config.setdefault("LEDGER_EVIDENCE_MAX_MB", 10)

    app.jinja_env.filters["ledger_amount"] = ledger_amount
    app.jinja_env.tests["ledger_side_confirmed"] = lambda side, entry: getattr(entry, f"{side}_confirmed_at") is not None

    from market.scheduler import register_job

    from .checkpoint import daily_checkpoint

    # one checkpoint per Beijing day; tried hourly so a scheduler that was down at night catches up
    register_job("ledger.checkpoint", daily_checkpoint, "interval", hours=1)

    @app.context_processor
    def ledger_helpers():
        from .views import template_helpers

        return template_helpers()


def ledger_amount(value) -> str:
    """A signed ledger amount in words: a refund (negative) reads 退款 ¥20,000.00, not ¥-20,000.00.

    Takes a Decimal or the money text a frozen claim snapshot stores ("-20000.00")."""
    from decimal import Decimal

    from flask_babel import gettext as _

    from market.i18n import format_cny

    if isinstance(value, str):
        value = Decimal(value)
    if value is not None and value < 0:
        return _("退款 %(amount)s", amount=format_cny(-value))
    return format_cny(value)


def register_cli(app) -> None:
    from .cli import ledger_cli

    app.cli.add_command(ledger_cli)


from . import views  # noqa: E402,F401  (routes register on bp)
