"""Issue 12, the seventh pass: ranking and fill methods for whole classes of queries (each a
``Strategy`` switch, measured in BENCHMARKS.md "Seventh pass"), each shown on its own small data."""

from __future__ import annotations

from market.search import services
from market.search.query import Strategy

pytest_plugins = ["tests.integration.conftest_search"]


def refs(hits):
    return [h.listing.ref for h in hits]


def test_the_matches_common_words_weigh_less_among_the_related_listings(make_listing):
    """The feedback words of the related listings come from the matches' titles and tags; a common
    word among them (the 数据库 of a title) would find every listing of a kind before the one sharing
    what the match is about (随访: a follow-up registry)."""
    match = make_listing("病历科研数据库", "脱敏诊疗记录", kind="database", tags=["电子病历", "随访"],
                         rate_cny_per_hour=None)
    follow_up = make_listing("居民慢病统计", "社区随访记录", kind="public_data")
    same_kind = make_listing("材料性能数据库", "塑料物性数据库", kind="database", tags=["数据库"],
                             rate_cny_per_hour=None)
    result = services.search("病历")
    assert refs(result.hits) == [match.ref]
    assert refs(result.related) == [follow_up.ref, same_kind.ref]
    flat = services.search("病历", strategy=Strategy(feedback_generic=1.0))
    assert refs(flat.related) == [follow_up.ref, same_kind.ref]
    # related scores are shares of the best related listing's: the common word pulls half as hard
    pull, flat_pull = (dict((h.listing.ref, h.score) for h in r.related)[same_kind.ref] for r in (result, flat))
    assert pull < 0.8 * flat_pull
