"""Feature package `subsidies`: the subsidy engine (POLICY.md "The rules the platform computes").

No Flask import at module level: ``market.subsidies.rules`` and ``market.subsidies.parameters`` are pure
and must import without Flask (tests/unit/test_domain.py). The blueprint and the CLI register through
local imports in :func:`init_app` and :func:`register_cli`.
"""


def init_app(app) -> None:
    from .estimate_views import bp as estimates_bp
    from .estimate_views import engine_answer_for, provider_standing_for, reward_decisions_for, subsidy_estimate
    from .rewards_views import bp as rewards_bp
    from .sheet_exports import bp as sheet_exports_bp
    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(rewards_bp)
    app.register_blueprint(estimates_bp)
    app.register_blueprint(sheet_exports_bp)
    app.jinja_env.globals["subsidy_estimate"] = subsidy_estimate
    app.jinja_env.globals["provider_standing_for"] = provider_standing_for
    app.jinja_env.globals["subsidy_engine_answer"] = engine_answer_for
    app.jinja_env.globals["reward_decisions_for"] = reward_decisions_for


def register_cli(app) -> None:
    from .cli import subsidies_cli

    app.cli.add_command(subsidies_cli)
