"""GET /api/v1/me: who the bearer token acts as."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from market.api import ErrorSchema
from market.api.auth import current_api_user, token_required

blp = Blueprint("auth_api", __name__, url_prefix="/api/v1", description="账号 / Accounts")


class OrganisationBriefSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    ref = ma.fields.String(allow_none=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)


class MeSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    email = ma.fields.Email(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, metadata={"enum": ["sme_member", "provider_member", "org_admin", "district_reviewer", "district_admin"]})
    locale = ma.fields.String(allow_none=True)
    organisation = ma.fields.Nested(OrganisationBriefSchema, allow_none=True)


@blp.route("/me")
@blp.doc(security=[{"bearerAuth": []}], summary="当前令牌的用户 / The token's user")
@blp.response(200, MeSchema)
@blp.alt_response(401, schema=ErrorSchema, description="没有令牌、令牌无效或已撤销 / Missing, invalid or revoked token")
@token_required()
def me():
    return current_api_user()
