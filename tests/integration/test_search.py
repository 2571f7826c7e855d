"""Search: Chinese analysis, synonyms, facets, highlighting, the outbox, reindex, API, pages."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from market import outbox
from market.extensions import db
from market.search import services
from market.search.outbox import enqueue
from models.base import utcnow
from models.listings import Listing
from models.notifications import Notification
from models.outbox import OutboxMessage
from models.search import SearchSynonym
from models.users import Role
from tests.conftest import drain_outbox, queued

pytest_plugins = ["tests.integration.conftest_search"]


def refs(result):
    return [h.listing.ref for h in result.hits]


def seed_synonyms(*groups):
    for g in groups:
        db.session.add(SearchSynonym(terms=list(g)))
    db.session.commit()
    services.invalidate_synonyms()


def test_partial_words_find_longer_words_without_false_positives(make_listing):
    sem = make_listing("场发射扫描电镜", "材料表面形貌观察")
    tem = make_listing("透射电镜", "纳米材料晶体结构")
    cryo = make_listing("冷冻电镜 Titan Krios", "蛋白质结构解析")
    lens = make_listing("显微分析与微镜头检测平台", "手机微镜头检测")
    micro = make_listing("原子力显微镜", "表面粗糙度")
    assert set(refs(services.search("电镜"))) == {sem.ref, tem.ref, cryo.ref}
    # 显微镜 names a category: the microscope that says so first, then its members (电镜, a shipped
    # category in data/categories.yaml); never 显微分析与微镜头
    got = refs(services.search("显微镜"))
    assert got[0] == micro.ref and set(got) == {micro.ref, sem.ref, tem.ref, cryo.ref}
    assert lens.ref in refs(services.search("微镜头"))


def test_synonyms_traditional_and_fullwidth(make_listing):
    seed_synonyms(["SEM", "扫描电镜", "扫描电子显微镜"], ["NMR", "核磁共振"])
    sem = make_listing("场发射扫描电子显微镜", "形貌观察")
    nmr = make_listing("400MHz 核磁共振波谱仪", "结构鉴定")
    assert refs(services.search("SEM")) == [sem.ref]
    assert refs(services.search("ｓｅｍ")) == [sem.ref]  # full-width, lower case
    assert refs(services.search("掃描電鏡")) == [sem.ref]  # traditional characters
    assert refs(services.search("nmr")) == [nmr.ref]
    assert refs(services.search("核磁共振")) == [nmr.ref]


def test_title_outranks_tags_outranks_description(make_listing):
    in_desc = make_listing("材料分析平台", "可做遥感影像解译")
    in_tags = make_listing("空间信息平台", "影像处理", tags=["遥感"])
    in_title = make_listing("遥感影像数据库", "卫星数据")
    assert refs(services.search("遥感")) == [in_title.ref, in_tags.ref, in_desc.ref]


def test_only_published_listings_are_found_and_unpublishing_removes(make_listing):
    draft = make_listing("冷冻电镜样品制备", status="draft")
    live = make_listing("冷冻电镜", "结构生物学")
    assert refs(services.search("冷冻电镜")) == [live.ref]
    live.status = "closed"
    enqueue(live.id)
    drain_outbox()
    assert services.search("冷冻电镜").total == 0
    assert draft.ref not in refs(services.search(""))


def test_empty_query_browses_newest_first_and_syntax_is_text(make_listing):
    a = make_listing("核磁共振波谱仪")
    b = make_listing("X射线衍射仪")
    c = make_listing("气相色谱 (GC) AND 质谱")
    assert refs(services.search("")) == [c.ref, b.ref, a.ref]
    for q in ['"', "*", "AND", "(", 'a AND (b OR "c', "NOT", ")))***", "电镜" * 500, "<script>alert(1)</script>"]:
        services.search(q)  # no exception, whatever the syntax
    assert c.ref in refs(services.search("(GC) AND"))


def test_facets_count_and_filter(make_listing, make_org):
    gov = make_org(kind="government")
    make_listing("扫描电镜", track="smart_materials")
    make_listing("透射电镜", track="smart_materials", rate_cny_per_hour=1200)
    make_listing("电镜图像分析场景", kind="scenario", track="digital_healthcare", budget_cny=300000, rate_cny_per_hour=None)
    make_listing("电镜数据开放", kind="public_data", owner=gov, open_mode="unconditional")
    result = services.search("电镜")
    assert result.total == 4
    assert result.facets["kind"] == {"instrument": 2, "public_data": 1, "scenario": 1}
    assert result.facets["owner_kind"] == {"university": 3, "government": 1}
    assert result.facets["price"] == {"rate_200_500": 1, "rate_ge1000": 1, "budget_100k_500k": 1}
    assert result.facets["open_mode"] == {"unconditional": 1}
    only = services.search("电镜", {"kind": "instrument", "price": "rate_ge1000"})
    assert [h.listing.title for h in only.hits] == ["透射电镜"]
    with pytest.raises(services.ValidationError):
        services.search("电镜", {"kind": "spaceship"})
    by_price = services.search("电镜", {"kind": "instrument"}, sort="price")
    assert [h.listing.title for h in by_price.hits] == ["扫描电镜", "透射电镜"]


def test_highlight_escapes_html_and_marks_matches(make_listing):
    make_listing("扫描电镜 <b>特价</b>", "<script>alert('x')</script> 适合扫描电镜形貌观察")
    hit = services.search("扫描电镜").hits[0]
    assert "<script>" not in hit.highlight and "&lt;script&gt;" in hit.highlight
    assert "<mark>扫描电镜</mark>" in hit.highlight
    assert "&lt;b&gt;" in hit.title_html and "<mark>扫描电镜</mark>" in hit.title_html


def test_did_you_mean_for_a_homophone_typo(make_listing):
    listing = make_listing("卫星遥感影像数据库", "吉林省遥感影像", kind="database", rate_cny_per_hour=None)
    result = services.search("摇感")  # yao gan, as 遥感: found by its sound, and corrected
    assert refs(result) == [listing.ref]
    assert result.suggestion == "遥感"
    assert services.search("遥感").suggestion is None
    nothing = services.search("量子纠缠")
    assert nothing.total == 0 and nothing.suggestion is None  # no unrelated fragment proposed


def test_lost_update_is_repaired_by_sync(app, make_listing, make_org):
    listing = Listing(ref="LU1", kind="instrument", owner=make_org(kind="university"), title="高通量基因测序仪",
                      description="", status="published")
    db.session.add(listing)
    db.session.flush()
    enqueue(listing.id)
    db.session.commit()  # and no drain yet: as if the process died right after commit
    assert services.search("测序").total == 0  # index behind the database, never ahead
    assert queued("search.index", "pending") == [{"listing_id": listing.id, "op": "upsert"}]
    assert services.sync_outbox() == 2  # the index row, then the saved-search alert it queued
    assert refs(services.search("测序")) == [listing.ref]
    assert services.sync_outbox() == 0 and queued("search.index", "pending") == []


def test_rolled_back_change_never_reaches_the_index(make_listing, make_org):
    org = make_org(kind="university")
    listing = Listing(ref="RB1", kind="instrument", owner=org, title="流式细胞仪", description="", status="published")
    db.session.add(listing)
    db.session.flush()
    enqueue(listing.id)
    db.session.rollback()
    services.sync_outbox()
    assert services.search("流式细胞仪").total == 0


def test_busy_writer_leaves_rows_for_later_without_error(make_listing, app):
    store = services.store()
    held, release = threading.Event(), threading.Event()

    def hold():
        with store.writer_lock():
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        app.config["SEARCH_SYNC_TIMEOUT"] = 0.2
        listing = make_listing("激光共聚焦显微镜")  # commit succeeds; the drain gives up quietly
        assert services.sync_outbox() == 0
    finally:
        app.config.pop("SEARCH_SYNC_TIMEOUT")
        release.set()
        t.join()
    assert services.search("共聚焦").total == 0
    row = db.session.execute(select(OutboxMessage).where(OutboxMessage.topic == "search.index")).scalar_one()
    assert row.status == "pending" and row.attempts == 0 and row.last_error.startswith("deferred")  # not a failure
    assert services.sync_outbox() == 0  # deferred a minute: not due yet
    outbox.drain(now=utcnow() + dt.timedelta(minutes=2))
    assert refs(services.search("共聚焦")) == [listing.ref]


def test_reindex_reproduces_incremental_results(make_listing):
    seed_synonyms(["SEM", "扫描电镜"])
    items = [
        make_listing("扫描电镜", "形貌观察"), make_listing("透射电镜", "晶体结构"),
        make_listing("冷冻电镜", "蛋白质结构"), make_listing("电镜中心", "扫描电镜与冷冻电镜共享"),
        make_listing("公交线路数据", kind="public_data"), make_listing("核磁共振", "结构鉴定"),
    ]
    items[1].title = "场发射透射电镜"
    enqueue(items[1].id)
    items[5].status = "closed"
    enqueue(items[5].id)
    drain_outbox()
    queries = ["电镜", "SEM", "结构", "公交", "核磁", ""]
    before = {q: [(h.listing.ref, h.score) for h in services.search(q).hits] for q in queries}
    services.reindex()
    after = {q: [(h.listing.ref, h.score) for h in services.search(q).hits] for q in queries}
    assert {q: [r for r, _ in v] for q, v in after.items()} == {q: [r for r, _ in v] for q, v in before.items()}
    assert len(list(services.store().root.glob("ix-*"))) <= 2  # old generations are cleaned up


def test_saved_search_notifies_once_for_new_matches(make_listing, make_user):
    user = make_user(role=Role.SME_MEMBER)
    saved = services.save_search(user, "电镜订阅", "电镜", {"kind": "instrument"})
    make_listing("核磁共振波谱仪")  # does not match
    match = make_listing("场发射扫描电镜")
    make_listing("电镜数据集", kind="database", rate_cny_per_hour=None)  # wrong kind
    notes = db.session.query(Notification).filter_by(user_id=user.id).all()
    assert [(n.kind, n.body) for n in notes] == [("search.saved_match", "场发射扫描电镜")]
    match.description = "已更新"
    enqueue(match.id)
    drain_outbox()
    assert db.session.query(Notification).filter_by(user_id=user.id).count() == 1
    services.delete_saved_search(user, saved.id)
    assert services.saved_searches(user) == []


def test_saved_search_is_for_sme_users_only(make_user, search_index):
    provider = make_user(role=Role.PROVIDER_MEMBER)
    with pytest.raises(services.permissions.PermissionDenied):
        services.save_search(provider, "x", "电镜", {})
    owner = make_user(role=Role.SME_MEMBER)
    other = make_user(role=Role.SME_MEMBER)
    saved = services.save_search(owner, "x", "电镜", {})
    with pytest.raises(services.permissions.PermissionDenied):
        services.delete_saved_search(other, saved.id)


def test_similar_listings(make_listing):
    a = make_listing("场发射扫描电镜", tags=["扫描电镜", "形貌分析"])
    b = make_listing("台式扫描电镜", tags=["扫描电镜"])
    make_listing("公交线路数据", kind="public_data")
    assert [x.ref for x in services.similar(a)] == [b.ref]


def test_cli_reindex_and_sync(app, make_listing):
    make_listing("拉曼光谱仪")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0 and "indexed 1 published listings" in result.output
    result = runner.invoke(args=["search", "sync"])
    assert result.exit_code == 0 and "processed 0" in result.output
    assert runner.invoke(args=["search", "seed-synonyms"]).output.startswith("seeded ")
    assert db.session.query(SearchSynonym).count() > 20
    assert refs(services.search("拉曼"))
