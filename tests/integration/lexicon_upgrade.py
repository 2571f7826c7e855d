"""One check for every lexicon edition's migration: an installed database from before the edition, with the
edition's groups absent and one of them deleted by an admin (a tombstone), upgraded to head, has every other group
of the edition, not the deleted one back, and nothing doubled."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import func, select, update

from market import create_app
from market.extensions import db
from market.search import services
from market.search.seed import load_lexicon
from models.search import SearchSynonym


def check_edition_upgrade(tmp_path, keys: list[str], before: str) -> None:
    """``keys``: the edition's group keys; ``before``: the revision just before its migration."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
                      "SEARCH_INDEX_DIR": str(tmp_path / "index")})
    with app.app_context():
        try:
            upgrade(revision=before)
            db.session.execute(SearchSynonym.__table__.delete().where(SearchSynonym.seed_key.in_(keys[1:])))
            db.session.execute(update(SearchSynonym).where(SearchSynonym.seed_key == keys[0])
                               .values(deleted_at=func.now()))
            db.session.commit()
            upgrade()
            live = set(db.session.execute(select(SearchSynonym.seed_key).where(
                SearchSynonym.seed_key.in_(keys), SearchSynonym.deleted_at.is_(None))).scalars())
            assert live == set(keys[1:])  # every group inserted, the deleted one not brought back
            count = db.session.execute(select(func.count()).select_from(SearchSynonym)).scalar_one()
            assert count == len(load_lexicon())  # nothing doubled
        finally:
            db.session.remove()
            db.engine.dispose()
            services.invalidate_synonyms()


def edition_sections(filename: str, down_revision: str) -> list:
    """The frozen ``SECTIONS`` an edition's migration inserts (migrations/versions/``filename``), checked to
    follow ``down_revision``."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"lexicon_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.down_revision == down_revision
    return module.SECTIONS
