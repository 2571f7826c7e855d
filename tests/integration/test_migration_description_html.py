"""The description_html revision back-fills existing listings and revisions by rendering them (issue 8)."""

from __future__ import annotations

import json

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from market import create_app
from market.extensions import db
from tests.integration.test_migrations import _fresh_postgres, _fresh_sqlite

BEFORE = "7d6765696bb2"  # the revision before description_html
NOW = "2026-12-01 00:00:00+00:00"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres_only)])
def test_upgrade_renders_existing_descriptions(backend, tmp_path):
    fresh = _fresh_sqlite(tmp_path) if backend == "sqlite" else _fresh_postgres()
    with fresh as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            try:
                upgrade(revision=BEFORE)
                with db.engine.begin() as conn:
                    conn.execute(text(
                        "INSERT INTO organisation (id, name, uscc, kind, in_district, verification_status, created_at, updated_at) "
                        "VALUES (1, '机构', '91220101MA0000000X', 'university', true, 'verified', :now, :now)"), {"now": NOW})
                    for lid, description in ((1, "**粗体** <script>x()</script>"), (2, "[" * 20000)):
                        conn.execute(text(
                            "INSERT INTO listing (id, ref, kind, owner_id, title, description, tags, track, status, view_count, "
                            "in_district_only, details, created_at, updated_at) VALUES (:id, :ref, 'instrument', 1, 't', :d, "
                            "'[]', 'other', 'published', 0, false, '{}', :now, :now)"),
                            {"id": lid, "ref": f"H{lid}", "d": description, "now": NOW})
                    conn.execute(text(
                        "INSERT INTO listing_revision (id, listing_id, status, data, created_at, updated_at) "
                        "VALUES (1, 1, 'pending', :data, :now, :now)"),
                        {"data": json.dumps({"description": "- 修订"}), "now": NOW})
                upgrade()
                with db.engine.connect() as conn:
                    html = dict(conn.execute(text("SELECT id, description_html FROM listing")).all())
                    revision_html = conn.execute(text("SELECT description_html FROM listing_revision")).scalar_one()
                assert html[1] == "<p><strong>粗体</strong> </p>\n"
                assert html[2] == "<p>" + "[" * 20000 + "</p>"  # refused markup is stored as escaped text
                assert revision_html == "<ul>\n<li>修订</li>\n</ul>\n"
                downgrade(revision=BEFORE)
                with db.engine.connect() as conn:
                    assert conn.execute(text("SELECT count(*) FROM listing")).scalar_one() == 2
            finally:
                db.session.remove()
                db.engine.dispose()
