from market.search import demo, services
from models.search import SearchSynonym

pytest_plugins = ["tests.integration.conftest_search"]


def test_demo_seeds_synonyms_once_and_indexes(make_listing):
    from market.demo import DemoWorld
    from market.extensions import db

    listing = make_listing("场发射扫描电子显微镜")
    world = DemoWorld()
    demo.load(world)
    demo.load(world)
    groups = db.session.query(SearchSynonym).count()
    assert groups > 20
    assert "search: 1 listings indexed" in world.summary[0]
    assert [h.listing.ref for h in services.search("SEM").hits] == [listing.ref]
