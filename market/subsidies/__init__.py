"""Feature package `subsidies`: the subsidy engine (POLICY.md "The rules the platform computes").

No Flask import at module level: ``market.subsidies.rules`` and ``market.subsidies.parameters`` are pure
and must import without Flask (tests/unit/test_domain.py). The blueprint and the CLI register through
local imports in :func:`init_app` and :func:`register_cli`.
"""


def init_app(app) -> None:
    from . import claims_jobs
    from .claims_views import bp as claims_bp
    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(claims_bp)
    claims_jobs.register_jobs()
    claims_jobs.register_queues()


def register_cli(app) -> None:
    from .claims_jobs import _close_notices_command
    from .cli import subsidies_cli

    if "close-notices" not in subsidies_cli.commands:
        subsidies_cli.add_command(_close_notices_command())
    app.cli.add_command(subsidies_cli)
