"""Listing vectors and the re-ordering of requests by meaning, through the database and the search service."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from market.extensions import db
from market.scheduler import registered_jobs
from market.search import semantic, services
from market.search.outbox import enqueue
from market.search.query import Strategy
from models.listings import Listing
from models.search import ListingVector
from tests.conftest import drain_outbox

pytest_plugins = ["tests.integration.conftest_search"]


def _vector(listing_id: int) -> ListingVector | None:
    return db.session.execute(select(ListingVector).where(ListingVector.listing_id == listing_id)).scalar_one_or_none()


def test_an_index_update_embeds_a_published_listing_and_only_again_when_its_text_changes(make_listing):
    sem = make_listing("场发射扫描电镜", "形貌观察与能谱分析", tags=["扫描电镜"])
    draft = make_listing("透射电镜", status="draft")
    first = _vector(sem.id)
    assert first is not None and _vector(draft.id) is None
    assert first.text_hash == semantic.text_hash(semantic.passage_text(sem))
    assert len(first.vector) == semantic.DIM * 4
    first_id = first.id

    sem.rate_cny_per_hour = Decimal("500")  # not its text: the vector stays
    enqueue(sem.id)
    drain_outbox()
    assert _vector(sem.id).id == first_id and semantic.pending_count() == 0

    sem.title = "场发射扫描电子显微镜"  # its text: embedded again
    enqueue(sem.id)
    drain_outbox()
    again = _vector(sem.id)
    assert again.id != first_id and again.text_hash == semantic.text_hash(semantic.passage_text(sem))


def test_a_bulk_change_is_left_to_the_job_and_the_command(app, make_listing, make_org):
    owner = make_org(kind="university")
    rows = [Listing(ref=f"B{i:03d}", kind="instrument", owner=owner, title=f"液相色谱仪 {i}号", description="",
                    tags=[], status="published", track="other", rate_cny_per_hour=Decimal("100"))
            for i in range(semantic.INLINE_EMBED + 5)]
    db.session.add_all(rows)
    db.session.flush()
    for row in rows:
        enqueue(row.id)
    drain_outbox()  # indexed in one batch, too many to embed there
    assert services.search("液相色谱仪", per_page=50).total == len(rows)
    assert semantic.pending_count() == len(rows)
    assert "search.embed" in {job.id for job in registered_jobs()}
    assert semantic.embed_job() == len(rows)
    db.session.rollback()  # the job's work, not committed: the command does it for good
    result = app.test_cli_runner().invoke(args=["search", "embed"])
    assert result.exit_code == 0, result.output
    assert f"embedded {len(rows)} listings" in result.output and semantic.pending_count() == 0


def _refs(result) -> list[str]:
    return [h.listing.ref for h in [*result.hits, *result.related]]


def test_a_request_is_re_ordered_within_its_first_twenty_places_and_pages_stay_one_ranking(make_listing):
    topics = ["冷冻干燥", "细胞培养", "疫苗工艺", "无菌灌装", "蛋白纯化", "质量检测"]
    for i in range(36):
        make_listing(f"生物医药中试平台 {i}号", f"可开展{topics[i % 6]}与工艺放大，面向中小企业开放。", kind="pilot_base",
                     tags=["中试", topics[i % 6]])
    q = "疫苗 冻干 中试"
    lexical = Strategy(semantic=0)
    plain = [_refs(services.search(q, page=p, per_page=10, strategy=lexical)) for p in (1, 2, 3, 4)]
    shown = [_refs(services.search(q, page=p, per_page=10)) for p in (1, 2, 3, 4)]
    assert shown[0][:3] == plain[0][:3]  # the best three stay
    first_twenty = shown[0] + shown[1]
    assert first_twenty != plain[0] + plain[1]  # re-ordered ...
    assert sorted(first_twenty) == sorted(plain[0] + plain[1])  # ... among the same listings, none twice
    assert shown[2] == plain[2] and shown[3] == plain[3]  # past them, the ranker's pages
    one_page = _refs(services.search(q, per_page=20))
    assert one_page == first_twenty  # the same ranking whatever the page size


def test_a_name_keeps_the_ranker_s_order(make_listing):
    for i in range(12):
        make_listing(f"冻干机 {i}号", "真空冷冻干燥" + "，样品处理" * (i % 4))
    assert _refs(services.search("冻干机", per_page=10)) == _refs(
        services.search("冻干机", per_page=10, strategy=Strategy(semantic=0)))
