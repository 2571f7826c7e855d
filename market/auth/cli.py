"""`flask --app market tokens create|list|revoke`: API tokens from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from market.errors import DomainError
from market.extensions import db
from market.web import commit
from models.users import ApiToken

from . import services


@click.group("tokens", cls=AppGroup)
def tokens() -> None:
    """Create, list and revoke API bearer tokens."""


@tokens.command("create")
@click.option("--user", "email", required=True, help="Email of the account the token acts as.")
@click.option("--name", default="cli", show_default=True, help="A label to tell tokens apart.")
def create(email: str, name: str) -> None:
    """Create a token and print its secret (shown only this once)."""
    user = services.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    try:
        _token, secret = services.create_token(user, name, actor="cli")
        commit()
    except DomainError as err:
        raise click.ClickException(err.message) from None
    click.echo(secret)


@tokens.command("list")
@click.option("--user", "email", default=None, help="Only this account's tokens.")
def list_(email: str | None) -> None:
    """List tokens: id, prefix, user, name, state."""
    stmt = select(ApiToken).order_by(ApiToken.id)
    if email:
        user = services.find_user_by_email(email)
        if user is None:
            raise click.ClickException(f"no user with email {email}")
        stmt = stmt.where(ApiToken.user_id == user.id)
    for t in db.session.execute(stmt).scalars():
        state = "revoked" if t.revoked_at else "active"
        click.echo(f"{t.id}\t{t.prefix}\t{t.user.email}\t{t.name}\t{state}")


@tokens.command("revoke")
@click.argument("token")
def revoke(token: str) -> None:
    """Revoke a token, given its id or its prefix (as `tokens list` shows)."""
    if token.isdigit():
        token_id = int(token)
    else:
        found = db.session.execute(select(ApiToken.id).where(ApiToken.prefix == token)).scalars().all()
        if len(found) != 1:
            raise click.ClickException(f"no single token with prefix {token}")
        token_id = found[0]
    try:
        revoked = services.revoke_token(token_id, actor="cli")
        commit()
    except DomainError as err:
        raise click.ClickException(err.message) from None
    click.echo(f"revoked token {revoked.id} ({revoked.prefix}) of {revoked.user.email}")
