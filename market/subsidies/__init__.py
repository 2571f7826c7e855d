"""Feature package `subsidies`: the subsidy engine (POLICY.md "The rules the platform computes").

No Flask import at module level: ``market.subsidies.rules`` and ``market.subsidies.parameters`` are pure
and must import without Flask (tests/unit/test_domain.py). The blueprint and the CLI register through
local imports in :func:`init_app` and :func:`register_cli`.
"""


def init_app(app) -> None:
    from . import claims_jobs
    from .claims_views import bp as claims_bp
    from .estimate_views import bp as estimates_bp
    from .estimate_views import engine_answer_for, provider_standing_for, reward_decisions_for, subsidy_estimate
    from .rewards_views import bp as rewards_bp
    from .sheet_exports import bp as sheet_exports_bp
    from .views import bp

    for blueprint in (bp, rewards_bp, estimates_bp, sheet_exports_bp, claims_bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["subsidy_estimate"] = subsidy_estimate
    app.jinja_env.globals["provider_standing_for"] = provider_standing_for
    app.jinja_env.globals["subsidy_engine_answer"] = engine_answer_for
    app.jinja_env.globals["reward_decisions_for"] = reward_decisions_for
    claims_jobs.register_jobs()
    claims_jobs.register_queues()


def register_cli(app) -> None:
    from .claims_jobs import _close_notices_command
    from .cli import subsidies_cli

    if "close-notices" not in subsidies_cli.commands:
        subsidies_cli.add_command(_close_notices_command())
    app.cli.add_command(subsidies_cli)
