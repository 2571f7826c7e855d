"""English queries on the search page and the API: searched as the Chinese of the glossary, and said so."""

from __future__ import annotations

pytest_plugins = ["tests.integration.conftest_search"]


def test_an_english_query_finds_chinese_listings_and_the_page_says_how(client, make_listing):
    sem = make_listing("场发射扫描电镜", "扫描电镜用于材料表面形貌观察", tags=["扫描电镜"])
    cold = make_listing("冷链物流温度监测数据", "冷藏车温度轨迹", kind="public_data")
    make_listing("公交线路与站点数据", kind="public_data")
    body = client.get("/api/v1/search", query_string={"q": "Scanning Electron Microscopes"}).get_json()
    assert [i["ref"] for i in body["items"]] == [sem.ref] and body["total"] == 1
    assert "<mark>" in body["items"][0]["highlight"]  # the Chinese term it was searched as is marked
    page = client.get("/search/?q=cold chain logistics&lang=en").get_data(as_text=True)
    assert f'data-ref="{cold.ref}"' in page and "公交线路" not in page
    assert 'id="search-searched-as"' in page and "searched for the Chinese terms" in page
    assert 'value="cold chain logistics"' in page  # the box keeps what was typed
    # an acronym alone, or Chinese, is searched as typed: nothing to say
    assert 'id="search-searched-as"' not in client.get("/search/?q=扫描电镜").get_data(as_text=True)
    assert 'id="search-searched-as"' not in client.get("/search/?q=SEM").get_data(as_text=True)


def test_english_words_the_glossary_lacks_find_nothing_rather_than_noise(client, make_listing):
    make_listing("场发射扫描电镜", "材料表面形貌观察")
    body = client.get("/api/v1/search", query_string={"q": "qwerty asdf"}).get_json()
    assert body["total"] == 0 and body["items"] == []


def test_a_saved_english_search_alerts_on_the_listings_it_finds(make_listing, make_user):
    """Saved from the search page, "electron microscopes" found 扫描电镜 listings, but its alerts read the words as
    typed and never fired."""
    from market.extensions import db
    from market.search import services
    from models.notifications import Notification
    from models.users import Role

    user = make_user(role=Role.SME_MEMBER)
    services.save_search(user, "electron microscopes", "electron microscopes", {})
    make_listing("核磁共振波谱仪")  # not an electron microscope
    make_listing("场发射扫描电镜", "扫描电镜用于材料表面形貌观察")
    notes = db.session.query(Notification).filter_by(user_id=user.id).all()
    assert [(n.kind, n.body) for n in notes] == [("search.saved_match", "场发射扫描电镜")]
