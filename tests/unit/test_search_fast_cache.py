"""The posting-array cache of the fast scorer stays within its byte bound, least recently used out."""

from __future__ import annotations

import numpy as np
import pytest

from market.search.fast import _ArrayCache, _phrase_docs


def test_cache_evicts_least_recently_used_within_its_byte_bound():
    cache = _ArrayCache(max_bytes=3 * 80)
    built = []

    def make(i):
        def build():
            built.append(i)
            return np.full(10, i, dtype=np.int64)  # 80 bytes
        return build

    for i in range(3):
        cache.get(("seg", i), make(i))
    cache.get(("seg", 0), make(0))  # a hit: 0 becomes the most recently used
    cache.get(("seg", 3), make(3))  # over the bound: 1, the least recently used, goes
    assert cache.size == 3 * 80
    assert built == [0, 1, 2, 3]
    cache.get(("seg", 0), make(0))
    cache.get(("seg", 1), make(1))
    assert built == [0, 1, 2, 3, 1]


def test_cached_arrays_are_read_only():
    cache = _ArrayCache(max_bytes=1024)
    ids, ws = cache.get(("seg", "post"), lambda: (np.arange(3), np.ones(3)))
    with pytest.raises(ValueError):
        ids[0] = 7
    with pytest.raises(ValueError):
        ws[0] = 7.0


def test_phrase_needs_every_bigram_at_the_next_position_in_the_same_document():
    def keys(*pairs):
        return np.array(sorted((d << 32) | p for d, p in pairs), dtype=np.int64)

    first = keys((1, 0), (2, 5), (3, 2), (4, 9))
    second = keys((1, 1), (2, 7), (3, 3), (5, 10))
    third = keys((1, 2), (3, 4), (3, 9))
    # doc 1: 0,1,2; doc 2: gap; doc 3: 2,3,4; doc 4/5: the words are in different documents
    assert _phrase_docs([first, second, third]).tolist() == [1, 3]
    assert _phrase_docs([first, second]).tolist() == [1, 3]
    assert _phrase_docs([second, first]).tolist() == []
