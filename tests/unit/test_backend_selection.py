"""Which tests the PostgreSQL run repeats (tests/conftest.py): those that reach its database, not the judged corpora."""

from __future__ import annotations

import pytest

from tests.conftest import reaches_configured_database


class _Item:
    def __init__(self, fixtures=(), markers=()):
        self.fixturenames = list(fixtures)
        self._markers = {m: getattr(pytest.mark, m).mark for m in markers}

    def get_closest_marker(self, name):
        return self._markers.get(name)


@pytest.mark.parametrize(("fixtures", "markers", "repeated"), [
    (("app", "client"), (), True),  # reaches the configured database
    ((), ("postgres_only",), True),  # builds a PostgreSQL database of its own
    ((), (), False),  # a pure function: the same on both runs
    (("app", "search_index"), ("backend_neutral",), False),  # a judged corpus: only stored there
])
def test_the_postgresql_run_repeats_only_what_reaches_its_database(fixtures, markers, repeated):
    assert reaches_configured_database(_Item(fixtures, markers)) is repeated
